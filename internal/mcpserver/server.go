// Package mcpserver offers the Oxygen protocol to coding agents as MCP tools,
// over stdio, for the oxygen-mcp binary that `oxygen mcp` starts.
//
// It is a package of its own, behind a binary of its own, because of start-up
// cost: the MCP SDK brings net/http, crypto/tls, an OAuth client and a JSON
// schema library, whose package initialisation and 8 MB of binary cost every
// process about 1.2 ms (6.1 ms -> 7.4 ms for `oxygen which`, measured on the
// machine in docs/PERFORMANCE.md). Every oxygen and orchestrate command pays
// start-up, so the SDK stays out of both and is linked only where a server
// runs for a whole session.
//
// Each tool call is one service call, exactly as the CLI makes it: one
// transaction, nothing cached between calls, so servers and the CLI can be
// mixed freely. The acting identity is fixed when the server starts; no tool
// takes an owner, and an argument a tool does not declare is refused by its
// input schema.
package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// ServeCmd runs the server on stdin and stdout until the client closes it.
type ServeCmd struct {
	cli.Identity
}

func (c *ServeCmd) Run(env *cli.Env) error {
	svc, actor, err := env.ServiceAs(c.Identity)
	if err != nil {
		return err
	}
	err = New(svc, actor).Run(env.Ctx, &mcp.StdioTransport{})
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, mcp.ErrConnectionClosed) {
		return nil
	}
	return workflow.Errorf(workflow.EINTERNAL, "mcp: %v", err)
}

// instructions is what a client shows the model about the server as a whole.
const instructions = `Oxygen coordinates agents and people sharing one repository. Call prime first: it says who you are, your domain's budgets, your items and their capsules, your leases, what waits in your inbox and the rules. Before changing a file, call which; claim the resource it falls under (another domain's resource needs a handshake first, sent with send_signal); release it as soon as the change is in. A refusal is a tool error whose text starts with its code (invalid, conflict, denied, notfound, timeout) and names the next step.`

// New builds the server for actor over svc.
func New(svc *workflow.Service, actor workflow.Actor) *mcp.Server {
	version := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		version = bi.Main.Version
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "oxygen", Version: version},
		&mcp.ServerOptions{Instructions: instructions, Capabilities: &mcp.ServerCapabilities{}})
	s.AddReceivingMiddleware(errorCodes)
	t := &tools{svc: svc, actor: actor}
	t.register(s)
	return s
}

// ErrorMeta is the _meta key under which a tool error carries its code,
// message and the exit status the CLI would have used.
const ErrorMeta = "oxygen/error"

// withDetails is a refusal that comes with what the agent needs to act on
// it, such as the tail of a failing verification command.
type withDetails struct {
	err     error
	details []string
}

func (d *withDetails) Error() string { return d.err.Error() }
func (d *withDetails) Unwrap() error { return d.err }

// errorCodes gives every tool error the CLI's shape: the text is
// "code: message" on one line, _meta carries the code, and details follow as
// more text. An error that is not the service's comes from the SDK checking
// the arguments against the input schema, so it is invalid input.
func errorCodes(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		res, err := next(ctx, method, req)
		r, ok := res.(*mcp.CallToolResult)
		if !ok || !r.IsError || r.GetError() == nil {
			return res, err
		}
		e := r.GetError()
		var we *workflow.Error
		if !errors.As(e, &we) {
			we = workflow.Errorf(workflow.EINVALID, "%v", e)
		}
		msg := strings.ReplaceAll(we.Message, "\n", " ")
		r.Content = []mcp.Content{&mcp.TextContent{Text: we.Code + ": " + msg}}
		var d *withDetails
		if errors.As(e, &d) {
			for _, text := range d.details {
				r.Content = append(r.Content, &mcp.TextContent{Text: text})
			}
		}
		r.Meta = mcp.Meta{ErrorMeta: map[string]any{"code": we.Code, "message": msg, "exit_code": workflow.ExitCode(we)}}
		return r, err
	}
}

// schemaFor infers the JSON schema of t (of what it points to, for a
// pointer: tool schemas are objects). workflow.Time marshals to an RFC 3339
// string or null, which inference cannot see from the struct.
func schemaFor(t reflect.Type) *jsonschema.Schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	s, err := jsonschema.ForType(t, &jsonschema.ForOptions{TypeSchemas: map[reflect.Type]*jsonschema.Schema{
		reflect.TypeFor[workflow.Time](): {Types: []string{"null", "string"}, Format: "date-time"},
	}})
	if err != nil {
		panic(fmt.Sprintf("schema for %s: %v", t, err)) // a type the tools declare; every test would fail
	}
	return s
}

// addTool registers one tool whose body is one service call. Errors that are
// not the service's own are reported as internal, so that errorCodes can
// tell them from the SDK's argument errors.
func addTool[In, Out any](s *mcp.Server, name, description string, readOnly bool, call func(context.Context, In) (Out, error)) {
	tool := &mcp.Tool{Name: name, Description: description,
		InputSchema: schemaFor(reflect.TypeFor[In]()), OutputSchema: schemaFor(reflect.TypeFor[Out]()),
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: readOnly}}
	mcp.AddTool(s, tool, func(ctx context.Context, _ *mcp.CallToolRequest, in In) (*mcp.CallToolResult, Out, error) {
		out, err := call(ctx, in)
		var we *workflow.Error
		if err != nil && !errors.As(err, &we) {
			err = workflow.Errorf(workflow.EINTERNAL, "%v", err)
		}
		return nil, out, err
	})
}
