package capsules

import (
	"bytes"
	"fmt"
	"io/fs"
	"strings"
	"text/template"

	"github.com/oxygen-tools/oxygen/internal/safefs"
	"github.com/oxygen-tools/oxygen/templates"
)

// Data is everything a capsule template can show. Every list is already in
// its final order, so the same Data always renders the same bytes.
type Data struct {
	Title     string
	ID        string
	Kind      string
	Domain    string
	Priority  string
	Status    string
	Owner     string
	Generated string // RFC 3339 UTC, whole seconds; empty in the drift key render

	Objective  string
	InScope    []string
	OutOfScope []string
	Invariants []string // the global ones, then the item's own

	Dependencies []Dependency

	Files    []string // the item's touch points
	Commands []string

	Resources []ResourceLease

	Health        string // what `orchestrate health` says, with its reasons
	HealthReasons []string
	ItemsByStatus []StatusCount
	ActiveLeases  []LeaseLine
	// Signals name the item, or are addressed to its domain and name no
	// other item: the newest, oldest first; SignalsOmitted counts the rest.
	Signals        []SignalLine
	SignalsOmitted int

	DriftGuards []string
	AskCommand  string // the council question the drift guards point to

	DoneCommand     string
	ReleaseCommands []string // one per resource the touch points fall under
	HandoffCommands []string // a missive to each domain waiting on the item, else its own

	Embedded []File
}

// Dependency is an item this one depends on, and how it was finished.
type Dependency struct {
	ID           string
	Title        string
	Status       string
	Owner        string
	By           string // who made its latest move
	At           string // when
	Verification string // of a completion: passed, skipped, or ""
	Note         string // the reason given with its latest move; "" when none
}

// SignalLine is one signal, in a line.
type SignalLine struct {
	ID      int64
	Kind    string // council_call (question) for a question
	From    string // owner (domain)
	To      string
	At      string
	Excerpt string // the body's first line, cut to a readable length
}

// ResourceLease is a resource a touch point falls under, with its holder.
type ResourceLease struct {
	ID               string
	Domain           string
	Holder           string // "" when free
	Token            int64
	ExpiresAt        string
	ClaimCommand     string
	NeedsHandshake   bool
	HandshakeCommand string
}

// StatusCount is one store figure.
type StatusCount struct {
	Status string
	Count  int
}

// LeaseLine is one active lease.
type LeaseLine struct {
	Resource  string
	Owner     string
	Domain    string
	Token     int64
	ExpiresAt string
}

// Template is a parsed capsule template and where it came from.
type Template struct {
	Name   string // what errors call it: a root-relative path or the built-in name
	Source string // "builtin" or the root-relative path
	SHA256 string // of the template text
	// Withheld is the repository's template when the embedding policy kept
	// it out (a symlink leading outside, a secret, a hard link, ...): the
	// built-in template is used instead, and the capsule lists this entry.
	Withheld *File
	tmpl     *template.Template
}

// RepoTemplateFile is the override a repository may provide.
const RepoTemplateFile = ".substrate/templates/capsule.md.tmpl"

// LoadTemplate picks the template: configured (a root-relative path), else
// the repository override if present, else the built-in one. The file is
// read under the same policy as embedded files, since whatever it holds ends
// up in every capsule; one the policy withholds is replaced by the built-in
// template and reported in Withheld. A configured template that is missing,
// or one that does not parse, is an error naming the file (and line).
func LoadTemplate(root, configured string, p Policy) (*Template, error) {
	name, text := templates.CapsuleName, templates.Capsule
	source := "builtin"
	rel := configured
	if rel == "" {
		rel = RepoTemplateFile
	}
	r, err := safefs.Open(root)
	if err != nil {
		return nil, &TemplateError{Name: rel, Err: err}
	}
	f, data := Inspect(r, rel, p)
	r.Close()
	var withheld *File
	switch {
	case f.Status == Missing && configured == "":
	case f.Status == Missing:
		return nil, &TemplateError{Name: rel, Err: fs.ErrNotExist}
	case f.Status == Embedded:
		name, text, source = rel, string(data), rel
	default:
		why := strings.TrimPrefix(f.Note, "withheld: ")
		switch f.Status {
		case Truncated:
			why = fmt.Sprintf("is larger than capsules.max_file_bytes (%d bytes)", f.Size)
		case Binary:
			why = "is not text"
		}
		withheld = &File{Path: rel, Status: Withheld, Size: f.Size, SHA256: f.SHA256,
			Note: "withheld: the capsule template " + why + "; the built-in template was used"}
	}
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, &TemplateError{Name: name, Err: err}
	}
	return &Template{Name: name, Source: source, SHA256: Hash([]byte(text)), Withheld: withheld, tmpl: t}, nil
}

// TemplateError is a template that cannot be read, parsed or executed. Go's
// template errors already carry "name:line".
type TemplateError struct {
	Name string
	Err  error
}

func (e *TemplateError) Error() string {
	msg := strings.TrimPrefix(e.Err.Error(), "template: ")
	if !strings.HasPrefix(msg, e.Name) {
		msg = e.Name + ": " + msg
	}
	return "capsule template " + msg
}

// Render executes the template on data.
func (t *Template) Render(data Data) ([]byte, error) {
	var buf bytes.Buffer
	if err := t.tmpl.Execute(&buf, data); err != nil {
		return nil, &TemplateError{Name: t.Name, Err: err}
	}
	return buf.Bytes(), nil
}

// Rendered is a capsule's bytes and its drift key: the hash of the same
// capsule rendered without a generation time, so that regenerating an
// unchanged capsule can be recognised whatever the template prints.
type Rendered struct {
	Content []byte
	Key     string
}

// RenderCapsule renders data twice: as it will be stored, and with an empty
// Generated field for the key.
func (t *Template) RenderCapsule(data Data) (*Rendered, error) {
	content, err := t.Render(data)
	if err != nil {
		return nil, err
	}
	data.Generated = ""
	keyed, err := t.Render(data)
	if err != nil {
		return nil, err
	}
	return &Rendered{Content: content, Key: Hash(keyed)}, nil
}

// DefaultInScope and DefaultOutOfScope fill empty boundaries, as the
// protocol's own capsules do.
var (
	DefaultInScope    = []string{"Execute this work item exactly as written."}
	DefaultOutOfScope = []string{"Redesign unrelated systems or expand scope without a new item."}
)

// ExpandGuard fills {max_files} and {ask} (the command that asks the
// council about the item) in a drift guard.
func ExpandGuard(guard string, maxFiles int, ask string) string {
	return strings.NewReplacer("{max_files}", fmt.Sprint(maxFiles), "{ask}", ask).Replace(guard)
}

// excerptRunes bounds a signal's excerpt.
const excerptRunes = 100

// Excerpt is the first line of body, cut at excerptRunes with an ellipsis;
// one cut short, or followed by more lines, ends in "…".
func Excerpt(body string) string {
	line, rest, more := strings.Cut(strings.TrimSpace(body), "\n")
	line = strings.TrimSpace(line)
	if r := []rune(line); len(r) > excerptRunes {
		return strings.TrimSpace(string(r[:excerptRunes])) + "…"
	}
	if more && strings.TrimSpace(rest) != "" {
		return line + " …"
	}
	return line
}
