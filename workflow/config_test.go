package workflow

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigIsTheProtocol(t *testing.T) {
	c := DefaultConfig()
	if got := strings.Join(c.DomainNames(), ","); got != "watcher,builder,guardian,scribe,gems" {
		t.Errorf("domains %s", got)
	}
	for _, d := range c.Domains {
		if d.MaxInProgress != 2 || d.MaxLeases != 2 {
			t.Errorf("%s budgets %d/%d, want 2/2", d.Name, d.MaxInProgress, d.MaxLeases)
		}
	}
	if len(c.Resources) != 8 || len(c.Invariants) != 3 {
		t.Errorf("%d resources, %d invariants", len(c.Resources), len(c.Invariants))
	}
	if c.Leases.DefaultTTL != 30*time.Minute || c.Leases.MaxTTL != 4*time.Hour || c.Leases.MaxHold != 8*time.Hour || c.Leases.HandshakeTTL != 24*time.Hour {
		t.Errorf("leases %+v", c.Leases)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("the default resources overlap: %v", c.Warnings)
	}
	if !c.Policy.IsSecret(".env") || !c.Policy.IsSecret("a/secrets/b") || c.Policy.IsSecret("docs/x.md") {
		t.Error("secret_paths not applied")
	}
}

// A file holding only the version takes every section from the defaults.
func TestMissingSectionsTakeDefaults(t *testing.T) {
	c, err := ParseConfig("x.yaml", []byte("version: 1\nleases: {default_ttl: 10m}\n"))
	if err != nil {
		t.Fatal(err)
	}
	def := DefaultConfig()
	if !reflect.DeepEqual(c.DomainNames(), def.DomainNames()) || len(c.Resources) != len(def.Resources) {
		t.Error("domains or resources not defaulted")
	}
	if c.Leases.DefaultTTL != 10*time.Minute || c.Leases.MaxTTL != 4*time.Hour {
		t.Errorf("leases %+v", c.Leases)
	}
	if len(c.Jobs) != len(KnownJobs) || c.Jobs[0].Schedule == nil {
		t.Errorf("jobs %+v", c.Jobs)
	}
}

func TestConfigErrorsNameFileKeyAndLine(t *testing.T) {
	cases := map[string]string{
		"version: 1\nleases:\n  default_tll: 5m\n":   `x.yaml:3: unknown key "leases.default_tll"`,
		"version: 1\nleases:\n  default_ttl: soon\n": `x.yaml:3: leases.default_ttl: "soon" is not a duration`,
		"version: 2\n":                                                            `x.yaml:1: version: 2 is not supported`,
		"version: 1\ndomains:\n  Builder: {}\n":                                   `x.yaml:3: domains.Builder: domain names are lower-case`,
		"version: 1\nagents: {ada: nobody}\n":                                     `x.yaml:2: agents.ada: "nobody" is not a domain`,
		"version: 1\njobs: {audit: \"every hour\"}\n":                             `x.yaml:2: jobs.audit: "every hour" is not a cron schedule`,
		"version: 1\ncapsules: {max_files: -1}\n":                                 `x.yaml:2: capsules.max_files: -1 cannot be negative`,
		"version: 1\nresources:\n  - {id: a, domain: builder, paths: [\"!x\"]}\n": `x.yaml:3: resources[0].paths: pattern "!x": negation is not supported`,
		"version: 1\nleases: {default_ttl: 5h}\n":                                 `leases.max_ttl: 4h0m0s is shorter than default_ttl 5h0m0s`,
		"version: 1\nsignals: {dir: ../out}\n":                                    `x.yaml:2: signals.dir: path "../out" escapes the repository root`,
		"version: 1\ncouncil: {self_approve: maybe}\n":                            `x.yaml:2: council.self_approve: "maybe" is not true or false`,
		"version: 1\nleases: [1, 2]\n":                                            `x.yaml:2: leases: expected a mapping of keys, found a list`,
		"version: 1\nversion: 1\n":                                                `x.yaml:2: duplicate key "version"`,
		"version: 1\nresources:\n  - {id: a, domain: ghost, paths: [x/]}\n":       `resources: "a" has domain "ghost", which is not a domain`,
		"version: 1\nitems: {id_prefix: \"9lives\"}\n":                            `x.yaml:2: items.id_prefix: "9lives" must start with a letter`,
		"version: 1\ndomains: {builder: {max_leases: two}}\n":                     `domains.builder.max_leases: "two" is not a whole number`,
		"version: 1\nunknown: true\n":                                             `x.yaml:2: unknown key "unknown"`,
		"version: 1\n  bad indent\n":                                              `x.yaml:`,
		"":                                                                        `version: missing`,
		"version: 1\ninvariants: [\"ring \\a\"]\n":                                `x.yaml:2: invariants[0]: holds U+0007 (BEL)`,
		"version: 1\ndomains: {builder: {description: \"\\e[2J\"}}\n":             `x.yaml:2: domains.builder.description: holds U+001B (ESC)`,
		"version: 1\ncapsules: {drift_guards: [\"a\\tb\"]}\n":                     `x.yaml:2: capsules.drift_guards[0]: holds U+0009 (tab)`,
		"version: 1\n---\nversion: 1\ncouncil: {self_approve: true}\n":            `x.yaml:2: a second YAML document starts here`,
		"version: 1\n---\n":                                                       `x.yaml:2: a second YAML document starts here`,
		"version: 1\nresources:\n  - {id: a, domain: builder, paths: [x/]}\n  - {id: a, domain: builder, paths: [y/]}\n": `id "a" appears twice`,
	}
	for src, want := range cases {
		_, err := ParseConfig("x.yaml", []byte(src))
		if err == nil || ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), want) {
			t.Errorf("config %q: error %v, want one containing %q", src, err, want)
		}
	}
}

func TestOverlappingResourcesWarn(t *testing.T) {
	src := "version: 1\nresources:\n  - {id: deploy, domain: builder, paths: [deploy/]}\n  - {id: units, domain: watcher, paths: [\"deploy/*.service\"]}\n"
	c, err := ParseConfig("x.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "deploy (builder) and units (watcher) overlap") {
		t.Errorf("warnings %v", c.Warnings)
	}
}

// A forged config cache in the state directory once replaced the committed
// policy: the state directory is not under review, the config file is. The
// forgery below is keyed exactly as that cache was (the config's bytes, the
// embedded defaults, the running binary's path, size and mtime), so any
// cache that trusts what the state directory holds would serve it.
func TestForgedConfigCacheCannotChangePolicy(t *testing.T) {
	svc := MustOpen(t)
	root := svc.Root
	src, err := os.ReadFile(filepath.Join(root, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	want, err := ParseConfig(ConfigFile, src)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	h.Write(src)
	h.Write(defaultConfigYAML)
	if exe, err := os.Executable(); err == nil {
		if fi, err := os.Stat(exe); err == nil {
			fmt.Fprintf(h, "\n%s %d %d", exe, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	forged := map[string]any{
		"key": hex.EncodeToString(h.Sum(nil)),
		"config": map[string]any{
			"Version":   1,
			"Domains":   want.Domains,
			"Agents":    map[string]string{"mallory": "scribe"},
			"Resources": []map[string]any{{"id": "storage", "domain": "gems", "paths": []string{"nothing/"}}},
			"Leases":    map[string]any{"DefaultTTL": int64(time.Hour), "MaxTTL": int64(1000 * time.Hour), "MaxHold": int64(1000 * time.Hour), "HandshakeTTL": int64(time.Hour)},
			"Capsules":  map[string]any{"Dir": "../outside", "MaxFiles": 99, "MaxFileBytes": 1 << 30},
			"Signals":   map[string]any{"Dir": ".bridges/signals"},
			"Policy":    map[string]any{"SecretPaths": []string{"nothing-is-secret"}},
			"Council":   map[string]any{"SelfApprove": true},
			"Items":     map[string]any{"IDPrefix": "WORK", "StaleAfter": int64(time.Hour)},
		},
	}
	data, err := json.Marshal(forged)
	if err != nil {
		t.Fatal(err)
	}
	layout, err := Discover(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{filepath.Join(root, StateDir), filepath.Dir(layout.DBPath())} {
		for _, name := range []string{"config-cache.json", "config.json", "config.cache"} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := LoadConfig(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"app/secrets/db.yaml", ".env"} {
		if !got.Policy.IsSecret(secret) {
			t.Errorf("%s is no longer secret: secret_paths %v came from the state directory", secret, got.Policy.SecretPaths)
		}
	}
	if !reflect.DeepEqual(got.Policy.SecretPaths, want.Policy.SecretPaths) || got.Council != want.Council || got.Leases != want.Leases ||
		got.Capsules.Dir != want.Capsules.Dir || got.Capsules.MaxFiles != want.Capsules.MaxFiles || len(got.Agents) != 0 ||
		!got.Resources[1].Covers("store/blobs/x") || got.Resources[1].Domain != "builder" {
		t.Errorf("policy taken from the state directory: secret_paths %v, council %+v, leases %+v, capsules.dir %q, agents %v",
			got.Policy.SecretPaths, got.Council, got.Leases, got.Capsules.Dir, got.Agents)
	}
}
