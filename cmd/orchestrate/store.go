package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// StoreCmd groups blob store commands.
type StoreCmd struct {
	Verify  StoreVerifyCmd  `cmd:"" help:"Re-hash every blob and look up every blob a capsule, fingerprint or shadow edit refers to; exit 4 and name any corrupted or missing one."`
	Migrate StoreMigrateCmd `cmd:"" help:"Copy this repository's SQLite store, whole and verified, into an empty server store (--to postgres://…); the SQLite file is left in place."`
}

// StoreVerifyCmd checks the blob store.
type StoreVerifyCmd struct{}

func (c *StoreVerifyCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	res, err := svc.VerifyStore(env.Ctx, systemActor())
	if err != nil {
		return err
	}
	if failures := res.Failures(); len(failures) > 0 {
		err := workflow.Errorf(workflow.EDENIED, "the blob store has %d corrupted and %d missing blob(s) (first: %s)", len(res.Problems), len(res.Missing), failures[0])
		return env.Finding(err, res, func() {
			for _, f := range failures {
				env.Printf("%s\n", f)
			}
		})
	}
	return env.Output(res, func() { env.Printf("blob store intact: %d blobs\n", res.Blobs) })
}
