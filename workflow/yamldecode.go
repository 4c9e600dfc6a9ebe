package workflow

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/oxygen-tools/oxygen/internal/textcheck"
	"go.yaml.in/yaml/v3"
)

// yamlDecoder walks a yaml.Node tree by hand instead of unmarshalling into
// structs, so that every error can name the file, the full key path and the
// line, and so that unknown keys are refused rather than ignored.
type yamlDecoder struct {
	file string
	err  error
}

func (d *yamlDecoder) failf(n *yaml.Node, path, format string, args ...any) {
	if d.err != nil {
		return
	}
	line := 0
	if n != nil {
		line = n.Line
	}
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	d.err = Errorf(EINVALID, "%s:%d: %s", d.file, line, msg)
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fields decodes a mapping whose keys must all be known. Handlers run in the
// order the keys appear in the file.
func (d *yamlDecoder) fields(n *yaml.Node, path string, handlers map[string]func(v *yaml.Node, path string)) {
	n = deref(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.failf(n, path, "expected a mapping of keys, found %s", kindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		h, ok := handlers[key]
		if !ok {
			known := make([]string, 0, len(handlers))
			for name := range handlers {
				known = append(known, name)
			}
			sort.Strings(known)
			d.failf(k, "", "unknown key %q (known keys: %s)", join(path, key), strings.Join(known, ", "))
			return
		}
		if seen[key] {
			d.failf(k, "", "duplicate key %q", join(path, key))
			return
		}
		seen[key] = true
		h(v, join(path, key))
		if d.err != nil {
			return
		}
	}
}

// pairs iterates a mapping with free-form keys, in file order.
func (d *yamlDecoder) pairs(n *yaml.Node, path string, fn func(key string, k, v *yaml.Node, path string)) {
	n = deref(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.failf(n, path, "expected a mapping, found %s", kindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			d.failf(k, "", "duplicate key %q", join(path, k.Value))
			return
		}
		seen[k.Value] = true
		fn(k.Value, k, v, join(path, k.Value))
		if d.err != nil {
			return
		}
	}
}

// items iterates a sequence.
func (d *yamlDecoder) items(n *yaml.Node, path string, fn func(i int, v *yaml.Node, path string)) {
	n = deref(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.failf(n, path, "expected a list, found %s", kindName(n))
		return
	}
	for i, v := range n.Content {
		fn(i, v, fmt.Sprintf("%s[%d]", path, i))
		if d.err != nil {
			return
		}
	}
}

func (d *yamlDecoder) scalar(n *yaml.Node, path string) (*yaml.Node, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode {
		d.failf(n, path, "expected a single value, found %s", kindName(n))
		return nil, false
	}
	return n, true
}

func (d *yamlDecoder) str(n *yaml.Node, path string) string {
	if isNull(deref(n)) {
		return ""
	}
	s, ok := d.scalar(n, path)
	if !ok {
		return ""
	}
	return s.Value
}

func (d *yamlDecoder) int(n *yaml.Node, path string) int {
	s, ok := d.scalar(n, path)
	if !ok {
		return 0
	}
	v, err := strconv.Atoi(s.Value)
	if err != nil || s.Tag != "!!int" {
		d.failf(s, path, "%q is not a whole number", s.Value)
		return 0
	}
	return v
}

func (d *yamlDecoder) bool(n *yaml.Node, path string) bool {
	s, ok := d.scalar(n, path)
	if !ok {
		return false
	}
	if s.Tag != "!!bool" {
		d.failf(s, path, "%q is not true or false", s.Value)
		return false
	}
	return s.Value == "true" || s.Value == "True" || s.Value == "TRUE"
}

func (d *yamlDecoder) duration(n *yaml.Node, path string) time.Duration {
	s, ok := d.scalar(n, path)
	if !ok {
		return 0
	}
	v, err := time.ParseDuration(s.Value)
	if err != nil {
		d.failf(s, path, "%q is not a duration (write it like 90s, 30m or 4h)", s.Value)
		return 0
	}
	if v <= 0 {
		d.failf(s, path, "%q must be positive", s.Value)
	}
	return v
}

func (d *yamlDecoder) strs(n *yaml.Node, path string) []string { return d.list(n, path, d.str) }

// line decodes one line of free text, refusing control characters as the
// commands do: descriptions and invariants are printed and put in capsules.
func (d *yamlDecoder) line(n *yaml.Node, path string) string {
	v := d.str(n, path)
	if p := textProblem(v, textcheck.Line); p != "" {
		d.failf(n, path, "%s", p)
	}
	return v
}

// lines is strs for lists of free text.
func (d *yamlDecoder) lines(n *yaml.Node, path string) []string { return d.list(n, path, d.line) }

// list decodes a sequence with one, element by element.
func (d *yamlDecoder) list(n *yaml.Node, path string, one func(*yaml.Node, string) string) []string {
	out := []string{}
	d.items(n, path, func(_ int, v *yaml.Node, p string) {
		out = append(out, one(v, p))
	})
	return out
}

func kindName(n *yaml.Node) string {
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return fmt.Sprintf("the value %q", n.Value)
	default:
		return "something else"
	}
}

// parseYAMLDocument parses src and returns the top-level node of its single
// document. A file holding a second document ("---") is refused rather than
// read up to the first: whoever appended the second one meant it to count,
// and silently ignoring it would let the file say two things at once.
func parseYAMLDocument(file string, src []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlSyntaxError(file, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	var second yaml.Node
	switch err := dec.Decode(&second); {
	case errors.Is(err, io.EOF):
		return doc.Content[0], nil
	case err != nil:
		return nil, yamlSyntaxError(file, err)
	}
	return nil, Errorf(EINVALID, "%s:%d: a second YAML document starts here; this file must hold one document: remove the \"---\" separator and merge or delete what follows", file, second.Line)
}

// yamlSyntaxError turns the parser's "yaml: line N: msg" into file:N: msg.
func yamlSyntaxError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if strings.HasPrefix(msg, "line ") {
		if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
			msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
		}
	}
	return Errorf(EINVALID, "%s:%d: %s", file, line, msg)
}
