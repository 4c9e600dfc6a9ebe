package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oxygen-tools/oxygen/workflow"
	"github.com/rogpeppe/go-internal/testscript"
	_ "modernc.org/sqlite"
)

// binDir holds the binaries the tests run, as a machine would have them
// installed: plainDir's in the SQLite pass (make install), and in the
// PostgreSQL pass the server builds under the plain names (make
// install-server), so that the pass spends its time on the server rather
// than on a hand-off per command; the hand-off itself has tests of its own
// (handoff_test.go, and TestServerStoreThroughThePlainBuild).
var binDir, plainDir string

// TestMain builds the binaries the tests run: the test build, whose clock
// OXYGEN_NOW can pin (the oxygentest tag; installed builds have no such
// override), instrumented with -cover. Every run of them leaves its coverage
// in GOCOVERDIR: the directory that variable names if it is set (make cover
// sets it, then reads it with go tool covdata), else one that is removed
// with the binaries. It is always set, because a -cover binary run without
// it prints a warning on stderr.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "oxygen-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if os.Getenv("GOCOVERDIR") == "" {
		coverDir := filepath.Join(dir, "cover")
		if err := os.Mkdir(coverDir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Setenv("GOCOVERDIR", coverDir) // testscript passes it on to scripts
	}
	if err := buildTools(dir, "oxygentest", "-cover"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir, plainDir = dir, dir
	code := m.Run()
	if base := os.Getenv(postgresEnv); base != "" {
		code = max(code, runOnServer(m, base))
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildTools builds every binary make build does into dir, with the build
// tags given and any further flags: the plain tools, their server builds
// (the serverstore tag, named as make build names them) and the
// companions. The three builds link side by side.
func buildTools(dir, tags string, flags ...string) error {
	server := strings.TrimPrefix(tags+",serverstore", ",")
	builds := [][]string{
		{"-tags", tags, "-o", dir, "./cmd/orchestrate", "./cmd/oxygen", "./cmd/oxygen-mcp", "./cmd/orchestrate-dashboard"},
		{"-tags", server, "-o", filepath.Join(dir, "oxygen-pg"), "./cmd/oxygen"},
		{"-tags", server, "-o", filepath.Join(dir, "orchestrate-pg"), "./cmd/orchestrate"},
	}
	errs := make([]error, len(builds))
	var wg sync.WaitGroup
	for i, args := range builds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			build := exec.Command("go", append(append([]string{"build"}, flags...), args...)...)
			build.Dir = ".."
			build.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := build.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// runOnServer runs every test and script again with the tools on a server
// store: a database created for this run, dropped afterwards.
func runOnServer(m *testing.M, base string) int {
	run, err := createRunDatabase(base)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("=== PostgreSQL pass: OXYGEN_STORE_URL=%s\n", run)
	if binDir, err = serverBuildsDir(plainDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	serverURL = run
	code := m.Run()
	serverURL, binDir = "", plainDir
	if err := dropRunDatabase(base, run); err != nil {
		fmt.Fprintf(os.Stderr, "drop the run's database: %v\n", err)
		return max(code, 1)
	}
	return code
}

// serverBuildsDir lays out, below dir, the binaries as make install-server
// installs them: the server builds under the plain names.
func serverBuildsDir(dir string) (string, error) {
	server := filepath.Join(dir, "server")
	if err := os.Mkdir(server, 0o755); err != nil {
		return "", err
	}
	for name, target := range map[string]string{
		"oxygen": "oxygen-pg", "orchestrate": "orchestrate-pg", "oxygen-pg": "oxygen-pg", "orchestrate-pg": "orchestrate-pg",
		"oxygen-mcp": "oxygen-mcp", "orchestrate-dashboard": "orchestrate-dashboard",
	} {
		// Hard links: as installed files, each is found at its own path
		// (os.Executable resolves a symlink to its target).
		if err := os.Link(filepath.Join(dir, target), filepath.Join(server, name)); err != nil {
			return "", err
		}
	}
	return server, nil
}

// TestScripts runs every testdata/script/*.txtar. Set UPDATE_GOLDEN=1 to
// rewrite the expected outputs embedded in the scripts.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: os.Getenv("UPDATE_GOLDEN") != "",
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", binDir+string(os.PathListSeparator)+env.Getenv("PATH"))
			env.Setenv("HOME", env.WorkDir)
			// $BLOB matches how findings name a blob, up to its last 62
			// hex digits: a file path on SQLite, a row name on a server.
			env.Setenv("BLOB", `\.substrate/store/blobs/sha256/[0-9a-f]{2}/`)
			if onServer() {
				env.Setenv("OXYGEN_STORE_URL", serverURL)
				env.Setenv("BLOB", `blobs/[0-9a-f]{2}`)
			}
			return nil
		},
		// [pgstore] holds in the PostgreSQL pass; scripts that read the
		// SQLite file itself skip with [pgstore] skip.
		Condition: func(cond string) (bool, error) {
			if cond == "pgstore" {
				return onServer(), nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"dbdump":  cmdDBDump,
			"sqlexec": cmdSQLExec,
			"sqlrows": cmdSQLRows,
			"sleep":   cmdSleep,
			// Added for the orchestrate scripts; see their comments below.
			"exits":     cmdExits,
			"wanterr":   cmdWantErr,
			"listfiles": cmdListFiles,
			"tokens":    cmdTokens,
			"useconfig": cmdUseConfig,
		},
	})
}

// storeDir is the directory the tools run in, from which the store of the
// script's repository is found.
func storeDir(ts *testscript.TestScript) string { return ts.MkAbs(".") }

// cmdDBDump writes every row of every table to a file, so that a script can
// prove a refused command changed nothing: dbdump before; ...; dbdump after;
// cmp before after.
func cmdDBDump(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: dbdump FILE")
	}
	dump, err := dumpStore(storeDir(ts))
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(dump), 0o644))
}

// cmdUseConfig replaces the repository's .substrate/oxygen.yaml with FILE,
// keeping the store.repository_id init wrote, as a team editing its
// committed policy would: without the id a server store cannot tell whose
// rows are whose, and the PostgreSQL pass could not find the store init made.
func cmdUseConfig(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: useconfig FILE")
	}
	data := ts.ReadFile(args[0])
	if id := repositoryID(storeDir(ts)); id != "" && !strings.Contains(data, "repository_id:") {
		data = strings.TrimRight(data, "\n") + "\n\nstore:\n  repository_id: " + id + "\n"
	}
	ts.Check(os.WriteFile(ts.MkAbs(".substrate/oxygen.yaml"), []byte(data), 0o644))
}

// cmdTokens sets $T1 ... $T20 to the fencing tokens the store in the
// working directory issues first: a new store seeds its counter from the
// time it was created, so scripts name tokens by their order.
func cmdTokens(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: tokens")
	}
	out, err := queryRows(storeDir(ts), `SELECT json_extract(payload, '$.first_token') FROM audit_log WHERE action = 'store.init'`)
	ts.Check(err)
	first, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	ts.Check(err)
	for n := int64(1); n <= 20; n++ {
		ts.Setenv(fmt.Sprintf("T%d", n), strconv.FormatInt(first+n-1, 10))
	}
}

// cmdSQLExec runs statements against the store, for tampering tests.
func cmdSQLExec(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: sqlexec 'SQL'")
	}
	err := storeExec(storeDir(ts), args[0])
	if neg {
		if err == nil {
			ts.Fatalf("sqlexec succeeded unexpectedly")
		}
		fmt.Fprintf(ts.Stdout(), "%v\n", err)
		return
	}
	ts.Check(err)
}

// cmdSQLRows prints a query's rows, tab-separated, to stdout.
func cmdSQLRows(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sqlrows 'SELECT ...'")
	}
	out, err := queryRows(storeDir(ts), args[0])
	ts.Check(err)
	fmt.Fprint(ts.Stdout(), out)
}

func cmdSleep(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sleep DURATION")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	time.Sleep(d)
}

// dumpSQLite renders a whole SQLite database deterministically.
func dumpSQLite(db *sql.DB) (string, error) {
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		return "", err
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return "", err
		}
		tables = append(tables, name)
	}
	rows.Close()
	var b strings.Builder
	for _, t := range tables {
		out, err := queryRowsDB(db, `SELECT * FROM "`+t+`" ORDER BY rowid`)
		if err != nil {
			out, err = queryRowsDB(db, `SELECT * FROM "`+t+`"`)
			if err != nil {
				return "", err
			}
		}
		fmt.Fprintf(&b, "== %s\n%s", t, out)
	}
	return b.String(), nil
}

func queryRowsDB(db *sql.DB, q string) (string, error) {
	rows, err := db.QueryContext(context.Background(), q)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		for i, v := range vals {
			if i > 0 {
				b.WriteByte('\t')
			}
			switch x := v.(type) {
			case nil:
				b.WriteString("NULL")
			case []byte:
				b.Write(x)
			default:
				fmt.Fprint(&b, x)
			}
		}
		b.WriteByte('\n')
	}
	return b.String(), rows.Err()
}

// Helpers for the process tests.

// repo is a scratch repository with both tools on hand.
type repo struct {
	t   testing.TB
	dir string
	env []string
}

func newRepo(t testing.TB) *repo {
	t.Helper()
	dir := t.TempDir()
	r := &repo{t: t, dir: dir, env: toolEnv(dir)}
	r.mustRun("orchestrate", "init")
	return r
}

// dbPath is the SQLite file the tools find from r.dir.
func (r *repo) dbPath() string {
	r.t.Helper()
	l, err := workflow.Discover(r.dir)
	if err != nil {
		r.t.Fatalf("discover %s: %v", r.dir, err)
	}
	return l.DBPath()
}

// tok is the n-th fencing token this repository's store issues (n from 1):
// a new store's first token is seeded from the time it was created.
func (r *repo) tok(n int64) string {
	r.t.Helper()
	first, err := strconv.ParseInt(strings.TrimSpace(r.query(`SELECT json_extract(payload, '$.first_token') FROM audit_log WHERE action = 'store.init'`)), 10, 64)
	if err != nil {
		r.t.Fatalf("first token: %v", err)
	}
	return strconv.FormatInt(first+n-1, 10)
}

// toolEnv is the whole environment the tools run with in a scratch
// repository whose home is dir.
func toolEnv(dir string) []string {
	env := []string{"PATH=" + binDir + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + dir, "GOCOVERDIR=" + os.Getenv("GOCOVERDIR")}
	if onServer() {
		env = append(env, "OXYGEN_STORE_URL="+serverURL)
	}
	return env
}

// result is one finished process.
type result struct {
	code           int
	stdout, stderr string
}

func (r *repo) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	cmd.Dir = r.dir
	cmd.Env = append([]string{}, r.env...)
	return cmd
}

func (r *repo) run(name string, args ...string) result {
	return r.runEnv(nil, name, args...)
}

// runEnv runs a tool with extra environment variables (such as OXYGEN_NOW).
func (r *repo) runEnv(env []string, name string, args ...string) result {
	r.t.Helper()
	cmd := r.command(name, args...)
	cmd.Env = append(cmd.Env, env...)
	return runCmd(r.t, cmd)
}

// runCmd runs cmd to the end and returns its exit status and output;
// failing to start it at all fails the test.
func runCmd(t testing.TB, cmd *exec.Cmd) result {
	t.Helper()
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func (r *repo) mustRun(name string, args ...string) result {
	r.t.Helper()
	res := r.run(name, args...)
	if res.code != 0 {
		r.t.Fatalf("%s %s: exit %d\n%s%s", name, strings.Join(args, " "), res.code, res.stdout, res.stderr)
	}
	return res
}

func (r *repo) query(q string) string {
	r.t.Helper()
	out, err := queryRows(r.dir, q)
	if err != nil {
		r.t.Fatal(err)
	}
	return out
}

func removeAll(path string) error { return os.RemoveAll(path) }

// cmdExits runs a program like exec and checks its exact exit status, which
// exec alone cannot: exits 4 orchestrate assign X --owner builder. stdout and
// stderr are kept for the stdout/stderr/wanterr commands that follow.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("%s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", strings.Join(args[1:], " "), got, want)
	}
}

// errLine is the one line both tools print on stderr for an error.
var errLine = regexp.MustCompile(`\A(orchestrate|oxygen): ([a-z]+): ([^\n]+)\n\z`)

// cmdWantErr checks the error report of the last command: stderr is exactly
// one line "<tool>: CODE: message". Without -json stdout is empty; with
// -json stdout is exactly {"error":{"code":CODE,"message":message}}, with the
// same message as stderr.
func cmdWantErr(ts *testscript.TestScript, neg bool, args []string) {
	asJSON := len(args) == 2 && args[0] == "-json"
	if neg || !(len(args) == 1 || asJSON) {
		ts.Fatalf("usage: wanterr [-json] CODE")
	}
	code := args[len(args)-1]
	stderr, stdout := ts.ReadFile("stderr"), ts.ReadFile("stdout")
	m := errLine.FindStringSubmatch(stderr)
	if m == nil {
		ts.Fatalf("stderr is not one error line: %q", stderr)
	}
	if m[2] != code {
		ts.Fatalf("error code %q, want %q", m[2], code)
	}
	if !asJSON {
		if stdout != "" {
			ts.Fatalf("stdout should be empty, got %q", stdout)
		}
		return
	}
	// A finding (exit 4 after a check ran) may carry what it found in
	// "details"; nothing else may appear.
	var doc map[string]map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&doc); err != nil {
		ts.Fatalf("stdout is not a JSON error document: %v\n%s", err, stdout)
	}
	if dec.More() {
		ts.Fatalf("stdout holds more than one JSON document:\n%s", stdout)
	}
	raw, ok := doc["error"]
	_, hasDetails := raw["details"]
	if !ok || len(doc) != 1 || len(raw) != 2 && !(len(raw) == 3 && hasDetails) {
		ts.Fatalf("stdout is not exactly {\"error\":{\"code\",\"message\"[,\"details\"]}}:\n%s", stdout)
	}
	e := map[string]string{}
	for _, k := range []string{"code", "message"} {
		var v string
		if err := json.Unmarshal(raw[k], &v); err != nil {
			ts.Fatalf("error.%s is not a string: %s", k, raw[k])
		}
		e[k] = v
	}
	if e["code"] != code {
		ts.Fatalf("JSON error code %q, want %q", e["code"], code)
	}
	if e["message"] != m[3] {
		ts.Fatalf("JSON message %q differs from stderr's %q", e["message"], m[3])
	}
}

// cmdListFiles prints the files under DIR, one root-relative path a line in
// sorted order (nothing if DIR does not exist), so that a script can prove
// that a refused command exported no signal: listfiles DIR; cp stdout FILE.
func cmdListFiles(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: listfiles DIR")
	}
	root := ts.MkAbs(args[0])
	var names []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		ts.Check(err)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintln(ts.Stdout(), n)
	}
}
