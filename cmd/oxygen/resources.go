package main

import (
	"strings"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// ResourcesCmd lists resources.
type ResourcesCmd struct{}

func (c *ResourcesCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	res, err := svc.Resources(env.Ctx)
	if err != nil {
		return err
	}
	return env.Output(res, func() {
		rows := make([][]string, 0, len(res))
		for _, r := range res {
			paths := strings.Join(r.Paths, " ")
			if paths == "" {
				paths = "(no paths)"
			}
			rows = append(rows, []string{r.ID, r.Domain, holderText(r.Holder), paths})
		}
		env.Table([]string{"RESOURCE", "DOMAIN", "HOLDER", "PATHS"}, rows)
	})
}

func holderText(h *workflow.Holder) string {
	if h == nil {
		return "-"
	}
	return h.Owner + " (" + h.Domain + ", token " + itoa(h.Token) + ")"
}
