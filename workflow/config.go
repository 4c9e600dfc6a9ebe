package workflow

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/oxygen-tools/oxygen/store"

	"github.com/oxygen-tools/oxygen/capsules"
	"github.com/oxygen-tools/oxygen/internal/pathspec"
	"github.com/oxygen-tools/oxygen/internal/safefs"
	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"
)

// Where Oxygen keeps things, relative to the repository root.
const (
	SubstrateDir = ".substrate"
	ConfigFile   = ".substrate/oxygen.yaml"
	StateDir     = ".substrate/state"
	DBFile       = ".substrate/state/oxygen.db"
)

// defaultConfigYAML is the commented configuration that `orchestrate init`
// writes. It is also the single source of the protocol's defaults: a section
// missing from a repository's file is taken from here.
//
//go:embed default-config.yaml
var defaultConfigYAML []byte

// Config is a validated .substrate/oxygen.yaml.
type Config struct {
	Version    int
	Domains    []Domain // in file order
	Agents     map[string]string
	Invariants []string
	Resources  []Resource // in file order
	Leases     LeaseConfig
	Capsules   CapsuleConfig
	Signals    SignalConfig
	Policy     PolicyConfig
	Council    CouncilConfig
	Items      ItemConfig
	Jobs       []JobConfig // in file order
	Store      StoreConfig

	// Warnings are problems that do not stop a command, such as resource
	// globs of different domains that overlap.
	Warnings []string
}

// Domain is one owner of surfaces, with its two budgets.
type Domain struct {
	Name          string `json:"name"`
	Description   string `json:"description"`
	MaxInProgress int    `json:"max_in_progress"`
	MaxLeases     int    `json:"max_leases"`
}

// Resource is one shared resource: the paths a lease on it covers. A
// resource without paths (a port, a dev server, a GPU) is claimed and
// released like any other and is never matched by a path.
type Resource struct {
	ID          string   `json:"id"`
	Domain      string   `json:"domain"`
	Description string   `json:"description"`
	Paths       []string `json:"paths"`
	patterns    pathspec.Set
}

// Covers reports whether the root-relative path falls under the resource.
func (r Resource) Covers(rel string) bool { return r.patterns.Match(rel) }

// CoversDir reports whether the resource covers the root-relative directory
// as a whole, whatever files it holds.
func (r Resource) CoversDir(rel string) bool { return r.patterns.MatchDir(rel) }

// StoreConfig says where the store is when it is not in the repository.
type StoreConfig struct {
	// Path is a store directory shared by several clones on one machine,
	// relative to the repository root or absolute; OXYGEN_STORE wins.
	Path string
	// URL selects a PostgreSQL server store (postgres://…) shared across
	// machines; OXYGEN_STORE_URL wins. Empty means the embedded SQLite store.
	URL string
	// RepositoryID tells this repository's rows apart from every other
	// repository's on a shared server. `orchestrate init` writes it into the
	// committed oxygen.yaml, so every clone shares it.
	RepositoryID string
}

type LeaseConfig struct {
	DefaultTTL   time.Duration
	MaxTTL       time.Duration
	MaxHold      time.Duration
	HandshakeTTL time.Duration
	// Cooldown is how soon after releasing a resource a new claim by the
	// same owner still counts as the same hold for max_hold.
	Cooldown time.Duration
}

type CapsuleConfig struct {
	Dir          string
	Template     string
	MaxFiles     int
	MaxFileBytes int
	DriftGuards  []string
}

type SignalConfig struct{ Dir string }

// PolicyConfig is the guardian's policy. SecretPaths add to the built-in
// capsules.CredentialPaths, which no config can remove.
type PolicyConfig struct {
	SecretPaths []string
	secrets     pathspec.Set // compiled with pathspec.CompileSecretSet: any case, any depth
}

// IsSecret reports whether a capsule withholds rel by its name: it matches
// a built-in credential pattern or policy.secret_paths.
func (p PolicyConfig) IsSecret(rel string) bool {
	_, ok := capsules.SecretPattern(rel, p.secrets)
	return ok
}

type CouncilConfig struct {
	SelfApprove bool
	// TTL is how long a council_call may wait for an answer before it
	// expires: a call nobody answers must not keep health yellow for ever.
	TTL time.Duration
}

type ItemConfig struct {
	IDPrefix   string
	StaleAfter time.Duration
}

// JobConfig is one scheduled job. An empty Spec disables it.
type JobConfig struct {
	Name     string
	Spec     string
	Schedule cron.Schedule `json:"-"`
}

// Job names the daemon knows how to run.
const (
	JobExpireLeases = "expire-leases"
	JobAudit        = "audit"
	// JobAuditFull re-hashes the whole log: the audit job and health
	// re-hash only what came after the last verified head.
	JobAuditFull = "audit-full"
)

// KnownJobs lists the jobs in the order `orchestrate jobs` prints them.
var KnownJobs = []string{JobExpireLeases, JobAudit, JobAuditFull}

// CronParser accepts descriptors (@every 1m, @hourly) and crontab lines with
// five fields or six (leading seconds).
var CronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Domain returns the named domain.
func (c *Config) Domain(name string) (Domain, bool) {
	for _, d := range c.Domains {
		if d.Name == name {
			return d, true
		}
	}
	return Domain{}, false
}

// DomainNames lists the domains in file order.
func (c *Config) DomainNames() []string {
	names := make([]string, len(c.Domains))
	for i, d := range c.Domains {
		names[i] = d.Name
	}
	return names
}

// Resource returns the resource with the given id.
func (c *Config) Resource(id string) (Resource, bool) {
	for _, r := range c.Resources {
		if r.ID == id {
			return r, true
		}
	}
	return Resource{}, false
}

// ResourcesFor lists the resources whose paths cover rel.
func (c *Config) ResourcesFor(rel string) []Resource {
	var out []Resource
	for _, r := range c.Resources {
		if r.Covers(rel) {
			out = append(out, r)
		}
	}
	return out
}

// Job returns the named job's configuration.
func (c *Config) Job(name string) (JobConfig, bool) {
	for _, j := range c.Jobs {
		if j.Name == name {
			return j, true
		}
	}
	return JobConfig{}, false
}

// LoadConfig reads and validates the configuration of the repository at root.
// It parses the committed file on every call. A validated copy was once
// cached in the state directory to save the parse, but the state directory
// is not reviewed the way the committed file is, and anyone who could write
// there could replace the policy (secret_paths, budgets, self-approval) with
// a forged copy; the parse costs about 0.3 ms (docs/PERFORMANCE.md).
func LoadConfig(root string) (*Config, error) {
	file := filepath.Join(root, ConfigFile)
	src, err := readConfigFile(root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, Errorf(EINVALID, "%s: missing (run orchestrate init)", file)
		}
		return nil, Errorf(EINVALID, "%s: %v", file, err)
	}
	return ParseConfig(file, src)
}

// maxConfigBytes bounds what a command reads of a config file.
const maxConfigBytes = 1 << 20

// readConfigFile reads root's config without leaving root: a config
// symlinked to a file elsewhere would otherwise have its lines quoted back
// in parse errors.
func readConfigFile(root string) ([]byte, error) {
	r, err := safefs.Open(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.ReadFile(ConfigFile, maxConfigBytes)
}

// DefaultConfig is the configuration init writes, already validated.
func DefaultConfig() *Config {
	c, err := ParseConfig("default-config.yaml", defaultConfigYAML)
	if err != nil {
		panic(err) // the embedded file is covered by tests
	}
	return c
}

// ParseConfig decodes and validates a configuration file's contents. file is
// used only in error messages.
func ParseConfig(file string, src []byte) (*Config, error) {
	top, err := parseYAMLDocument(file, src)
	if err != nil {
		return nil, err
	}
	d := &yamlDecoder{file: file}
	c := &Config{Agents: map[string]string{}}
	present := map[string]bool{}
	lines := map[string]int{}
	mark := func(n *yaml.Node, path string) { lines[path] = n.Line; present[path] = true }

	d.fields(top, "", map[string]func(*yaml.Node, string){
		"version": func(n *yaml.Node, p string) { mark(n, p); c.Version = d.int(n, p) },
		"domains": func(n *yaml.Node, p string) {
			mark(n, p)
			d.pairs(n, p, func(name string, k, v *yaml.Node, p string) {
				dom := Domain{Name: name, MaxInProgress: 2, MaxLeases: 2}
				if !validName(name) {
					d.failf(k, p, "domain names are lower-case letters, digits, - and _ (at most 32)")
					return
				}
				d.fields(v, p, map[string]func(*yaml.Node, string){
					"description":     func(n *yaml.Node, p string) { dom.Description = d.line(n, p) },
					"max_in_progress": func(n *yaml.Node, p string) { dom.MaxInProgress = d.nonNegative(n, p) },
					"max_leases":      func(n *yaml.Node, p string) { dom.MaxLeases = d.nonNegative(n, p) },
				})
				c.Domains = append(c.Domains, dom)
				lines["domain:"+name] = k.Line
			})
			if d.err == nil && len(c.Domains) == 0 {
				d.failf(n, p, "at least one domain is needed")
			}
		},
		"agents": func(n *yaml.Node, p string) {
			mark(n, p)
			d.pairs(n, p, func(owner string, k, v *yaml.Node, p string) {
				if !validOwner(owner) {
					d.failf(k, p, "owner names are letters, digits and . _ @ + - (at most 64)")
					return
				}
				c.Agents[owner] = d.str(v, p)
				lines["agent:"+owner] = v.Line
			})
		},
		"invariants": func(n *yaml.Node, p string) {
			mark(n, p)
			c.Invariants = d.lines(n, p)
			for i, s := range c.Invariants {
				if strings.TrimSpace(s) == "" {
					d.failf(n, fmt.Sprintf("%s[%d]", p, i), "an invariant cannot be empty")
				}
			}
		},
		"resources": func(n *yaml.Node, p string) {
			mark(n, p)
			c.Resources = []Resource{}
			d.items(n, p, func(i int, v *yaml.Node, p string) {
				var r Resource
				d.fields(v, p, map[string]func(*yaml.Node, string){
					"id":          func(n *yaml.Node, p string) { r.ID = d.str(n, p) },
					"domain":      func(n *yaml.Node, p string) { r.Domain = d.str(n, p) },
					"description": func(n *yaml.Node, p string) { r.Description = d.line(n, p) },
					"paths":       func(n *yaml.Node, p string) { r.Paths = d.strs(n, p) },
				})
				if d.err != nil {
					return
				}
				if !validName(r.ID) {
					d.failf(v, p+".id", "%q: resource ids are lower-case letters, digits, - and _ (at most 32)", r.ID)
					return
				}
				if r.Paths == nil {
					r.Paths = []string{} // a port, a dev server, a GPU: leased, never matched by a path
				}
				set, err := pathspec.CompileSet(r.Paths)
				if err != nil {
					d.failf(v, p+".paths", "%v", err)
					return
				}
				r.patterns = set
				lines["resource:"+r.ID] = v.Line
				lines["resource-domain:"+r.ID] = v.Line
				c.Resources = append(c.Resources, r)
			})
		},
		"leases": func(n *yaml.Node, p string) {
			mark(n, p)
			d.fields(n, p, map[string]func(*yaml.Node, string){
				"default_ttl":   func(n *yaml.Node, p string) { mark(n, p); c.Leases.DefaultTTL = d.duration(n, p) },
				"max_ttl":       func(n *yaml.Node, p string) { mark(n, p); c.Leases.MaxTTL = d.duration(n, p) },
				"max_hold":      func(n *yaml.Node, p string) { mark(n, p); c.Leases.MaxHold = d.duration(n, p) },
				"handshake_ttl": func(n *yaml.Node, p string) { mark(n, p); c.Leases.HandshakeTTL = d.duration(n, p) },
				"cooldown":      func(n *yaml.Node, p string) { mark(n, p); c.Leases.Cooldown = d.duration(n, p) },
			})
		},
		"capsules": func(n *yaml.Node, p string) {
			mark(n, p)
			d.fields(n, p, map[string]func(*yaml.Node, string){
				"dir":            func(n *yaml.Node, p string) { mark(n, p); c.Capsules.Dir = d.relDir(n, p) },
				"template":       func(n *yaml.Node, p string) { mark(n, p); c.Capsules.Template = d.optionalRel(n, p) },
				"max_files":      func(n *yaml.Node, p string) { mark(n, p); c.Capsules.MaxFiles = d.nonNegative(n, p) },
				"max_file_bytes": func(n *yaml.Node, p string) { mark(n, p); c.Capsules.MaxFileBytes = d.positive(n, p) },
				"drift_guards":   func(n *yaml.Node, p string) { mark(n, p); c.Capsules.DriftGuards = d.lines(n, p) },
			})
		},
		"store": func(n *yaml.Node, p string) {
			mark(n, p)
			d.fields(n, p, map[string]func(*yaml.Node, string){
				"path":          func(n *yaml.Node, p string) { mark(n, p); c.Store.Path = d.str(n, p) },
				"url":           func(n *yaml.Node, p string) { mark(n, p); c.Store.URL = d.str(n, p) },
				"repository_id": func(n *yaml.Node, p string) { mark(n, p); c.Store.RepositoryID = d.str(n, p) },
			})
		},
		"signals": func(n *yaml.Node, p string) {
			mark(n, p)
			d.fields(n, p, map[string]func(*yaml.Node, string){
				"dir": func(n *yaml.Node, p string) { mark(n, p); c.Signals.Dir = d.relDir(n, p) },
			})
		},
		"policy": func(n *yaml.Node, p string) {
			mark(n, p)
			d.fields(n, p, map[string]func(*yaml.Node, string){
				"secret_paths": func(n *yaml.Node, p string) {
					mark(n, p)
					c.Policy.SecretPaths = d.strs(n, p)
					if d.err != nil {
						return
					}
					set, err := pathspec.CompileSecretSet(c.Policy.SecretPaths)
					if err != nil {
						d.failf(n, p, "%v", err)
					}
					c.Policy.secrets = set
				},
			})
		},
		"council": func(n *yaml.Node, p string) {
			mark(n, p)
			d.fields(n, p, map[string]func(*yaml.Node, string){
				"self_approve": func(n *yaml.Node, p string) { mark(n, p); c.Council.SelfApprove = d.bool(n, p) },
				"ttl":          func(n *yaml.Node, p string) { mark(n, p); c.Council.TTL = d.duration(n, p) },
			})
		},
		"items": func(n *yaml.Node, p string) {
			mark(n, p)
			d.fields(n, p, map[string]func(*yaml.Node, string){
				"id_prefix": func(n *yaml.Node, p string) {
					mark(n, p)
					c.Items.IDPrefix = d.str(n, p)
					if d.err == nil && !validIDPrefix(c.Items.IDPrefix) {
						d.failf(n, p, "%q must start with a letter and hold only letters, digits, . _ - (at most 56)", c.Items.IDPrefix)
					}
				},
				"stale_after": func(n *yaml.Node, p string) { mark(n, p); c.Items.StaleAfter = d.duration(n, p) },
			})
		},
		"jobs": func(n *yaml.Node, p string) {
			mark(n, p)
			c.Jobs = []JobConfig{}
			d.pairs(n, p, func(name string, k, v *yaml.Node, p string) {
				if !contains(KnownJobs, name) {
					d.failf(k, p, "unknown job (known jobs: %s)", strings.Join(KnownJobs, ", "))
					return
				}
				j := JobConfig{Name: name, Spec: strings.TrimSpace(d.str(v, p))}
				if j.Spec != "" {
					sched, err := CronParser.Parse(j.Spec)
					if err != nil {
						d.failf(v, p, "%q is not a cron schedule: %v", j.Spec, err)
						return
					}
					j.Schedule = sched
				}
				c.Jobs = append(c.Jobs, j)
			})
		},
	})
	if d.err != nil {
		return nil, d.err
	}
	if !present["version"] {
		d.failf(top, "version", "missing; this tool reads version 1")
		return nil, d.err
	}
	if c.Version != 1 {
		return nil, Errorf(EINVALID, "%s:%d: version: %d is not supported; this tool reads version 1", file, lines["version"], c.Version)
	}
	if err := c.fillDefaults(present); err != nil {
		return nil, err
	}
	if err := c.validate(file, lines); err != nil {
		return nil, err
	}
	c.Warnings = c.overlapWarnings()
	if store.URLHasPassword(c.Store.URL) {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%s:%d: store.url carries a password in a committed file: move it to PGPASSWORD or ~/.pgpass, or set OXYGEN_STORE_URL", file, lines["store.url"]))
	}
	return c, nil
}

func (d *yamlDecoder) nonNegative(n *yaml.Node, path string) int {
	v := d.int(n, path)
	if d.err == nil && v < 0 {
		d.failf(n, path, "%d cannot be negative", v)
	}
	return v
}

func (d *yamlDecoder) positive(n *yaml.Node, path string) int {
	v := d.int(n, path)
	if d.err == nil && v < 1 {
		d.failf(n, path, "%d must be at least 1", v)
	}
	return v
}

func (d *yamlDecoder) relDir(n *yaml.Node, path string) string {
	v := d.str(n, path)
	if d.err != nil {
		return ""
	}
	clean, err := pathspec.CleanRel(v)
	if err != nil {
		d.failf(n, path, "%v", err)
	}
	return clean
}

func (d *yamlDecoder) optionalRel(n *yaml.Node, path string) string {
	if strings.TrimSpace(d.str(n, path)) == "" {
		return ""
	}
	return d.relDir(n, path)
}

// fillDefaults takes every section the file leaves out from the embedded
// defaults, parsing them only when something is actually missing.
func (c *Config) fillDefaults(present map[string]bool) error {
	var def *Config
	get := func() *Config {
		if def == nil {
			def = DefaultConfig()
		}
		return def
	}
	if !present["domains"] {
		c.Domains = get().Domains
	}
	if !present["invariants"] {
		c.Invariants = get().Invariants
	}
	if !present["resources"] {
		c.Resources = get().Resources
	}
	fill := func(key string, set func()) {
		if !present[key] {
			set()
		}
	}
	fill("leases.default_ttl", func() { c.Leases.DefaultTTL = 30 * time.Minute })
	fill("leases.max_ttl", func() { c.Leases.MaxTTL = 4 * time.Hour })
	fill("leases.max_hold", func() { c.Leases.MaxHold = 8 * time.Hour })
	fill("leases.handshake_ttl", func() { c.Leases.HandshakeTTL = 24 * time.Hour })
	fill("leases.cooldown", func() { c.Leases.Cooldown = 5 * time.Minute })
	fill("capsules.dir", func() { c.Capsules.Dir = ".substrate/capsules" })
	fill("capsules.max_files", func() { c.Capsules.MaxFiles = 5 })
	fill("capsules.max_file_bytes", func() { c.Capsules.MaxFileBytes = 65536 })
	fill("capsules.drift_guards", func() { c.Capsules.DriftGuards = get().Capsules.DriftGuards })
	fill("signals.dir", func() { c.Signals.Dir = ".bridges/signals" })
	fill("policy.secret_paths", func() { c.Policy = get().Policy })
	fill("items.id_prefix", func() { c.Items.IDPrefix = "WORK" })
	fill("items.stale_after", func() { c.Items.StaleAfter = 72 * time.Hour })
	fill("council.ttl", func() { c.Council.TTL = 24 * time.Hour })
	fill("jobs", func() { c.Jobs = get().Jobs })
	return nil
}

func (c *Config) validate(file string, lines map[string]int) error {
	bad := func(key, format string, args ...any) error {
		line := lines[key]
		if line == 0 {
			line = lines[strings.SplitN(key, ".", 2)[0]]
		}
		return Errorf(EINVALID, "%s:%d: %s", file, line, fmt.Sprintf(format, args...))
	}
	for owner, dom := range c.Agents {
		if _, ok := c.Domain(dom); !ok {
			return bad("agent:"+owner, "agents.%s: %q is not a domain (domains: %s)", owner, dom, strings.Join(c.DomainNames(), ", "))
		}
	}
	seen := map[string]bool{}
	for _, r := range c.Resources {
		if seen[r.ID] {
			return bad("resource:"+r.ID, "resources: id %q appears twice", r.ID)
		}
		seen[r.ID] = true
		if _, ok := c.Domain(r.Domain); !ok {
			return bad("resource-domain:"+r.ID, "resources: %q has domain %q, which is not a domain (domains: %s)", r.ID, r.Domain, strings.Join(c.DomainNames(), ", "))
		}
	}
	if id := c.Store.RepositoryID; id != "" && !store.ValidRepositoryID(id) {
		return bad("store.repository_id", "store.repository_id: %q is not a repository id (8 to 40 lower-case letters and digits; orchestrate init writes one)", id)
	}
	if u := c.Store.URL; u != "" && !store.IsServerURL(u) {
		return bad("store.url", "store.url: %s is not a postgres:// URL", store.RedactURL(u))
	}
	l := c.Leases
	if l.DefaultTTL < time.Second {
		return bad("leases.default_ttl", "leases.default_ttl: %s is shorter than 1s", l.DefaultTTL)
	}
	if l.MaxTTL < l.DefaultTTL {
		return bad("leases.max_ttl", "leases.max_ttl: %s is shorter than default_ttl %s", l.MaxTTL, l.DefaultTTL)
	}
	if l.MaxHold < l.MaxTTL {
		return bad("leases.max_hold", "leases.max_hold: %s is shorter than max_ttl %s", l.MaxHold, l.MaxTTL)
	}
	if c.Capsules.Dir == "" {
		return bad("capsules.dir", "capsules.dir: cannot be empty")
	}
	if c.Signals.Dir == "" {
		return bad("signals.dir", "signals.dir: cannot be empty")
	}
	return nil
}

// overlapWarnings names pairs of resources of different domains whose globs
// can match the same path: ownership of such a path would be ambiguous.
func (c *Config) overlapWarnings() []string {
	var out []string
	for i, a := range c.Resources {
		for _, b := range c.Resources[i+1:] {
			if a.Domain == b.Domain {
				continue
			}
		pairs:
			for _, pa := range a.patterns {
				for _, pb := range b.patterns {
					if w, ok := pathspec.Witness(pa, pb); ok {
						out = append(out, fmt.Sprintf("resources %s (%s) and %s (%s) overlap: %q and %q can match the same path, such as %s", a.ID, a.Domain, b.ID, b.Domain, pa.Source, pb.Source, w))
						break pairs
					}
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
