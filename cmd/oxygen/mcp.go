package main

import (
	"os"
	"syscall"

	"github.com/oxygen-tools/oxygen/internal/cli"
	"github.com/oxygen-tools/oxygen/workflow"
)

// mcpServer is the binary that serves MCP. It is separate so that the MCP
// SDK's start-up cost stays out of every other oxygen command (see
// internal/mcpserver); `oxygen mcp` replaces itself with it.
const mcpServer = "oxygen-mcp"

// McpCmd serves the protocol as MCP tools over stdio, or prints the entry an
// MCP client's configuration needs.
type McpCmd struct {
	PrintConfig bool `name:"print-config" help:"Print the JSON snippet for an MCP client's configuration (mcpServers) instead of serving."`
	cli.Identity
}

func (c *McpCmd) Run(env *cli.Env) error {
	if c.PrintConfig {
		return env.PrintJSON(c.clientConfig(env))
	}
	server, err := cli.FindSibling(mcpServer)
	if err != nil {
		return err
	}
	args := []string{mcpServer}
	for _, f := range [][2]string{{"--root", env.Globals.Root}, {"--owner", c.Owner}, {"--domain", c.Domain}} {
		if f[1] != "" {
			args = append(args, f[0], f[1])
		}
	}
	if err := syscall.Exec(server, args, os.Environ()); err != nil {
		return workflow.Errorf(workflow.EINTERNAL, "start %s: %v", server, err)
	}
	return nil
}

// clientConfig is the mcpServers entry that starts this server. Identity
// goes in the environment, as for every command; the owner is a placeholder
// when none is known yet.
func (c *McpCmd) clientConfig(env *cli.Env) map[string]any {
	owner := c.Owner
	if owner == "" {
		owner = os.Getenv("OXYGEN_OWNER")
	}
	if owner == "" {
		owner = "YOUR-NAME"
	}
	vars := map[string]string{"OXYGEN_OWNER": owner}
	domain := c.Domain
	if domain == "" {
		domain = os.Getenv("OXYGEN_DOMAIN")
	}
	if domain != "" {
		vars["OXYGEN_DOMAIN"] = domain
	}
	args := []string{"mcp"}
	if env.Globals.Root != "" {
		args = append(args, "--root", env.Globals.Root)
	}
	return map[string]any{"mcpServers": map[string]any{"oxygen": map[string]any{"command": "oxygen", "args": args, "env": vars}}}
}
