package cli

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/oxygen-tools/oxygen/workflow"
)

// ServeFlags are the dashboard's flags. `orchestrate serve` checks them and
// hands them on to the orchestrate-dashboard binary, which takes the same.
type ServeFlags struct {
	Addr  string `name:"addr" default:"127.0.0.1:7070" help:"Listen address (default 127.0.0.1:7070); anything but loopback needs --token." placeholder:"HOST:PORT"`
	Token string `name:"token" env:"OXYGEN_DASHBOARD_TOKEN" help:"Require this bearer token (or basic-auth password) on every request. Prefer the environment variable: a flag shows in ps." placeholder:"TOKEN"`
}

// Check refuses an address that is not HOST:PORT, and one that other
// machines can reach when no token guards it.
func (f ServeFlags) Check() error {
	if _, _, err := net.SplitHostPort(f.Addr); err != nil {
		return workflow.Errorf(workflow.EINVALID, "--addr %q: give HOST:PORT, such as 127.0.0.1:7070", f.Addr)
	}
	if !IsLoopbackAddr(f.Addr) && f.Token == "" {
		return workflow.Errorf(workflow.EINVALID, "--addr %s is reachable from other machines: pass --token (or set OXYGEN_DASHBOARD_TOKEN), or listen on 127.0.0.1", f.Addr)
	}
	return nil
}

// IsLoopbackHost reports whether host (a name or an IP, without port) is
// this machine's loopback: localhost, 127.0.0.0/8 or ::1.
func IsLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// IsLoopbackAddr reports whether a listen address (host:port) binds only
// the loopback interface. An empty host binds every interface.
func IsLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && host != "" && IsLoopbackHost(host)
}

// FindSibling finds a companion binary (oxygen-mcp, orchestrate-dashboard):
// next to this one first, so that a build directory or an install prefix is
// used as a whole, then on PATH. Heavy features live in companions so that
// their start-up cost stays out of every other command.
func FindSibling(name string) (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", workflow.Errorf(workflow.ENOTFOUND, "%s is neither next to this binary nor on PATH: make install copies it with the others", name)
}
