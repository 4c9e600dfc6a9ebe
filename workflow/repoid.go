package workflow

import (
	"bytes"
	"fmt"

	"github.com/oxygen-tools/oxygen/internal/safefs"
	"go.yaml.in/yaml/v3"
)

// ensureRepositoryID gives the repository's committed oxygen.yaml a
// store.repository_id if it has none, editing the text in place so every
// comment and key the team wrote stays as it was. It returns the id added,
// "" when there already was one.
func ensureRepositoryID(root *safefs.Root) (string, error) {
	data, err := root.ReadFile(ConfigFile, maxConfigBytes)
	if err != nil {
		return "", Errorf(EINVALID, "read %s: %v", ConfigFile, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return "", nil // LoadConfig reports what is wrong with it
	}
	top := doc.Content[0]
	id := newRepositoryID()
	var out []byte
	storeNode := mapValue(top, "store")
	switch {
	case storeNode == nil:
		// A new store: section goes right after version:, where a reader
		// of the file meets it first, leaving the sections below (and
		// whatever a team appends at the end) as they were.
		block := fmt.Sprintf("# Tells this repository's rows apart on a shared store server; written by\n# orchestrate init. Commit it so every clone shares it.\nstore:\n  repository_id: %s\n", id)
		out = insertAfterKey(data, top, "version", block)
	case mapValue(storeNode, "repository_id") != nil:
		return "", nil
	case storeNode.Kind == yaml.MappingNode && storeNode.Style&yaml.FlowStyle == 0 && len(storeNode.Content) > 0:
		first := storeNode.Content[0]
		lines := bytes.SplitAfter(data, []byte("\n"))
		at := first.Line - 1
		line := fmt.Sprintf("%*srepository_id: %s\n", first.Column-1, "", id)
		out = bytes.Join(append(lines[:at:at], append([][]byte{[]byte(line)}, lines[at:]...)...), nil)
	default:
		return "", Errorf(EINVALID, "%s: store is not a block mapping; add `repository_id: %s` under store: by hand", ConfigFile, id)
	}
	if err := root.WriteAtomic(ConfigFile, out, 0o644, "repoid"); err != nil {
		return "", Errorf(EINTERNAL, "write %s: %v", ConfigFile, err)
	}
	return id, nil
}

// mapValue is the value node of key in a mapping node, nil if absent.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// insertAfterKey inserts text after the line of the top-level key (at the
// start of the file when there is none).
func insertAfterKey(data []byte, top *yaml.Node, key, text string) []byte {
	at := 0
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == key && top.Content[i+1].Kind == yaml.ScalarNode {
			at = top.Content[i].Line
		}
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	if at > len(lines) {
		at = len(lines)
	}
	head := bytes.Join(lines[:at], nil)
	if len(head) > 0 && !bytes.HasSuffix(head, []byte("\n")) {
		head = append(head, '\n')
	}
	return append(append(append([]byte{}, head...), text...), bytes.Join(lines[at:], nil)...)
}
