package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// StoreCmd groups blob store commands.
type StoreCmd struct {
	Verify StoreVerifyCmd `cmd:"" help:"Re-hash every blob; exit 4 and name any corrupted one."`
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
	if !res.OK {
		return env.Finding(workflow.Errorf(workflow.EDENIED, "%d of %d blobs are corrupted (first: %s)", len(res.Problems), res.Blobs, res.Problems[0].Path), res, func() {
			for _, p := range res.Problems {
				env.Printf("corrupted: %s: %s\n", p.Path, p.Problem)
			}
		})
	}
	return env.Output(res, func() { env.Printf("blob store intact: %d blobs\n", res.Blobs) })
}
