package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// StoreMigrateCmd copies the SQLite store into a server store.
type StoreMigrateCmd struct {
	To string `name:"to" required:"" help:"The server store, postgres://user@host:port/database; a password comes from PGPASSWORD or ~/.pgpass rather than the URL." placeholder:"URL"`
}

func (c *StoreMigrateCmd) Run(env *cli.Env) error {
	l, err := env.Layout()
	if err != nil {
		return err
	}
	clock, err := cli.Clock()
	if err != nil {
		return err
	}
	res, err := workflow.MigrateStore(env.Ctx, l, c.To, clock)
	if err != nil {
		return err
	}
	return env.Output(res, func() {
		if res.AddedRepositoryID {
			env.Printf("added store.repository_id: %s to %s: commit it, so every clone finds this store\n", res.RepositoryID, workflow.ConfigFile)
		}
		if res.Unchanged {
			env.Printf("the store on %s (schema %s) already holds this repository's store (audit head seq %d): nothing changed\n", res.Host, res.Schema, res.Head.Seq)
		} else {
			rows := int64(0)
			for _, n := range res.Tables {
				rows += n
			}
			env.Printf("copied %s to %s (schema %s): %d rows in %d tables, %d blobs, audit chain verified up to seq %d\n",
				res.Source, res.Target, res.Schema, rows, len(res.Tables), res.Blobs, res.Head.Seq)
		}
		env.Printf("next: set `store: url: %s` in %s (never the password: PGPASSWORD or ~/.pgpass supply it), or export %s=%s on each machine\n",
			res.StoreURL, workflow.ConfigFile, workflow.StoreURLEnv, res.StoreURL)
		env.Printf("the SQLite store %s is left in place, untouched\n", res.Source)
	})
}
