package main

import (
	"github.com/oxygen-tools/oxygen/internal/cli"
)

// WhichCmd maps paths to resources.
type WhichCmd struct {
	Paths []string `arg:"" name:"path" help:"Paths, relative to the working directory or absolute; a directory lists the resources that cover anything below it."`
}

func (c *WhichCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	res, err := svc.Which(env.Ctx, c.Paths)
	if err != nil {
		return err
	}
	return env.Output(res, func() {
		for _, p := range res {
			name := p.Path
			if p.Directory {
				name += "/"
			}
			if len(p.Resources) == 0 {
				env.Printf("%s: no resource\n", name)
				continue
			}
			for _, r := range p.Resources {
				env.Printf("%s: %s (%s), held by %s\n", name, r.ID, r.Domain, holderText(r.Holder))
			}
		}
	})
}
