package e2e

import (
	"encoding/json"
	"fmt"
	"github.com/oxygen-tools/oxygen/store/sqlite"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// TestVersion: both binaries answer --version anywhere, even outside a
// repository and after a command name, without touching the disk, with
// the version, the commit (when the build was stamped) and the schema.
func TestVersion(t *testing.T) {
	schema, err := sqlite.LatestSchemaVersion()
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(fmt.Sprintf(`^(orchestrate|oxygen|orchestrate-dashboard) \S+, commit (unknown|[0-9a-f]{12}( \([^)]+\))?), schema version %d, go\S+ \w+/\w+\n$`, schema))
	dir := t.TempDir()
	for tool, command := range map[string]string{"orchestrate": "status", "oxygen": "status", "orchestrate-dashboard": "serve"} {
		for _, args := range [][]string{{"--version"}, {command, "--version"}} {
			cmd := exec.Command(filepath.Join(binDir, tool), args...)
			cmd.Dir = dir
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s %v: %v", tool, args, err)
			}
			if !line.Match(out) || string(out[:len(tool)]) != tool {
				t.Errorf("%s %v: %q does not match %s", tool, args, out, line)
			}
		}
		cmd := exec.Command(filepath.Join(binDir, tool), "--version", "--json")
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Tool    string `json:"tool"`
			Version string `json:"version"`
			Commit  string `json:"commit"`
			Schema  int64  `json:"schema_version"`
		}
		if err := json.Unmarshal(out, &v); err != nil || v.Tool != tool || v.Version == "" || v.Schema != schema {
			t.Errorf("%s --version --json: %+v (%v)\n%s", tool, v, err, out)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("--version wrote into the directory: %v", entries)
	}
}
