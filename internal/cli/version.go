package cli

import (
	"fmt"
	"github.com/oxygen-tools/oxygen/store/sqlite"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/alecthomas/kong"
)

// VersionFlag is --version: print what this binary is and exit. The text is
// put together only when asked for, so other commands pay nothing for it.
type VersionFlag bool

// BeforeReset runs before anything else is parsed, so --version works
// anywhere, even outside a repository or next to an incomplete command.
func (VersionFlag) BeforeReset(app *kong.Kong, ctx *kong.Context) error {
	v := Version(app.Model.Name)
	if hasJSONFlag(ctx.Args) {
		(&Env{Stdout: app.Stdout}).PrintJSON(v)
	} else {
		fmt.Fprintln(app.Stdout, v)
	}
	app.Exit(0)
	return nil
}

// VersionInfo is what --version reports.
type VersionInfo struct {
	Tool       string `json:"tool"`
	Version    string `json:"version"`
	Commit     string `json:"commit"`
	CommitTime string `json:"commit_time"`
	Modified   bool   `json:"modified"`
	Schema     int64  `json:"schema_version"`
	Go         string `json:"go"`
	Platform   string `json:"platform"`
}

// Version reads the module version and the VCS stamp that the Go toolchain
// embeds at build time (a pseudo-version such as
// v0.0.0-20261129225801-e769860a1b2c+dirty when built from a checkout), and
// the newest migration this binary carries.
func Version(tool string) VersionInfo {
	v := VersionInfo{Tool: tool, Version: "unknown", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	v.Schema, _ = sqlite.LatestSchemaVersion()
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	v.Version = info.Main.Version
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.CommitTime = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func (v VersionInfo) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", v.Tool, v.Version)
	if v.Commit != "" {
		fmt.Fprintf(&b, ", commit %.12s", v.Commit)
		if v.CommitTime != "" {
			fmt.Fprintf(&b, " (%s", v.CommitTime)
			if v.Modified {
				b.WriteString(", modified")
			}
			b.WriteString(")")
		}
	} else {
		b.WriteString(", commit unknown")
	}
	fmt.Fprintf(&b, ", schema version %d, %s %s", v.Schema, v.Go, v.Platform)
	return b.String()
}
