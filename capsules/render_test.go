package capsules

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func sampleData(root string) Data {
	return Data{
		Title: "Oxygen protocol + leases", ID: "OXYGEN-001", Kind: "plan", Domain: "builder", Priority: "high",
		Status: "in_progress", Owner: "builder", Generated: "2026-01-30T04:46:11Z",
		Objective:  "Define shared resource lease practice; enforce via workflow",
		InScope:    DefaultInScope,
		OutOfScope: DefaultOutOfScope,
		Invariants: []string{"Do not delete originals during automation.", "Blob storage remains content-addressed and immutable."},
		Files:      []string{"docs/oxygen-protocol.md", "scripts/oxygen"},
		Commands:   []string{"./scripts/validate.sh", "./scripts/health.sh"},
		Resources: []ResourceLease{{ID: "coordination", Domain: "scribe", Holder: "alice (scribe)", Token: 7, ExpiresAt: "2026-01-30T05:16:11Z",
			ClaimCommand: "oxygen claim coordination --item OXYGEN-001 --owner builder --domain builder", NeedsHandshake: true,
			HandshakeCommand: `orchestrate signal send --kind handshake --from builder --domain builder --to scribe --resource coordination --item OXYGEN-001 --body "what you will change and why"`}},
		Health: "yellow", HealthReasons: []string{"yellow: council_call 3 for WORK-004 awaits approval (from alice)"},
		ItemsByStatus: []StatusCount{{"open", 3}, {"in_progress", 2}, {"blocked", 0}, {"done", 1}, {"dead_end", 0}},
		ActiveLeases:  []LeaseLine{{Resource: "coordination", Owner: "alice", Domain: "scribe", Token: 7, ExpiresAt: "2026-01-30T05:16:11Z"}},
		Signals: []SignalLine{
			{ID: 4, Kind: "missive", From: "carol (builder)", To: "builder", At: "2026-01-30T04:33:09Z", Excerpt: "OXYGEN-001 assigned to builder: Oxygen protocol + leases"},
			{ID: 6, Kind: "council_call (question)", From: "builder (builder)", To: "all", At: "2026-01-30T04:46:04Z", Excerpt: Excerpt("Which lease covers docs/agents/?\nDetails follow.")},
		},
		SignalsOmitted: 3,
		Dependencies: []Dependency{
			{ID: "OXYGEN-000", Title: "Seed the registry", Status: "done", Owner: "alice", By: "alice", At: "2026-01-29T10:00:00Z", Verification: "passed", Note: "kept the old ids"},
			{ID: "DOC-1", Title: "Write the guide", Status: "in_progress", Owner: "bob", By: "bob", At: "2026-01-30T01:00:00Z"},
		},
		AskCommand: `orchestrate council call --item OXYGEN-001 --from builder --domain builder --question "what is unclear, and the options you see"`,
		DriftGuards: []string{
			ExpandGuard("If you need more than {max_files} files, stop and create a stub explaining why.", 5, ""),
			ExpandGuard("If the task is ambiguous, stop and ask the council: `{ask}`", 5, `orchestrate council call --item OXYGEN-001 --from builder --domain builder --question "what is unclear, and the options you see"`),
		},
		DoneCommand:     "orchestrate done OXYGEN-001 --by builder",
		ReleaseCommands: []string{"oxygen release coordination --owner builder --domain builder"},
		HandoffCommands: []string{`orchestrate signal send --kind missive --from builder --domain builder --to scribe --item OXYGEN-001 --body "what changed, what is left"`},
		Embedded: Collect(root, []string{"docs/oxygen-protocol.md", "scripts/oxygen", ".env", "missing.md"},
			Policy{MaxFiles: 3, MaxFileBytes: 1 << 16}),
	}
}

// TestGoldenCapsule pins the built-in template's output byte for byte.
// Run with -update to rewrite testdata/capsule.golden.md after a deliberate
// change, and review the diff.
func TestGoldenCapsule(t *testing.T) {
	root := repoWith(t, map[string]string{
		"docs/oxygen-protocol.md": "# Oxygen Protocol\n\nClaim before you change.\n```\nfenced\n```\n",
		"scripts/oxygen":          "#!/usr/bin/env bash\nexec oxygen \"$@\"",
		".env":                    "SECRET=1\n",
	})
	tmpl, err := LoadTemplate(root, "", testPolicy(t, 5, 65536))
	if err != nil {
		t.Fatal(err)
	}
	out, err := tmpl.RenderCapsule(sampleData(root))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "capsule.golden.md")
	if *update {
		if err := os.WriteFile(golden, out.Content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(out.Content) != string(want) {
		t.Fatalf("capsule differs from %s (run go test ./capsules -update to accept):\n%s", golden, out.Content)
	}
	// Same data, same bytes.
	again, _ := tmpl.RenderCapsule(sampleData(root))
	if string(again.Content) != string(out.Content) || again.Key != out.Key {
		t.Fatal("rendering is not deterministic")
	}
	// The drift key ignores the generation time, and nothing else.
	later := sampleData(root)
	later.Generated = "2026-02-01T00:00:00Z"
	if k, _ := tmpl.RenderCapsule(later); k.Key != out.Key {
		t.Error("the drift key depends on the generation time")
	}
	later.Health = "green"
	if k, _ := tmpl.RenderCapsule(later); k.Key == out.Key {
		t.Error("the drift key missed a content change")
	}
}

func TestSectionsFollowTheProtocolOrder(t *testing.T) {
	root := repoWith(t, nil)
	tmpl, _ := LoadTemplate(root, "", testPolicy(t, 5, 65536))
	out, err := tmpl.Render(sampleData(root))
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	order := []string{"# Context Capsule: ", "Work ID:", "Kind:", "Domain:", "Priority:", "Status:", "Owner:", "Generated:",
		"## Objective", "## Boundaries", "In scope:", "Out of scope:", "## Invariants", "## Dependencies", "## Touch Points", "Files linked on the item:", "Commands:", "## Leases", "## Current State", "Signals for this item", "## Drift Guards", "## Finish", "## Embedded Context"}
	last := -1
	for _, marker := range order {
		i := strings.Index(text, marker)
		if i < 0 || i < last {
			t.Fatalf("%q missing or out of order", marker)
		}
		last = i
	}
}

func TestTemplateOverrides(t *testing.T) {
	root := repoWith(t, map[string]string{
		".substrate/templates/capsule.md.tmpl": "repo {{.ID}}\n",
		"custom.tmpl":                          "custom {{.ID}}\n",
		"broken.tmpl":                          "line one\n{{.ID}\n",
		"badfield.tmpl":                        "ok\n\n{{.Nope}}\n",
	})
	tmpl, err := LoadTemplate(root, "", testPolicy(t, 5, 65536))
	if err != nil || tmpl.Source != RepoTemplateFile {
		t.Fatalf("repository override not picked: %+v %v", tmpl, err)
	}
	if out, _ := tmpl.Render(Data{ID: "X"}); string(out) != "repo X\n" {
		t.Errorf("render = %q", out)
	}
	if tmpl, err := LoadTemplate(root, "custom.tmpl", testPolicy(t, 5, 65536)); err != nil || tmpl.Source != "custom.tmpl" {
		t.Fatalf("configured template not picked: %v", err)
	}
	_, err = LoadTemplate(root, "broken.tmpl", testPolicy(t, 5, 65536))
	if err == nil || !strings.Contains(err.Error(), "broken.tmpl:2") {
		t.Errorf("parse error does not name the file and line: %v", err)
	}
	tmpl, err = LoadTemplate(root, "badfield.tmpl", testPolicy(t, 5, 65536))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmpl.Render(Data{}); err == nil || !strings.Contains(err.Error(), "badfield.tmpl:3") {
		t.Errorf("execution error does not name the file and line: %v", err)
	}
	if _, err := LoadTemplate(root, "absent.tmpl", testPolicy(t, 5, 65536)); err == nil || !strings.Contains(err.Error(), "absent.tmpl") {
		t.Errorf("missing template: %v", err)
	}
}

func TestExcerpt(t *testing.T) {
	long := strings.Repeat("é", excerptRunes+5)
	for body, want := range map[string]string{
		"":                       "",
		"one line":               "one line",
		"  padded  \n":           "padded",
		"first\r\nsecond":        "first …",
		"first\n\n  ":            "first",
		long:                     strings.Repeat("é", excerptRunes) + "…",
		strings.Repeat("x ", 60): strings.TrimSpace(strings.Repeat("x ", 50)) + "…",
	} {
		if got := Excerpt(body); got != want {
			t.Errorf("Excerpt(%q) = %q, want %q", body, got, want)
		}
	}
}
