package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// StatusCmd prints the repository on one screen. It exits 0 whatever the
// health: it is for looking, `orchestrate health` is for scripts.
type StatusCmd struct{}

func (c *StatusCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	ov, err := svc.Overview(env.Ctx)
	if err != nil {
		return err
	}
	return env.Output(ov, func() { printOverview(env, ov) })
}

func printOverview(env *cli.Env, ov *workflow.Overview) {
	p := cli.PaletteFor(env.Stdout)
	now := ov.Now.Time
	rows := make([][]string, 0, len(ov.Domains))
	for _, d := range ov.Domains {
		rows = append(rows, []string{d.Domain,
			budget(p, d.InProgress, d.MaxInProgress), budget(p, d.Leases, d.MaxLeases), fmt.Sprint(d.Unread)})
	}
	columns(env, append([][]string{{p.Bold("DOMAIN"), p.Bold("IN PROGRESS"), p.Bold("LEASES"), p.Bold("UNREAD 7D")}}, rows...))

	env.Printf("\n%s\n", p.Bold("in progress"))
	if len(ov.InProgress) == 0 {
		env.Printf("  %s\n", p.Dim("nothing"))
	}
	rows = rows[:0]
	for _, it := range ov.InProgress {
		rows = append(rows, []string{"  " + it.ID, it.Domain, it.Owner, cli.Ago(it.Since.Time, now), it.Title})
	}
	columns(env, rows)

	env.Printf("\n%s\n", p.Bold("leases"))
	if len(ov.Leases) == 0 {
		env.Printf("  %s\n", p.Dim("none held"))
	}
	rows = rows[:0]
	for _, l := range ov.Leases {
		left := cli.Remaining(l.ExpiresAt.Time, now)
		if l.ExpiresAt.Sub(now) < 5*time.Minute {
			left = p.Yellow(left)
		}
		queue := p.Dim("no queue")
		if len(l.Waiters) > 0 {
			var names []string
			for _, w := range l.Waiters {
				names = append(names, fmt.Sprintf("%s (%s, %s)", w.Owner, w.Domain, cli.Ago(w.Since.Time, now)))
			}
			queue = "queue: " + strings.Join(names, ", ")
		}
		rows = append(rows, []string{"  " + l.Resource, fmt.Sprintf("%s (%s)", l.Owner, l.Domain), fmt.Sprintf("token %d", l.Token), left, queue})
	}
	columns(env, rows)

	env.Printf("\n%s\n", p.Bold("council calls awaiting approval"))
	if len(ov.Council) == 0 {
		env.Printf("  %s\n", p.Dim("none"))
	}
	for _, c := range ov.Council {
		env.Printf("  %d  %s  from %s (%s), %s: %s\n", c.ID, c.Item, c.From, c.FromDomain, cli.Ago(c.CreatedAt.Time, now), c.Body)
	}

	env.Printf("\n%s %s\n", p.Bold("health:"), healthWord(p, ov.Health.Status))
	for _, r := range ov.Health.Lines() {
		env.Printf("  %s\n", r)
	}
}

// budget is "1/2", coloured yellow at the cap and red over it.
func budget(p cli.Palette, n, max int) string {
	s := fmt.Sprintf("%d/%d", n, max)
	switch {
	case n > max:
		return p.Red(s)
	case n == max:
		return p.Yellow(s)
	}
	return s
}

func healthWord(p cli.Palette, status string) string {
	switch status {
	case workflow.HealthGreen:
		return p.Green(status)
	case workflow.HealthYellow:
		return p.Yellow(status)
	}
	return p.Red(status)
}

// columns prints rows aligned on their visible width: colour escapes take
// no room on screen, so text/tabwriter would misalign coloured cells.
func columns(env *cli.Env, rows [][]string) {
	var widths []int
	for _, r := range rows {
		for i, cell := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], visibleWidth(cell))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, cell := range r {
			b.WriteString(cell)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-visibleWidth(cell)+2))
			}
		}
		env.Printf("%s\n", b.String())
	}
}

// visibleWidth counts runes outside ANSI escape sequences.
func visibleWidth(s string) int {
	n, inEscape := 0, false
	for _, r := range s {
		switch {
		case inEscape:
			inEscape = r != 'm'
		case r == '\x1b':
			inEscape = true
		default:
			n++
		}
	}
	return n
}
