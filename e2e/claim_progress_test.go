package e2e

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestClaimWaitShowsProgressOnATerminal: a claim queued with --wait tells a
// person at a terminal where they stand (their place and who holds the
// resource, for how long) on stderr, and wipes that line before its result;
// into a pipe it prints nothing but its result, so scripts see no change.
func TestClaimWaitShowsProgressOnATerminal(t *testing.T) {
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("SKIP: needs script(1) from util-linux/bsdutils to give the claim a terminal")
	}
	r := newRepo(t)
	r.oxWant(0, "oxygen", "claim", "storage", "--owner", "builder", "--ttl", "1h")

	piped := r.oxWant(6, "oxygen", "claim", "storage", "--owner", "cy", "--domain", "builder", "--wait", "1s")
	if !errLine.MatchString(piped.stderr) || strings.Contains(piped.stderr, "queue position") {
		t.Fatalf("into a pipe, stderr should be the one error line:\n%q", piped.stderr)
	}

	// script(1) runs the claim on a pseudo-terminal; its output is the
	// terminal's, stdout and stderr together.
	line := binDir + "/oxygen claim storage --owner cy --domain builder --wait 2s"
	cmd := r.command("oxygen")
	cmd.Path, cmd.Args = script, []string{"script", "-qec", line, "/dev/null"}
	cmd.Env = append(cmd.Env, "SHELL=/bin/sh")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 6 {
		t.Fatalf("the claim on a terminal: %v, want exit 6\n%q", err, out)
	}
	text := string(out)
	want := regexp.MustCompile(`\r\x1b\[Kwaiting for storage: queue position 1, held by builder \(builder\), token \d+, \d+m left`)
	if !want.MatchString(text) {
		t.Fatalf("no progress line %s in the terminal's output:\n%q", want, text)
	}
	// The line is wiped before the error is printed.
	if !strings.Contains(text, "left\r\x1b[Koxygen: timeout: waited 2s for storage") {
		t.Fatalf("the progress line was not wiped before the result:\n%q", text)
	}
}
