package main

import (
	"fmt"
	"strings"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// StatusCmd shows leases and budgets.
type StatusCmd struct {
	Domain   string `name:"domain" help:"Only this domain." predictor:"domain"`
	Owner    string `name:"owner" help:"Only this owner's leases."`
	Resource string `name:"resource" help:"Only this resource." predictor:"resource"`
	All      bool   `name:"all" help:"Include history: released, expired and revoked leases."`
}

func (c *StatusCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	st, err := svc.Status(env.Ctx, workflow.LeaseFilter{Domain: c.Domain, Owner: c.Owner, Resource: c.Resource, All: c.All})
	if err != nil {
		return err
	}
	return env.Output(st, func() {
		if len(st.Leases) == 0 {
			env.Printf("no active leases\n")
		} else {
			rows := make([][]string, 0, len(st.Leases))
			for _, l := range st.Leases {
				remaining := "-"
				if l.State == workflow.LeaseActive {
					remaining = cli.Left(l.ExpiresAt.Sub(st.Now.Time))
				}
				item := l.Item
				if item == "" {
					item = "-"
				}
				row := []string{l.Resource, l.Owner, l.Domain, itoa(l.Token), string(l.State), remaining, l.ExpiresAt.String()}
				if c.All {
					ended := "-"
					if !l.EndedAt.IsZero() {
						ended = l.EndedAt.String()
					}
					row = append(row, ended)
				}
				rows = append(rows, append(row, item))
			}
			header := []string{"RESOURCE", "OWNER", "DOMAIN", "TOKEN", "STATE", "LEFT", "EXPIRES"}
			if c.All {
				// History shows when each lease ended, not only when it was due to.
				header = append(header, "ENDED")
			}
			env.Table(append(header, "ITEM"), rows)
		}
		var budgets []string
		for _, b := range st.Budgets {
			budgets = append(budgets, fmt.Sprintf("%s %d/%d", b.Domain, b.Active, b.Max))
		}
		env.Printf("budgets: %s\n", strings.Join(budgets, ", "))
	})
}
