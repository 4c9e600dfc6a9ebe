package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The MCP server (issue 13, section 1), driven as a client would drive it:
// the real oxygen binary started by the SDK's CommandTransport, and once by
// a hand-written JSON-RPC session over its stdin and stdout.

// mcpRepo is a scratch repository whose agents map names ada and bo
// (builder) and sam (scribe).
func mcpRepo(t *testing.T) *repo {
	t.Helper()
	r := newRepo(t)
	cfg := filepath.Join(r.dir, ".substrate/oxygen.yaml")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.Replace(string(data), "agents: {}", "agents: {ada: builder, bo: builder, sam: scribe}", 1))
	if err := os.WriteFile(cfg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

// connect starts `oxygen mcp` with args through the SDK's client.
func connect(t *testing.T, r *repo, args ...string) *mcp.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "0"}, nil)
	cmd := r.command("oxygen", append([]string{"mcp"}, args...)...)
	cmd.Stderr = os.Stderr
	session, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect oxygen mcp %v: %v", args, err)
	}
	t.Cleanup(func() { session.Close() })
	return session
}

// call calls a tool and returns its result, failing only on a protocol
// error: tool errors are results to check.
func call(t *testing.T, s *mcp.ClientSession, name string, args any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

// structured decodes a successful result's structured content into v.
func structured(t *testing.T, res *mcp.CallToolResult, v any) {
	t.Helper()
	if res.IsError {
		t.Fatalf("tool error: %s", text(res))
	}
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("structured content %s: %v", raw, err)
	}
}

func text(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// toolError checks that res is a tool error with code, and returns its
// message: the _meta copy and the text's "code: message" must agree.
func toolError(t *testing.T, res *mcp.CallToolResult, code string, exit int) string {
	t.Helper()
	if !res.IsError {
		t.Fatalf("want a %s tool error, got success: %s", code, text(res))
	}
	raw, _ := json.Marshal(res.Meta["oxygen/error"])
	var meta struct {
		Code     string `json:"code"`
		Message  string `json:"message"`
		ExitCode int    `json:"exit_code"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatalf("_meta oxygen/error %s: %v", raw, err)
	}
	if meta.Code != code || meta.ExitCode != exit {
		t.Fatalf("error %s (exit %d), want %s (exit %d): %s", meta.Code, meta.ExitCode, code, exit, meta.Message)
	}
	first := res.Content[0].(*mcp.TextContent).Text
	if first != code+": "+meta.Message || strings.Contains(first, "\n") {
		t.Fatalf("error text %q is not the one line %q", first, code+": "+meta.Message)
	}
	return meta.Message
}

func TestMCPTools(t *testing.T) {
	r := mcpRepo(t)
	ada := connect(t, r, "--owner", "ada")

	// Every tool of the issue, each with a description, an object input
	// schema that refuses undeclared arguments, and an object output schema.
	ctx := context.Background()
	list, err := ada.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range list.Tools {
		names = append(names, tool.Name)
		in, _ := tool.InputSchema.(map[string]any)
		out, _ := tool.OutputSchema.(map[string]any)
		if tool.Description == "" || in["type"] != "object" || in["additionalProperties"] != false || out["type"] != "object" {
			t.Errorf("tool %s: description %q, input schema %v, output schema type %v", tool.Name, tool.Description, in, out["type"])
		}
	}
	slices.Sort(names)
	want := []string{"ack", "assign", "block", "capsule", "claim", "council_call", "dead_end", "done", "health", "inbox",
		"lease_status", "prime", "ready", "release", "renew", "resources", "send_signal", "show_item", "verify", "which"}
	if !slices.Equal(names, want) {
		t.Fatalf("tools %v, want %v", names, want)
	}

	// which takes paths relative to the worktree's top.
	var which struct {
		Paths []struct {
			Path      string `json:"path"`
			Resources []struct{ ID string }
		} `json:"paths"`
	}
	structured(t, call(t, ada, "which", map[string]any{"paths": []string{"backups/rotate.sh", filepath.Join(r.dir, "README.md")}}), &which)
	if len(which.Paths) != 2 || which.Paths[0].Path != "backups/rotate.sh" || len(which.Paths[0].Resources) != 1 ||
		which.Paths[0].Resources[0].ID != "storage" || which.Paths[1].Path != "README.md" || len(which.Paths[1].Resources) != 0 {
		t.Fatalf("which: %+v", which)
	}

	// A claim: the lease is ada's, as the store says.
	var claimed struct {
		Lease struct {
			Resource, Owner, Domain string
			Token                   int64
		} `json:"lease"`
		Renewed bool `json:"renewed"`
	}
	structured(t, call(t, ada, "claim", map[string]any{"resource": "storage", "ttl": "10m", "reason": "rotate"}), &claimed)
	if claimed.Lease.Resource != "storage" || claimed.Lease.Owner != "ada" || claimed.Lease.Domain != "builder" || claimed.Lease.Token < 1 || claimed.Renewed {
		t.Fatalf("claim: %+v", claimed)
	}
	if got := r.query(`SELECT owner, domain, token, reason, state FROM leases`); got != fmt.Sprintf("ada\tbuilder\t%d\trotate\tactive\n", claimed.Lease.Token) {
		t.Fatalf("leases: %q", got)
	}

	// Its conflict, from a second server acting as bo: the same code and
	// message as the CLI's, which sees the same store.
	bo := connect(t, r, "--owner", "bo")
	msg := toolError(t, call(t, bo, "claim", map[string]any{"resource": "storage"}), "conflict", 3)
	cli := r.run("oxygen", "claim", "storage", "--owner", "bo")
	if cli.code != 3 || cli.stderr != "oxygen: conflict: "+msg+"\n" {
		t.Fatalf("CLI: exit %d %q; MCP: %q", cli.code, cli.stderr, msg)
	}

	// A refusal by policy: scribe's resource without a handshake is denied,
	// the message carries the exact command, and nothing changes.
	before, err := dumpStore(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	msg = toolError(t, call(t, ada, "claim", map[string]any{"resource": "schema"}), "denied", 4)
	if !strings.Contains(msg, "orchestrate signal send --kind handshake --from ada --domain builder --to scribe --resource schema") {
		t.Fatalf("denied message lacks the handshake command: %s", msg)
	}
	toolError(t, call(t, ada, "claim", map[string]any{"resource": "storage", "ttl": "soon"}), "invalid", 2)
	toolError(t, call(t, ada, "show_item", map[string]any{"id": "NOPE-1"}), "notfound", 5)
	after, _ := dumpStore(r.dir)
	if before != after {
		t.Fatal("a refused tool call changed the store")
	}

	// Identity is fixed at start: an owner argument is refused, whoever it
	// names, and what the server does is recorded as its owner's.
	toolError(t, call(t, ada, "claim", map[string]any{"resource": "index", "owner": "bo"}), "invalid", 2)
	toolError(t, call(t, ada, "send_signal", map[string]any{"kind": "missive", "from": "sam", "body": "hi"}), "invalid", 2)
	if got := r.query(`SELECT count(*) FROM leases WHERE resource = 'index'`); got != "0\n" {
		t.Fatalf("a refused claim left a lease: %q", got)
	}
	var sig struct {
		ID         int64  `json:"id"`
		From       string `json:"from"`
		FromDomain string `json:"from_domain"`
	}
	structured(t, call(t, ada, "send_signal", map[string]any{"kind": "handshake", "to": "scribe", "resource": "schema", "body": "units"}), &sig)
	if sig.From != "ada" || sig.FromDomain != "builder" {
		t.Fatalf("signal sent as %s (%s)", sig.From, sig.FromDomain)
	}
	// The handshake opens schema to ada's next call: nothing was cached.
	structured(t, call(t, ada, "claim", map[string]any{"resource": "schema"}), &claimed)
	if claimed.Lease.Owner != "ada" || claimed.Lease.Resource != "schema" {
		t.Fatalf("claim after handshake: %+v", claimed)
	}

	// The CLI and the server mix freely: a release from the CLI shows in
	// the server's next lease_status.
	r.mustRun("oxygen", "release", "storage", "--owner", "ada")
	var status struct {
		Leases []struct{ Resource string } `json:"leases"`
	}
	structured(t, call(t, ada, "lease_status", map[string]any{}), &status)
	if len(status.Leases) != 1 || status.Leases[0].Resource != "schema" {
		t.Fatalf("lease_status after the CLI's release: %+v", status)
	}
	structured(t, call(t, ada, "release", map[string]any{"resource": "schema"}), &claimed)
	if got := r.query(`SELECT resource, state, ended_by FROM leases ORDER BY id`); got != "storage\treleased\tada\nschema\treleased\tada\n" {
		t.Fatalf("leases: %q", got)
	}

	// Work items: assign goes to the server's owner; a failing verification
	// comes back as denied with the command's last lines.
	r.mustRun("orchestrate", "add", "W-1", "--title", "w", "--kind", "chore", "--domain", "builder", "--priority", "high",
		"--objective", "o", "--command", "echo checking; echo boom >&2; exit 3")
	var assigned struct {
		Item    struct{ ID, Owner, Status string } `json:"item"`
		Capsule struct{ Path string }              `json:"capsule"`
	}
	structured(t, call(t, ada, "assign", map[string]any{"id": "W-1"}), &assigned)
	if assigned.Item.Owner != "ada" || assigned.Item.Status != "in_progress" || assigned.Capsule.Path != ".substrate/capsules/W-1.md" {
		t.Fatalf("assign: %+v", assigned)
	}
	res := call(t, ada, "done", map[string]any{"id": "W-1"})
	toolError(t, res, "denied", 4)
	if len(res.Content) != 2 || !strings.Contains(text(res), "boom") {
		t.Fatalf("done's refusal lacks the command's tail: %q", text(res))
	}
	var brief struct {
		Owner string `json:"owner"`
		Items []struct {
			ID      string `json:"id"`
			Capsule string `json:"capsule"`
		} `json:"items"`
		Rules []string `json:"rules"`
	}
	structured(t, call(t, ada, "prime", map[string]any{}), &brief)
	if brief.Owner != "ada" || len(brief.Items) != 1 || brief.Items[0].Capsule != ".substrate/capsules/W-1.md" || len(brief.Rules) == 0 {
		t.Fatalf("prime: %+v", brief)
	}
}

// The brief's tools (issue 13, sections 5 and 6): ready says what each item
// waits on, from the server's owner's view, and with now keeps what they
// can start; council_call asks a question as the capsule's drift guard
// says, without overriding any cap.
func TestMCPReadyAndQuestion(t *testing.T) {
	r := mcpRepo(t)
	for _, id := range []string{"B-1", "B-2"} {
		r.mustRun("orchestrate", "add", id, "--title", id, "--kind", "chore", "--domain", "builder", "--priority", "high",
			"--objective", "o", "--file", "backups/"+id+".sh")
	}
	r.mustRun("oxygen", "claim", "storage", "--owner", "bo")
	ada := connect(t, r, "--owner", "ada")
	type readyItem struct {
		ID        string `json:"id"`
		WaitingOn []struct {
			On, Resource, Holder string
		} `json:"waiting_on"`
	}
	var ready struct {
		Items []readyItem `json:"items"`
	}
	structured(t, call(t, ada, "ready", map[string]any{}), &ready)
	if len(ready.Items) != 2 || len(ready.Items[0].WaitingOn) != 1 || ready.Items[0].WaitingOn[0].On != "lease" ||
		ready.Items[0].WaitingOn[0].Resource != "storage" || ready.Items[0].WaitingOn[0].Holder != "bo" {
		t.Fatalf("ready: %+v", ready)
	}
	structured(t, call(t, ada, "ready", map[string]any{"now": true}), &ready)
	if len(ready.Items) != 0 {
		t.Fatalf("ready now while bo holds storage: %+v", ready)
	}
	bo := connect(t, r, "--owner", "bo")
	structured(t, call(t, bo, "ready", map[string]any{"now": true}), &ready)
	if len(ready.Items) != 2 || len(ready.Items[0].WaitingOn) != 0 {
		t.Fatalf("ready now for the holder: %+v", ready)
	}

	var asked struct {
		ID       int64  `json:"id"`
		Kind     string `json:"kind"`
		From     string `json:"from"`
		To       string `json:"to"`
		Question bool   `json:"question"`
	}
	structured(t, call(t, ada, "council_call", map[string]any{"item": "B-1", "question": "which backups count?", "to": "scribe"}), &asked)
	if asked.Kind != "council_call" || !asked.Question || asked.From != "ada" || asked.To != "scribe" {
		t.Fatalf("question: %+v", asked)
	}
	toolError(t, call(t, ada, "council_call", map[string]any{"item": "B-1", "question": "q", "reason": "r"}), "invalid", 2)
	toolError(t, call(t, ada, "council_call", map[string]any{"item": "B-1", "reason": "r", "to": "scribe"}), "invalid", 2)
	if got := r.query(`SELECT count(*), sum(question) FROM signals WHERE kind = 'council_call'`); got != "1\t1\n" {
		t.Fatalf("council calls: %q", got)
	}
}

// A server needs an identity it can resolve before it serves anything.
func TestMCPIdentityAtStart(t *testing.T) {
	r := mcpRepo(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "oxygen-mcp: invalid: no owner: pass --owner, set OXYGEN_OWNER, or set a default with git config oxygen.owner NAME"},
		{[]string{"--owner", "zed"}, `oxygen-mcp: invalid: cannot tell which domain "zed" acts for`},
		{[]string{"--owner", "ada", "--domain", "scribe"}, `oxygen-mcp: invalid: --domain "scribe" contradicts agents.ada: builder`},
	} {
		res := r.run("oxygen", append([]string{"mcp"}, c.args...)...)
		if res.code != 2 || !strings.HasPrefix(res.stderr, c.want) || res.stdout != "" {
			t.Errorf("oxygen mcp %v: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, res.code, res.stdout, res.stderr, c.want)
		}
	}
}

func TestMCPPrintConfig(t *testing.T) {
	r := mcpRepo(t)
	res := r.runEnv([]string{"OXYGEN_OWNER=ada"}, "oxygen", "mcp", "--print-config")
	want := `{
  "mcpServers": {
    "oxygen": {
      "args": [
        "mcp"
      ],
      "command": "oxygen",
      "env": {
        "OXYGEN_OWNER": "ada"
      }
    }
  }
}
`
	if res.code != 0 || res.stdout != want {
		t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	res = r.run("oxygen", "mcp", "--print-config", "--owner", "sam", "--domain", "scribe")
	if !strings.Contains(res.stdout, `"OXYGEN_DOMAIN": "scribe"`) || !strings.Contains(res.stdout, `"OXYGEN_OWNER": "sam"`) {
		t.Fatalf("print-config with an identity:\n%s", res.stdout)
	}
}

// TestMCPRawSession is one session from an independent client: JSON-RPC
// lines written by hand, read back by hand, no SDK involved.
func TestMCPRawSession(t *testing.T) {
	r := mcpRepo(t)
	cmd := r.command("oxygen", "mcp", "--owner", "sam")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	send := func(msg string) {
		if _, err := io.WriteString(stdin, msg+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	// roundTrip sends a request and returns the response with its id.
	roundTrip := func(id int, method, params string) map[string]any {
		send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`, id, method, params))
		for lines.Scan() {
			var msg map[string]any
			dec := json.NewDecoder(strings.NewReader(lines.Text()))
			dec.UseNumber() // fencing tokens are beyond float64's exact integers
			if err := dec.Decode(&msg); err != nil {
				t.Fatalf("not JSON from the server: %q", lines.Text())
			}
			if msg["id"] == json.Number(fmt.Sprint(id)) {
				return msg
			}
		}
		t.Fatalf("no response to %s: %v", method, lines.Err())
		return nil
	}

	init := roundTrip(1, "initialize", `{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}`)
	result, _ := init["result"].(map[string]any)
	server, _ := result["serverInfo"].(map[string]any)
	if server["name"] != "oxygen" || result["protocolVersion"] != "2025-06-18" || !strings.Contains(fmt.Sprint(result["instructions"]), "Call prime first") {
		t.Fatalf("initialize: %v", init)
	}
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)

	list := roundTrip(2, "tools/list", `{}`)
	tools, _ := list["result"].(map[string]any)["tools"].([]any)
	if len(tools) != 20 {
		t.Fatalf("tools/list: %d tools", len(tools))
	}

	claim := roundTrip(3, "tools/call", `{"name":"claim","arguments":{"resource":"schema","item":"","reason":"units"}}`)
	content, _ := claim["result"].(map[string]any)["structuredContent"].(map[string]any)
	lease, _ := content["lease"].(map[string]any)
	token, _ := lease["token"].(json.Number)
	if got := r.query(`SELECT owner, domain, reason, token FROM leases WHERE state = 'active'`); lease["owner"] != "sam" || got != "sam\tscribe\tunits\t"+token.String()+"\n" {
		t.Fatalf("claim over raw JSON-RPC: %v; leases %q", claim, got)
	}

	// An undeclared owner argument is refused by the server itself.
	refused := roundTrip(4, "tools/call", `{"name":"release","arguments":{"resource":"schema","owner":"ada"}}`)
	res, _ := refused["result"].(map[string]any)
	if res["isError"] != true || !strings.HasPrefix(fmt.Sprint(res["content"]), "[map[text:invalid: ") {
		t.Fatalf("owner argument: %v", refused)
	}
	if got := r.query(`SELECT state FROM leases`); got != "active\n" {
		t.Fatalf("the refused release changed the lease: %q", got)
	}

	stdin.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("server exit after stdin closed: %v", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("server still running 10s after stdin closed")
	}
}

// BenchmarkMCPClaimRelease times a claim and a release as tool calls in one
// session: the same two transactions as the CLI's, without two process
// starts. go test -run '^$' -bench MCP -benchtime 300x ./e2e/
func BenchmarkMCPClaimRelease(b *testing.B) {
	r := newRepo(b)
	ctx := context.Background()
	client := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "0"}, nil)
	session, err := client.Connect(ctx, &mcp.CommandTransport{Command: r.command("oxygen", "mcp", "--owner", "builder")}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer session.Close()
	b.ResetTimer()
	for b.Loop() {
		for _, name := range []string{"claim", "release"} {
			res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: map[string]any{"resource": "storage"}})
			if err != nil || res.IsError {
				b.Fatalf("%s: %v %v", name, err, res)
			}
		}
	}
}
