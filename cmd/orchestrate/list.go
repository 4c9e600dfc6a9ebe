package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// ListCmd lists items.
type ListCmd struct {
	Status string `name:"status" help:"Only items in this status."`
	Domain string `name:"domain" help:"Only items of this domain." predictor:"domain"`
	Owner  string `name:"owner" help:"Only items owned by this owner."`
	pageFlags
}

// pageFlags page a listing. With either, --json prints {"items": [...],
// "next_after": CURSOR} instead of the bare list, so that the cursor has a
// place; "" is the last page.
type pageFlags struct {
	Limit int    `name:"limit" help:"At most N rows; the page ends with the command that prints the next one (default: all)." placeholder:"N"`
	After string `name:"after" help:"Start after this cursor: the one the previous page ended with." placeholder:"CURSOR"`
}

func (p pageFlags) page() workflow.Page { return workflow.Page{Limit: p.Limit, After: p.After} }

func (c *ListCmd) Run(env *cli.Env) error {
	svc, err := env.Service()
	if err != nil {
		return err
	}
	out := newRowStream(env, c.pageFlags, []string{"ID", "STATUS", "PRIORITY", "DOMAIN", "OWNER", "TITLE"})
	next, err := svc.ListItems(env.Ctx, workflow.ItemFilter{Status: c.Status, Domain: c.Domain, Owner: c.Owner}, c.page(), func(it *workflow.Item) error {
		owner := it.Owner
		if owner == "" {
			owner = "-"
		}
		return out.row(it, []string{it.ID, string(it.Status), it.Priority, it.Domain, owner, it.Title})
	})
	if err != nil {
		return err
	}
	return out.end(next, "list", flag("status", c.Status), flag("domain", c.Domain), flag("owner", c.Owner))
}

// tableBlock is how many rows a listing's table aligns together. Aligning
// every row would mean holding them all; a block costs a few kilobytes, and
// a listing of 100k rows streams in constant memory.
const tableBlock = 500

// rowStream prints a listing as its rows are read: under --json one JSON
// document (the bare list, or the page object with --limit or --after), else
// a table, then the command that prints the next page.
type rowStream struct {
	env    *cli.Env
	paged  bool
	limit  int
	header []string
	rows   int
	tw     *tabwriter.Writer
}

func newRowStream(env *cli.Env, p pageFlags, header []string) *rowStream {
	return &rowStream{env: env, paged: p.Limit != 0 || p.After != "", limit: p.Limit, header: header}
}

// indent is the JSON indentation of the list's elements' enclosing array.
func (s *rowStream) indent() string {
	if s.paged {
		return "  "
	}
	return ""
}

// row prints one row: v under --json, cells otherwise.
func (s *rowStream) row(v any, cells []string) error {
	defer func() { s.rows++ }()
	if s.env.Globals.JSON {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetIndent(s.indent()+"  ", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return err
		}
		lead := ",\n"
		if s.rows == 0 {
			lead = "[\n"
			if s.paged {
				lead = "{\n  \"items\": [\n"
			}
		}
		_, err := fmt.Fprintf(s.env.Stdout, "%s%s  %s", lead, s.indent(), bytes.TrimSuffix(b.Bytes(), []byte("\n")))
		return err
	}
	if s.rows%tableBlock == 0 {
		if s.tw != nil {
			s.tw.Flush()
		}
		s.tw = tabwriter.NewWriter(s.env.Stdout, 0, 4, 2, ' ', 0)
		if s.rows == 0 {
			fmt.Fprintln(s.tw, strings.Join(s.header, "\t"))
		}
	}
	_, err := fmt.Fprintln(s.tw, strings.Join(cells, "\t"))
	return err
}

// end closes the listing; next is the next page's cursor ("" for none),
// and command and flags are what prints this page, but for the paging.
func (s *rowStream) end(next, command string, flags ...string) error {
	if s.env.Globals.JSON {
		switch {
		case s.rows == 0 && s.paged:
			s.env.Printf("{\n  \"items\": []")
		case s.rows == 0:
			s.env.Printf("[]")
		default:
			s.env.Printf("\n%s]", s.indent())
		}
		if s.paged {
			cursor, _ := json.Marshal(next)
			s.env.Printf(",\n  \"next_after\": %s\n}", cursor)
		}
		s.env.Printf("\n")
		return nil
	}
	if s.rows == 0 {
		s.env.Printf("no items\n")
	} else {
		s.tw.Flush()
	}
	if next != "" {
		args := append([]string{s.env.Tool, command}, flags...)
		args = append(args, fmt.Sprintf("--limit %d", s.limit), "--after "+next)
		s.env.Printf("next page: %s\n", strings.Join(strings.Fields(strings.Join(args, " ")), " "))
	}
	return nil
}

// flag is --name value, or "" when value is.
func flag(name, value string) string {
	if value == "" {
		return ""
	}
	return "--" + name + " " + value
}
