// Command oxygen-mcp is the MCP server behind `oxygen mcp`: the protocol's
// commands as tools, over stdio, acting as one owner fixed at start. It is a
// binary of its own so that the MCP SDK's start-up cost stays out of every
// other command (see internal/mcpserver).
package main

import (
	"os"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/internal/mcpserver"
	// A long-running server pays the driver's start-up once: it carries
	// it, rather than handing over to a sibling.
	_ "github.com/oxygen-tools/oxygen/store/postgres"
)

// CLI is oxygen-mcp's grammar: serving is the only thing it does.
type CLI struct {
	cli.Globals

	Serve mcpserver.ServeCmd `cmd:"" default:"withargs" help:"Serve the MCP tools on stdin and stdout until the client closes them (the default)."`
}

func main() {
	var c CLI
	os.Exit(cli.Run("oxygen-mcp", &c, &c.Globals, os.Args[1:], cli.Options{
		Description: "The Oxygen protocol as MCP tools over stdio; run it through oxygen mcp.",
	}))
}
