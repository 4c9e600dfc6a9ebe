package workflow

import (
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
	if len(c.Jobs) != 2 || c.Jobs[0].Schedule == nil {
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

// The cache must give back a config that behaves like the parsed one, and
// must not survive an edit of the file.
func TestConfigCache(t *testing.T) {
	svc := MustOpen(t)
	root := svc.Root
	first, err := LoadConfig(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, StateDir, configCacheFile)); err != nil {
		t.Fatalf("no cache written: %v", err)
	}
	cached, err := LoadConfig(root)
	if err != nil {
		t.Fatal(err)
	}
	if !cached.Resources[0].Covers("tools/plan-registry/schema.yaml") || !cached.Policy.IsSecret(".env") || cached.Jobs[0].Schedule == nil {
		t.Error("the cached config lost its compiled patterns or schedules")
	}
	if !reflect.DeepEqual(first.Leases, cached.Leases) || !reflect.DeepEqual(first.DomainNames(), cached.DomainNames()) {
		t.Error("the cached config differs")
	}
	path := filepath.Join(root, ConfigFile)
	src, _ := os.ReadFile(path)
	edited := strings.Replace(string(src), "default_ttl: 30m", "default_ttl: 12m", 1)
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	after, err := LoadConfig(root)
	if err != nil {
		t.Fatal(err)
	}
	if after.Leases.DefaultTTL != 12*time.Minute {
		t.Errorf("stale cache: default_ttl %s after the edit", after.Leases.DefaultTTL)
	}
	if err := os.WriteFile(path, []byte(edited+"bogus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(root); err == nil {
		t.Error("an invalid config was served from the cache")
	}
}
