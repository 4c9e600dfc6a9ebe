// Package cli is the plumbing that orchestrate and oxygen share: finding the
// repository, loading the config and store once per process, printing text or
// JSON, and turning errors into one stderr line and one exit code. It is its
// own package so that the two binaries cannot drift apart on any of that.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/oxygen-tools/oxygen/store"
	"io"
	"os"
	"os/signal"
	"reflect"
	"strings"
	"syscall"
	"text/tabwriter"
	"unicode"

	"github.com/alecthomas/kong"
	"github.com/oxygen-tools/oxygen/internal/textcheck"
	"github.com/oxygen-tools/oxygen/workflow"
)

// Globals are the flags every command of both tools takes.
type Globals struct {
	Root string `name:"root" help:"Repository root (default: the nearest directory above with .substrate/)." env:"OXYGEN_ROOT" placeholder:"DIR"`
	JSON bool   `name:"json" help:"Print one JSON document instead of text."`

	Version VersionFlag `name:"version" help:"Print the version, the commit and the schema version, and exit."`
}

// Env is what a command's Run receives.
type Env struct {
	Tool    string
	Stdout  io.Writer
	Stderr  io.Writer
	Globals *Globals
	Ctx     context.Context

	svc   *workflow.Service
	store store.Store
	// stdin is what ReadStdin read, for a hand-off to replay.
	stdin []byte
}

// Layout finds the repository: --root or OXYGEN_ROOT names it if given,
// else the working directory's; the worktree is always the working
// directory's.
func (e *Env) Layout() (*workflow.Layout, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, workflow.Errorf(workflow.EINTERNAL, "working directory: %v", err)
	}
	if e.Globals.Root != "" {
		return workflow.DiscoverRoot(e.Globals.Root, wd)
	}
	return workflow.Discover(wd)
}

// Service loads the config and opens the store, once per process. It never
// creates a store: only init does.
func (e *Env) Service() (*workflow.Service, error) {
	return e.openService(workflow.OpenService)
}

// openService finds the repository and opens its service with open, which
// is workflow.OpenService or workflow.OpenServiceReadOnly.
func (e *Env) openService(open func(context.Context, *workflow.Layout, workflow.Clock) (*workflow.Service, error)) (*workflow.Service, error) {
	if e.svc != nil {
		return e.svc, nil
	}
	l, err := e.Layout()
	if err != nil {
		return nil, err
	}
	clock, err := Clock()
	if err != nil {
		return nil, err
	}
	svc, err := open(e.Ctx, l, clock)
	if err != nil {
		return nil, err
	}
	for _, w := range svc.Config.Warnings {
		e.Warnf("%s", w)
	}
	for _, w := range []string{workflow.PolicyDrift(l, svc.Config), workflow.StrayStore(l)} {
		if w != "" {
			e.Warnf("%s", w)
		}
	}
	svc.Warn = func(msg string) { e.Warnf("%s", msg) }
	e.store, e.svc = svc.Store, svc
	return e.svc, nil
}

// Close releases the store.
func (e *Env) Close() {
	if e.store != nil {
		e.store.Close()
		e.store, e.svc = nil, nil
	}
}

// Warnf prints a warning line on stderr.
func (e *Env) Warnf(format string, args ...any) {
	fmt.Fprintf(e.Stderr, "%s: warning: %s\n", e.Tool, fmt.Sprintf(format, args...))
}

// Printf writes text output.
func (e *Env) Printf(format string, args ...any) {
	fmt.Fprintf(e.Stdout, format, args...)
}

// PrintJSON writes v as one indented JSON document.
func (e *Env) PrintJSON(v any) error {
	enc := json.NewEncoder(e.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Output prints v as JSON under --json, and calls text otherwise.
func (e *Env) Output(v any, text func()) error {
	if e.Globals.JSON {
		return e.PrintJSON(v)
	}
	text()
	return nil
}

// Table prints aligned columns.
func (e *Env) Table(header []string, rows [][]string) {
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// Finding ends a command that ran but found something it must refuse
// (a broken chain, drift, corrupted blobs, unleased changes). In text the
// details come first, then the one error line; under --json the one document
// is the error, carrying the details.
func (e *Env) Finding(err error, details any, text func()) error {
	if e.Globals.JSON {
		return &detailedError{err: err, details: details}
	}
	text()
	return err
}

type detailedError struct {
	err     error
	details any
}

func (d *detailedError) Error() string { return d.err.Error() }
func (d *detailedError) Unwrap() error { return d.err }

// ExitError ends a command with a chosen exit status after it has printed
// its own output; Run prints nothing more for it.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit %d", e.Code) }

type exitPanic int

// Options adjust Run for one tool.
type Options struct {
	Description string
	// UsageExit overrides the exit status of a usage error for a command,
	// keyed by its first word (health follows the monitoring convention).
	UsageExit map[string]int
	Vars      kong.Vars
}

// Run parses args into grammar and runs the selected command, returning the
// process exit status.
func Run(tool string, grammar any, globals *Globals, args []string, opts Options) (code int) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &Env{Tool: tool, Stdout: os.Stdout, Stderr: os.Stderr, Globals: globals, Ctx: ctx}
	workflow.ServerHandoff = env.handOff
	defer env.Close()
	defer func() {
		if r := recover(); r != nil {
			if p, ok := r.(exitPanic); ok {
				code = int(p)
				return
			}
			panic(r)
		}
	}()
	newParser := func(root any, extra ...kong.Option) *kong.Kong {
		options := append([]kong.Option{
			kong.Name(tool),
			kong.Description(opts.Description),
			kong.Writers(env.Stdout, env.Stderr),
			kong.Exit(func(c int) { panic(exitPanic(c)) }),
			kong.ConfigureHelp(kong.HelpOptions{Compact: true, NoExpandSubcommands: true}),
			kong.Bind(env),
			opts.Vars,
		}, extra...)
		parser, err := kong.New(root, options...)
		if err != nil {
			panic(err) // a grammar bug, caught by every test
		}
		return parser
	}
	// Reflecting over every command costs more than a store transaction, so
	// the common case builds a grammar of the selected command alone. Help,
	// unknown commands and usage errors go through the full grammar, so what
	// users see is the same either way.
	if completionRequested() {
		completeLine(env, newParser(grammar))
		return 0
	}
	var kctx *kong.Context
	var err error
	name, help, cmd, selected := selectCommand(grammar, args)
	if selected {
		kctx, err = newParser(globals, kong.DynamicCommand(name, help, "", cmd)).Parse(args)
	}
	if kctx == nil || err != nil {
		kctx, err = newParser(grammar).Parse(args)
	}
	if err != nil {
		path := commandPath(tool, kctx)
		if path == tool && selected {
			path = tool + " " + name
		}
		usage := workflow.Errorf(workflow.EINVALID, "%v (see %s --help)", err, path)
		code := report(env, usage, hasJSONFlag(args))
		if c, ok := opts.UsageExit[firstWord(args)]; ok {
			code = c
		}
		return code
	}
	if err := kctx.Run(env); err != nil {
		var exit *ExitError
		if errors.As(err, &exit) {
			return exit.Code
		}
		return report(env, err, globals.JSON)
	}
	return 0
}

// report prints an error as one line on stderr (and as JSON on stdout under
// --json) and returns its exit status.
func report(env *Env, err error, asJSON bool) int {
	code := workflow.ErrorCode(err)
	// The message may quote what the user typed (a file name, an argument):
	// it is printed as one inert line, whatever that held.
	msg := textcheck.Escape(strings.ReplaceAll(workflow.ErrorMessage(err), "\n", " "))
	fmt.Fprintf(env.Stderr, "%s: %s: %s\n", env.Tool, code, msg)
	if asJSON {
		doc := struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Details any    `json:"details,omitempty"`
		}{Code: code, Message: msg}
		var d *detailedError
		if errors.As(err, &d) {
			doc.Details = d.details
		}
		env.PrintJSON(map[string]any{"error": doc})
	}
	return workflow.ExitCode(err)
}

// selectCommand finds the top-level command args name in grammar (a pointer
// to a struct whose `cmd` fields are the commands). It declines when help is
// asked for, so that help always comes from the full grammar.
func selectCommand(grammar any, args []string) (name, help string, cmd any, ok bool) {
	word := firstWord(args)
	if word == "" {
		return "", "", nil, false
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "--help" {
			return "", "", nil, false
		}
	}
	v := reflect.ValueOf(grammar).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if _, isCmd := f.Tag.Lookup("cmd"); !isCmd {
			continue
		}
		n := f.Tag.Get("name")
		if n == "" {
			n = hyphenate(f.Name)
		}
		if n == word {
			return n, f.Tag.Get("help"), v.Field(i).Addr().Interface(), true
		}
	}
	return "", "", nil, false
}

// hyphenate turns a Go field name into kong's default command name.
func hyphenate(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('-')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

func commandPath(tool string, kctx *kong.Context) string {
	if kctx == nil || kctx.Selected() == nil {
		return tool
	}
	return tool + " " + kctx.Selected().Path()
}

func hasJSONFlag(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--json" || a == "--json=true" {
			return true
		}
	}
	return false
}

func firstWord(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--root":
			i++
		case strings.HasPrefix(a, "-"):
		default:
			return a
		}
	}
	return ""
}

// Identity is how a command learns who acts: --owner or OXYGEN_OWNER, and
// the domain by workflow's resolution rules.
type Identity struct {
	Owner  string `name:"owner" help:"Who is acting (default: OXYGEN_OWNER)." placeholder:"WHO"`
	Domain string `name:"domain" help:"The domain you act for (default: OXYGEN_DOMAIN, the agents map, or an owner named like a domain)." placeholder:"DOMAIN" predictor:"domain"`
	// Flag names the owner flag in messages when it is not --owner.
	Flag string `kong:"-"`
}

// Resolve returns the acting owner and domain: the flag, else OXYGEN_OWNER,
// else the repository's default (git config oxygen.owner).
func (id Identity) Resolve(svc *workflow.Service) (workflow.Actor, error) {
	cfg := svc.Config
	owner := id.Owner
	if owner == "" {
		owner = os.Getenv("OXYGEN_OWNER")
	}
	if owner == "" {
		owner = svc.ConfiguredOwner()
	}
	if owner == "" {
		flag := id.Flag
		if flag == "" {
			flag = "--owner"
		}
		return workflow.Actor{}, workflow.Errorf(workflow.EINVALID, "no owner: pass %s, set OXYGEN_OWNER, or set a default with git config oxygen.owner NAME (domains: %s)", flag, strings.Join(cfg.DomainNames(), ", "))
	}
	domain, err := cfg.ResolveDomain(owner, id.Domain, os.Getenv("OXYGEN_DOMAIN"))
	if err != nil {
		return workflow.Actor{}, err
	}
	return workflow.Actor{Owner: owner, Domain: domain}, nil
}

// ServiceAs opens the service for a command that acts as someone.
func (e *Env) ServiceAs(id Identity) (*workflow.Service, workflow.Actor, error) {
	svc, err := e.Service()
	if err != nil {
		return nil, workflow.Actor{}, err
	}
	actor, err := id.Resolve(svc)
	return svc, actor, err
}

// ActorName is --by, else OXYGEN_OWNER: who runs an orchestrate command.
func ActorName(by string) string {
	if by != "" {
		return by
	}
	return os.Getenv("OXYGEN_OWNER")
}

// MoveActor is who makes an item move: --by, else OXYGEN_OWNER, else the
// repository's default (git config oxygen.owner), with --domain and, when
// the actor came from OXYGEN_OWNER, OXYGEN_DOMAIN for the workflow to
// resolve and check.
func MoveActor(svc *workflow.Service, by, domain string) (owner, explicit, env string) {
	owner = by
	if owner == "" {
		owner = os.Getenv("OXYGEN_OWNER")
	}
	if owner != "" && owner == os.Getenv("OXYGEN_OWNER") {
		env = os.Getenv("OXYGEN_DOMAIN")
	}
	if owner == "" {
		owner = svc.ConfiguredOwner()
	}
	return owner, domain, env
}
