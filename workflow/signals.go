package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/oxygen-tools/oxygen/internal/pathspec"
	"github.com/oxygen-tools/oxygen/internal/safefs"
	"github.com/oxygen-tools/oxygen/store"
)

// Signal kinds, as the protocol names them.
const (
	KindMissive      = "missive"
	KindCouncilCall  = "council_call"
	KindProclamation = "proclamation"
	KindHandshake    = "handshake"
	KindDeadEnd      = "dead_end"
)

// SignalKinds lists every kind.
var SignalKinds = []string{KindMissive, KindCouncilCall, KindProclamation, KindHandshake, KindDeadEnd}

// ToAll addresses a signal to every domain.
const ToAll = "all"

// Signal is an explicit handoff between domains. Signals are immutable.
type Signal struct {
	ID         int64    `json:"id"`
	Kind       string   `json:"kind"`
	Topic      string   `json:"topic"`
	From       string   `json:"from"`
	FromDomain string   `json:"from_domain"`
	To         string   `json:"to"`
	Item       string   `json:"item"`
	Resource   string   `json:"resource"`
	Body       string   `json:"body"`
	Refs       []string `json:"refs"`
	CreatedAt  Time     `json:"created_at"`
	File       string   `json:"file"`
	// Question marks a council_call that asks instead of asking to exceed
	// a cap (council call --question): it has no approval and no use.
	Question bool `json:"question,omitempty"`
}

// SignalSpec is a signal to send. Topic defaults to the item, else the
// resource, else "general"; To defaults to "all".
type SignalSpec struct {
	Kind       string
	From       string
	FromDomain string
	To         string
	Topic      string
	Item       string
	Resource   string
	Body       string
	Refs       []string
	Question   bool
}

// validate checks what can be checked without the store.
func (spec *SignalSpec) validate(cfg *Config) error {
	if !contains(SignalKinds, spec.Kind) {
		if spec.Kind == "" {
			return Errorf(EINVALID, "--kind is required (kinds: %s)", strings.Join(SignalKinds, ", "))
		}
		return Errorf(EINVALID, "--kind %q is not a signal kind (kinds: %s)", spec.Kind, strings.Join(SignalKinds, ", "))
	}
	if spec.To == "" {
		spec.To = ToAll
	}
	if _, ok := cfg.Domain(spec.To); !ok && spec.To != ToAll {
		return Errorf(EINVALID, "--to %q is neither a domain nor all (domains: %s)", spec.To, strings.Join(cfg.DomainNames(), ", "))
	}
	if spec.Kind == KindHandshake {
		// A handshake opens one domain's resource to another: it names
		// the resource, goes to the domain that owns it, and says what
		// will change.
		r, ok := cfg.Resource(spec.Resource)
		switch {
		case spec.Resource == "":
			return Errorf(EINVALID, "a handshake opens one resource: pass --resource ID (see oxygen resources)")
		case !ok:
			return unknownResource(cfg, spec.Resource)
		case spec.To == ToAll || spec.To != r.Domain:
			return Errorf(EINVALID, "a handshake for %s goes to the domain that owns it: pass --to %s", r.ID, r.Domain)
		case strings.TrimSpace(spec.Body) == "":
			return Errorf(EINVALID, "a handshake says what will change: pass --body \"what you will change and why\"")
		}
	}
	if spec.Kind == KindCouncilCall && spec.Item == "" {
		return Errorf(EINVALID, "a council_call is about an item: pass --item ID")
	}
	if spec.Question && spec.Kind != KindCouncilCall {
		return Errorf(EINVALID, "only a council_call can be a question")
	}
	if spec.Item != "" && !validItemID(spec.Item) {
		return Errorf(EINVALID, "--item %q is not an item id", spec.Item)
	}
	if spec.Topic == "" {
		switch {
		case spec.Item != "":
			spec.Topic = spec.Item
		case spec.Resource != "":
			spec.Topic = spec.Resource
		default:
			spec.Topic = "general"
		}
	}
	if !validTopic(spec.Topic) {
		return Errorf(EINVALID, "--topic %q: use letters, digits, . _ - (at most 64, starting with a letter or digit)", spec.Topic)
	}
	refs := make([]string, 0, len(spec.Refs))
	for _, r := range spec.Refs {
		clean, err := pathspec.CleanRel(r)
		if err != nil {
			return Errorf(EINVALID, "--ref: %v", err)
		}
		refs = append(refs, clean)
	}
	spec.Refs = refs
	return nil
}

// SendSignal records a signal sent by a person or agent.
//
// Its body is checked here rather than in validate, which every internal
// signal also passes through: a body the tool composes may quote a path
// from the repository, and a hostile file name must not stop the audit
// report or the shadow-edit signal from being sent.
func (s *Service) SendSignal(ctx context.Context, spec SignalSpec) (*Signal, error) {
	if err := checkBody("--body", spec.Body); err != nil {
		return nil, err
	}
	if err := spec.validate(s.Config); err != nil {
		return nil, err
	}
	// Evidence must be there to look at: a ref names a file or directory
	// of the repository that exists (checked before the write lock).
	for _, ref := range spec.Refs {
		if _, err := os.Lstat(s.refPath(ref)); err != nil {
			return nil, Errorf(EINVALID, "--ref %s: no such file in the repository", ref)
		}
	}
	var sig *Signal
	err := s.write(ctx, func(tx *Tx) error {
		var err error
		sig, err = tx.emit(ctx, s.Config, s.Root, spec)
		return err
	})
	return sig, err
}

// emit stores a signal and audits it inside the caller's transaction; its
// JSON export is written once the transaction commits (see exports.go).
func (tx *Tx) emit(ctx context.Context, cfg *Config, root string, spec SignalSpec) (*Signal, error) {
	if err := spec.validate(cfg); err != nil {
		return nil, err
	}
	if spec.Item != "" {
		if ok, err := tx.itemExists(ctx, spec.Item); err != nil {
			return nil, err
		} else if !ok {
			return nil, Errorf(ENOTFOUND, "--item %s: no such item", spec.Item)
		}
	}
	if spec.Kind == KindCouncilCall && !spec.Question {
		// Only an item that could still move into in_progress can need
		// the cap exceeded; a question may be about an item in any state.
		it, err := tx.getItem(ctx, spec.Item)
		if err != nil {
			return nil, err
		}
		if it.Status != StatusOpen && it.Status != StatusBlocked {
			return nil, Errorf(ECONFLICT, "%s is %s: a council_call is for an open or blocked item that the attention budget keeps out of in_progress", it.ID, it.Status)
		}
	}
	if spec.Resource != "" {
		if _, ok := cfg.Resource(spec.Resource); !ok {
			return nil, unknownResource(cfg, spec.Resource)
		}
	}
	rel, err := tx.signalFileName(ctx, root, cfg.Signals.Dir, spec.Kind, spec.Topic)
	if err != nil {
		return nil, err
	}
	id, err := tx.st.SignalInsert(ctx, store.Signal{Kind: spec.Kind, Topic: spec.Topic, FromOwner: spec.From, FromDomain: spec.FromDomain, ToTarget: spec.To,
		ItemID: spec.Item, Resource: spec.Resource, Body: spec.Body, Refs: encodeList(spec.Refs), CreatedAt: tx.now, File: rel, Question: spec.Question})
	if err != nil {
		return nil, storeErr("record signal", err)
	}
	sig := &Signal{ID: id, Kind: spec.Kind, Topic: spec.Topic, From: spec.From, FromDomain: spec.FromDomain, To: spec.To,
		Item: spec.Item, Resource: spec.Resource, Body: spec.Body, Refs: spec.Refs, CreatedAt: Time{tx.now}, File: rel, Question: spec.Question}
	if sig.Refs == nil {
		sig.Refs = []string{}
	}
	tx.export(rel, signalSource(id), sig.exportJSON())
	payload := map[string]any{"kind": sig.Kind, "topic": sig.Topic, "from_domain": sig.FromDomain, "to": sig.To, "item": sig.Item,
		"resource": sig.Resource, "body": sig.Body, "refs": sig.Refs, "file": rel}
	if sig.Question {
		payload["question"] = true
	}
	if err := tx.audit(ctx, spec.From, "signal.send", fmt.Sprintf("signal:%d", id), payload); err != nil {
		return nil, err
	}
	return sig, nil
}

// exportJSON is the content of a signal's export file: the row as JSON.
func (sig *Signal) exportJSON() []byte {
	body, _ := json.MarshalIndent(sig, "", "  ")
	return append(body, '\n')
}

// signalFileName picks <dir>/<YYYYMMDD-HHMMSS>_<kind>_<topic>.json, adding
// -2, -3, ... when the name is taken, by a row (whose file may not be
// written yet) or by a file. The caller holds the write lock, so no other
// command picks a name meanwhile. A directory that a symlink leads out of
// the repository is refused.
func (tx *Tx) signalFileName(ctx context.Context, root, dir string, kind, topic string) (string, error) {
	r, err := safefs.Open(root)
	if err != nil {
		return "", Errorf(EINTERNAL, "export signal: %v", err)
	}
	defer r.Close()
	base := fmt.Sprintf("%s_%s_%s", tx.now.UTC().Format("20060102-150405"), kind, topic)
	for n := 1; ; n++ {
		name := base + ".json"
		if n > 1 {
			name = fmt.Sprintf("%s-%d.json", base, n)
		}
		rel := path.Join(dir, name)
		taken, err := tx.st.SignalFileTaken(ctx, rel)
		if err != nil {
			return "", storeErr("read signals", err)
		}
		if taken {
			continue
		}
		_, err = r.Lstat(rel)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return rel, nil
		case err != nil:
			return "", refusedExport(rel, err)
		}
	}
}

func signalFromRow(row store.Signal) (*Signal, error) {
	refs, err := decodeList("signal refs", row.Refs)
	if err != nil {
		return nil, err
	}
	return &Signal{ID: row.ID, Kind: row.Kind, Topic: row.Topic, From: row.FromOwner, FromDomain: row.FromDomain, To: row.ToTarget, Item: row.ItemID,
		Resource: row.Resource, Body: row.Body, Refs: refs, CreatedAt: Time{row.CreatedAt}, File: row.File, Question: row.Question}, nil
}

func signalsFromRows(rows []store.Signal) ([]*Signal, error) {
	out := make([]*Signal, 0, len(rows))
	for _, row := range rows {
		sig, err := signalFromRow(row)
		if err != nil {
			return nil, err
		}
		out = append(out, sig)
	}
	return out, nil
}

func (tx *Tx) getSignal(ctx context.Context, id int64) (*Signal, error) {
	row, err := tx.st.SignalGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, Errorf(ENOTFOUND, "no signal %d", id)
	}
	if err != nil {
		return nil, storeErr("read signal", err)
	}
	return signalFromRow(row)
}

// SignalFilter selects signals.
type SignalFilter = store.SignalFilter

// ListSignals returns matching signals, oldest first.
func (s *Service) ListSignals(ctx context.Context, f SignalFilter) ([]*Signal, error) {
	if f.Kind != "" && !contains(SignalKinds, f.Kind) {
		return nil, Errorf(EINVALID, "--kind %q is not a signal kind (kinds: %s)", f.Kind, strings.Join(SignalKinds, ", "))
	}
	if f.Domain != "" {
		if _, ok := s.Config.Domain(f.Domain); !ok {
			return nil, Errorf(EINVALID, "--domain %q is not a domain (domains: %s)", f.Domain, strings.Join(s.Config.DomainNames(), ", "))
		}
	}
	if f.Item != "" {
		if err := checkItemID("--item", f.Item); err != nil {
			return nil, err
		}
	}
	var out []*Signal
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		out, err = tx.listSignals(ctx, f)
		return err
	})
	return out, err
}

func (tx *Tx) listSignals(ctx context.Context, f SignalFilter) ([]*Signal, error) {
	rows, err := tx.st.SignalsList(ctx, f)
	if err != nil {
		return nil, storeErr("read signals", err)
	}
	return signalsFromRows(rows)
}

// GetSignal returns signal id.
func (s *Service) GetSignal(ctx context.Context, id int64) (*Signal, error) {
	var sig *Signal
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		sig, err = tx.getSignal(ctx, id)
		return err
	})
	return sig, err
}

// refPath is where a signal's ref lives: machine-local state (capsules,
// reports) under the store's directory, anything else in the worktree.
func (s *Service) refPath(ref string) string {
	if abs := s.Layout.StatePath(ref); abs != filepath.Join(s.Root, filepath.FromSlash(ref)) {
		return abs
	}
	return s.absFile(ref)
}
