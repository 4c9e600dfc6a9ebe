package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/alecthomas/kong"
	"github.com/oxygen-tools/oxygen/workflow"
	"github.com/posener/complete"
	"github.com/willabides/kongplete"
)

// Shell completion works the way posener/complete does it: the shell runs
// the binary itself with COMP_LINE (and COMP_POINT) set, and the binary
// prints the candidates. Only then is the full grammar built and, for ids,
// the store opened (read-only); every other run checks one variable.

// completionRequested reports whether the shell is asking for candidates.
func completionRequested() bool { return os.Getenv("COMP_LINE") != "" }

// completeLine prints the candidates for the command line in COMP_LINE.
func completeLine(env *Env, parser *kong.Kong) {
	src := &completionSource{env: env}
	cmd, err := kongplete.Command(parser, kongplete.WithPredictors(map[string]complete.Predictor{
		"resource": src.predict(src.resources),
		"domain":   src.predict(src.domains),
		"item":     src.predict(src.items),
		"signal":   src.predict(src.signals),
		"council":  src.predict(src.councilCalls),
	}))
	if err != nil {
		panic(err) // a predictor tag naming no predictor: a grammar bug
	}
	c := complete.New(parser.Model.Name, cmd)
	c.Out = env.Stdout
	c.Complete()
}

// completionSource finds ids in the repository the command line is about.
// Failing to read it offers nothing: completion must never print errors.
type completionSource struct {
	env *Env
	svc *workflow.Service
}

func (s *completionSource) predict(fn func(prefix string) []string) complete.Predictor {
	return complete.PredictFunc(func(a complete.Args) []string {
		s.useRoot(a.All)
		return fn(a.Last)
	})
}

// useRoot honours a --root given on the line being completed.
func (s *completionSource) useRoot(words []string) {
	if s.env.Globals.Root != "" {
		return
	}
	s.env.Globals.Root = os.Getenv("OXYGEN_ROOT")
	for i, w := range words {
		if v, ok := strings.CutPrefix(w, "--root="); ok {
			s.env.Globals.Root = v
		} else if w == "--root" && i+1 < len(words) {
			s.env.Globals.Root = words[i+1]
		}
	}
}

func (s *completionSource) config() *workflow.Config {
	l, err := s.env.Layout()
	if err != nil {
		return nil
	}
	cfg, err := workflow.LoadConfig(l.Root)
	if err != nil {
		return nil
	}
	return cfg
}

func (s *completionSource) service() *workflow.Service {
	if s.svc == nil {
		s.env.Stderr = io.Discard // config warnings are not candidates
		svc, err := s.env.ReadOnlyService()
		if err != nil {
			return nil
		}
		s.svc = svc
	}
	return s.svc
}

func (s *completionSource) resources(string) []string {
	cfg := s.config()
	if cfg == nil {
		return nil
	}
	var out []string
	for _, r := range cfg.Resources {
		out = append(out, r.ID)
	}
	return out
}

func (s *completionSource) domains(string) []string {
	if cfg := s.config(); cfg != nil {
		return cfg.DomainNames()
	}
	return nil
}

// completionLimit bounds what one tab press lists.
const completionLimit = 200

func (s *completionSource) items(prefix string) []string {
	svc := s.service()
	if svc == nil {
		return nil
	}
	ids, _ := svc.ItemIDs(context.Background(), prefix, completionLimit)
	return ids
}

func (s *completionSource) signals(prefix string) []string {
	svc := s.service()
	if svc == nil {
		return nil
	}
	ids, _ := svc.SignalIDs(context.Background(), prefix, completionLimit)
	return formatIDs(ids)
}

func (s *completionSource) councilCalls(string) []string {
	svc := s.service()
	if svc == nil {
		return nil
	}
	calls, _ := svc.ListCouncil(context.Background(), true)
	var ids []int64
	for _, c := range calls {
		ids = append(ids, c.ID)
	}
	return formatIDs(ids)
}

func formatIDs(ids []int64) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.FormatInt(id, 10)
	}
	return out
}

// CompletionCmd prints the shell code that hooks completion up.
type CompletionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"bash, zsh or fish."`
}

// completionScripts are the shell side of posener/complete's protocol, as
// kongplete writes them, with the binary's absolute path filled in.
var completionScripts = map[string]string{
	"bash": "complete -C %[2]s %[1]s\n",
	"zsh":  "autoload -U +X bashcompinit && bashcompinit\ncomplete -C %[2]s %[1]s\n",
	"fish": `function __complete_%[1]s
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    %[2]s
end
complete -f -c %[1]s -a "(__complete_%[1]s)"
`,
}

func (c *CompletionCmd) Run(env *Env) error {
	exe, err := os.Executable()
	if err != nil {
		return workflow.Errorf(workflow.EINTERNAL, "find this binary: %v", err)
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	fmt.Fprintf(env.Stdout, completionScripts[c.Shell], env.Tool, shellQuote(exe))
	return nil
}

// shellQuote quotes a path for bash, zsh and fish alike.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
