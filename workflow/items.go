package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/oxygen-tools/oxygen/internal/pathspec"
	"github.com/oxygen-tools/oxygen/internal/textcheck"
	"github.com/oxygen-tools/oxygen/store"
	"go.yaml.in/yaml/v3"
)

// Priorities, highest first.
var Priorities = []string{"critical", "high", "medium", "low"}

// ItemSpec is what a person writes down about a work item: everything but
// its status, owner and timestamps, which only transitions change.
type ItemSpec struct {
	ID         string   `json:"id"`
	Title      string   `json:"title"`
	Kind       string   `json:"kind"`
	Domain     string   `json:"domain"`
	Priority   string   `json:"priority"`
	Objective  string   `json:"objective"`
	InScope    []string `json:"in_scope"`
	OutOfScope []string `json:"out_of_scope"`
	Invariants []string `json:"invariants"`
	Files      []string `json:"files"`
	Commands   []string `json:"commands"`
	DependsOn  []string `json:"depends_on"`
}

// Item is a work item as stored.
type Item struct {
	ID         string   `json:"id"`
	Title      string   `json:"title"`
	Kind       string   `json:"kind"`
	Domain     string   `json:"domain"`
	Priority   string   `json:"priority"`
	Status     Status   `json:"status"`
	Owner      string   `json:"owner"`
	Objective  string   `json:"objective"`
	InScope    []string `json:"in_scope"`
	OutOfScope []string `json:"out_of_scope"`
	Invariants []string `json:"invariants"`
	Files      []string `json:"files"`
	Commands   []string `json:"commands"`
	DependsOn  []string `json:"depends_on"`
	CreatedAt  Time     `json:"created_at"`
	UpdatedAt  Time     `json:"updated_at"`
}

// Spec returns the item's definitional fields.
func (it *Item) Spec() ItemSpec {
	return ItemSpec{ID: it.ID, Title: it.Title, Kind: it.Kind, Domain: it.Domain, Priority: it.Priority,
		Objective: it.Objective, InScope: it.InScope, OutOfScope: it.OutOfScope, Invariants: it.Invariants,
		Files: it.Files, Commands: it.Commands, DependsOn: it.DependsOn}
}

// fieldError is a validation failure on one field of one item.
type fieldError struct {
	field string
	msg   string
}

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

// normalize validates a spec and cleans it in place (trimmed strings, clean
// paths, no nil lists). root is used to refuse files that escape through
// symlinks.
func (spec *ItemSpec) normalize(cfg *Config, root string, needID bool) *fieldError {
	bad := func(field, format string, args ...any) *fieldError {
		return &fieldError{field: field, msg: fmt.Sprintf(format, args...)}
	}
	spec.ID = strings.TrimSpace(spec.ID)
	if spec.ID != "" || needID {
		if !validItemID(spec.ID) {
			return bad("id", "%q must start with a letter and hold only letters, digits, . _ - (at most 64)", spec.ID)
		}
	}
	spec.Title = strings.TrimSpace(spec.Title)
	switch {
	case spec.Title == "":
		return bad("title", "is required")
	case textProblem(spec.Title, textcheck.Line) != "":
		return bad("title", "%s", textProblem(spec.Title, textcheck.Line))
	case len(spec.Title) > 200:
		return bad("title", "is longer than 200 bytes")
	}
	spec.Kind = strings.TrimSpace(spec.Kind)
	if !validName(spec.Kind) {
		if spec.Kind == "" {
			return bad("kind", "is required (for example plan, feature, bug, chore)")
		}
		return bad("kind", "%q must be lower-case letters, digits, - and _ (at most 32)", spec.Kind)
	}
	spec.Domain = strings.TrimSpace(spec.Domain)
	if _, ok := cfg.Domain(spec.Domain); !ok {
		if spec.Domain == "" {
			return bad("domain", "is required (domains: %s)", strings.Join(cfg.DomainNames(), ", "))
		}
		return bad("domain", "%q is not a domain (domains: %s)", spec.Domain, strings.Join(cfg.DomainNames(), ", "))
	}
	spec.Priority = strings.TrimSpace(spec.Priority)
	if !contains(Priorities, spec.Priority) {
		if spec.Priority == "" {
			return bad("priority", "is required (one of %s)", strings.Join(Priorities, ", "))
		}
		return bad("priority", "%q is not one of %s", spec.Priority, strings.Join(Priorities, ", "))
	}
	spec.Objective = strings.TrimSpace(spec.Objective)
	if spec.Objective == "" {
		return bad("objective", "is required")
	}
	if p := textProblem(spec.Objective, textcheck.Body); p != "" {
		return bad("objective", "%s", p)
	}
	lines := []struct {
		field string
		list  *[]string
	}{{"in_scope", &spec.InScope}, {"out_of_scope", &spec.OutOfScope}, {"invariants", &spec.Invariants}, {"commands", &spec.Commands}}
	for _, l := range lines {
		clean := make([]string, 0, len(*l.list))
		for i, v := range *l.list {
			v = strings.TrimSpace(v)
			switch {
			case v == "":
				return bad(fmt.Sprintf("%s[%d]", l.field, i), "cannot be empty")
			case textProblem(v, textcheck.Line) != "":
				return bad(fmt.Sprintf("%s[%d]", l.field, i), "%s", textProblem(v, textcheck.Line))
			}
			clean = append(clean, v)
		}
		*l.list = clean
	}
	files := make([]string, 0, len(spec.Files))
	seenFile := map[string]bool{}
	for i, f := range spec.Files {
		clean, err := pathspec.CleanRel(f)
		if err != nil {
			return bad(fmt.Sprintf("files[%d]", i), "%v", err)
		}
		if _, err := pathspec.Resolve(root, clean); err != nil {
			if errors.Is(err, pathspec.ErrOutsideRoot) {
				return bad(fmt.Sprintf("files[%d]", i), "%v", err)
			}
			return bad(fmt.Sprintf("files[%d]", i), "cannot check %q: %v", clean, err)
		}
		if seenFile[clean] {
			return bad(fmt.Sprintf("files[%d]", i), "%q is listed twice", clean)
		}
		seenFile[clean] = true
		files = append(files, clean)
	}
	spec.Files = files
	deps := make([]string, 0, len(spec.DependsOn))
	seenDep := map[string]bool{}
	for i, d := range spec.DependsOn {
		d = strings.TrimSpace(d)
		switch {
		case !validItemID(d):
			return bad(fmt.Sprintf("depends_on[%d]", i), "%q is not an item id", d)
		case d == spec.ID:
			return bad(fmt.Sprintf("depends_on[%d]", i), "an item cannot depend on itself")
		case seenDep[d]:
			return bad(fmt.Sprintf("depends_on[%d]", i), "%q is listed twice", d)
		}
		seenDep[d] = true
		deps = append(deps, d)
	}
	spec.DependsOn = deps
	return nil
}

func encodeList(l []string) string {
	if l == nil {
		l = []string{}
	}
	b, _ := json.Marshal(l)
	return string(b)
}

// decodeStored decodes a JSON column. Oxygen writes only valid JSON, so a
// column that does not decode was edited behind its back: that is reported,
// never read as empty.
func decodeStored(column, s string, v any) error {
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return Errorf(EINTERNAL, "the stored %s %.40q is not valid JSON: the row was changed outside oxygen (run orchestrate audit verify)", column, s)
	}
	return nil
}

func decodeList(column, s string) ([]string, error) {
	l := []string{}
	if err := decodeStored(column, s, &l); err != nil {
		return nil, err
	}
	if l == nil {
		l = []string{}
	}
	return l, nil
}

// fields is the spec's definitional columns as the store keeps them.
func (spec *ItemSpec) fields() store.ItemFields {
	return store.ItemFields{Title: spec.Title, Kind: spec.Kind, Domain: spec.Domain, Priority: spec.Priority, Objective: spec.Objective,
		InScope: encodeList(spec.InScope), OutOfScope: encodeList(spec.OutOfScope), Invariants: encodeList(spec.Invariants),
		Files: encodeList(spec.Files), Commands: encodeList(spec.Commands)}
}

// itemFromRow decodes a stored item, without its dependencies.
func itemFromRow(r store.Item) (*Item, error) {
	it := Item{ID: r.ID, Title: r.Title, Kind: r.Kind, Domain: r.Domain, Priority: r.Priority, Status: r.Status, Owner: r.Owner,
		Objective: r.Objective, CreatedAt: Time{r.CreatedAt}, UpdatedAt: Time{r.UpdatedAt}, DependsOn: []string{}}
	for _, f := range []struct {
		column, src string
		dst         *[]string
	}{
		{"in_scope", r.InScope, &it.InScope}, {"out_of_scope", r.OutOfScope, &it.OutOfScope}, {"invariants", r.Invariants, &it.Invariants},
		{"files", r.Files, &it.Files}, {"commands", r.Commands, &it.Commands},
	} {
		l, err := decodeList("item "+f.column, f.src)
		if err != nil {
			return nil, err
		}
		*f.dst = l
	}
	return &it, nil
}

// getItem loads one item with its dependencies; a missing item is ENOTFOUND.
func (tx *Tx) getItem(ctx context.Context, id string) (*Item, error) {
	row, err := tx.st.ItemGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, Errorf(ENOTFOUND, "no item %q", id)
	}
	if err != nil {
		return nil, storeErr("read item", err)
	}
	it, err := itemFromRow(row)
	if err != nil {
		return nil, err
	}
	deps, err := tx.st.ItemDeps(ctx, id)
	if err != nil {
		return nil, storeErr("read dependencies", err)
	}
	it.DependsOn = deps
	return it, nil
}

// ItemFilter selects items for List.
type ItemFilter struct {
	Status string
	Domain string
	Owner  string
}

// filter is f as the store selects it.
func (f ItemFilter) filter() store.ItemFilter {
	return store.ItemFilter{Status: Status(f.Status), Domain: f.Domain, Owner: f.Owner}
}

// eachItem calls fn with each item f selects after `after` (the zero key:
// from the first), in creation order, with its dependencies, until fn
// returns false or an error, which it returns as is.
func (tx *Tx) eachItem(ctx context.Context, f store.ItemFilter, after store.ItemKey, fn func(*Item) (bool, error)) error {
	var fnErr error
	err := tx.st.ItemsEach(ctx, f, after, func(r store.ItemWithDeps) (bool, error) {
		it, err := itemFromRow(r.Item)
		if err == nil {
			for _, d := range r.Deps {
				it.DependsOn = append(it.DependsOn, d.DependsOn)
			}
			var more bool
			if more, err = fn(it); err == nil {
				return more, nil
			}
		}
		fnErr = err
		return false, nil
	})
	if fnErr != nil {
		return fnErr
	}
	return storeErr("read items", err)
}

// listItems returns items in creation order with their dependencies.
func (tx *Tx) listItems(ctx context.Context, f ItemFilter) ([]*Item, error) {
	items := []*Item{}
	err := tx.eachItem(ctx, f.filter(), store.ItemKey{}, func(it *Item) (bool, error) {
		items = append(items, it)
		return true, nil
	})
	return items, err
}

// Page asks for one page of a listing. Pages are keyset pages: each starts
// after the row the previous one ended with, so a listing read page by page
// shows every row that stays in it once, in order, however the rows before
// the cursor change meanwhile.
type Page struct {
	Limit int    // at most this many rows; 0: all of them
	After string // the cursor the previous page ended with; "": from the first row
}

func (p Page) check() error {
	if p.Limit < 0 {
		return Errorf(EINVALID, "--limit %d: must be a number of rows, or 0 for all", p.Limit)
	}
	return nil
}

// A list cursor is the last row's creation time (Unix milliseconds) and id:
// <ms>:<id>. Ids hold no colon.
func listCursor(it *Item) string { return fmt.Sprintf("%d:%s", it.CreatedAt.UnixMilli(), it.ID) }

func badCursor(cursor string) error {
	return Errorf(EINVALID, "--after %q is not a cursor of this listing: pass the one the previous page ended with", cursor)
}

func parseListCursor(cursor string) (store.ItemKey, error) {
	if cursor == "" {
		return store.ItemKey{}, nil
	}
	at, id, ok := strings.Cut(cursor, ":")
	created, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || created <= 0 || !validItemID(id) {
		return store.ItemKey{}, badCursor(cursor)
	}
	return store.ItemKey{CreatedAt: time.UnixMilli(created).UTC(), ID: id}, nil
}

func (f ItemFilter) check(cfg *Config) error {
	if f.Status != "" && !ValidStatus(f.Status) {
		return Errorf(EINVALID, "--status %q is not a status (statuses: %s)", f.Status, joinStatuses())
	}
	if f.Domain != "" {
		if _, ok := cfg.Domain(f.Domain); !ok {
			return Errorf(EINVALID, "--domain %q is not a domain (domains: %s)", f.Domain, strings.Join(cfg.DomainNames(), ", "))
		}
	}
	if f.Owner != "" && !validOwner(f.Owner) {
		return Errorf(EINVALID, "--owner %q: use letters, digits and . _ @ + - (at most 64)", f.Owner)
	}
	return nil
}

// List returns the items matching f.
func (s *Service) List(ctx context.Context, f ItemFilter) ([]*Item, error) {
	items := []*Item{}
	_, err := s.ListItems(ctx, f, Page{}, func(it *Item) error {
		items = append(items, it)
		return nil
	})
	return items, err
}

// ListItems calls fn with each item of a page of those matching f, in
// creation order, as it reads them (a page of 100k items is never held
// whole), in one read transaction. It returns the cursor of the next page,
// "" when this one is the last.
func (s *Service) ListItems(ctx context.Context, f ItemFilter, p Page, fn func(*Item) error) (string, error) {
	if err := f.check(s.Config); err != nil {
		return "", err
	}
	if err := p.check(); err != nil {
		return "", err
	}
	after, err := parseListCursor(p.After)
	if err != nil {
		return "", err
	}
	var next string
	err = s.read(ctx, func(tx *Tx) error {
		next = ""
		var last *Item
		n := 0
		return tx.eachItem(ctx, f.filter(), after, func(it *Item) (bool, error) {
			if p.Limit > 0 && n == p.Limit {
				// A row beyond the page: the next page starts after
				// its last row.
				next = listCursor(last)
				return false, nil
			}
			n, last = n+1, it
			return true, fn(it)
		})
	})
	return next, err
}

func joinStatuses() string {
	var s []string
	for _, v := range Statuses {
		s = append(s, string(v))
	}
	return strings.Join(s, ", ")
}

// ReadyItems calls fn with each item of a page of the ready ones: open
// items whose dependencies are all done, by priority, then creation time,
// each with what it waits on (see ready.go), in one read transaction. It
// returns the cursor of the next page when this one is full ("" when it is
// not), even if no ready item is left after it: making sure would mean
// reading every open item left.
func (s *Service) ReadyItems(ctx context.Context, req ReadyRequest, p Page, fn func(*ReadyItem) error) (string, error) {
	if err := req.check(s.Config); err != nil {
		return "", err
	}
	if err := p.check(); err != nil {
		return "", err
	}
	after, err := parseReadyCursor(p.After)
	if err != nil {
		return "", err
	}
	var next string
	err = s.read(ctx, func(tx *Tx) error {
		var err error
		next, err = s.eachReady(ctx, tx, req, after, p.Limit, fn)
		return err
	})
	return next, err
}

// ready is every ready item, inside the caller's transaction.
func (s *Service) ready(ctx context.Context, tx *Tx, req ReadyRequest) ([]*ReadyItem, error) {
	ready := []*ReadyItem{}
	_, err := s.eachReady(ctx, tx, req, readyKey{}, 0, func(ri *ReadyItem) error {
		ready = append(ready, ri)
		return nil
	})
	return ready, err
}

// readyKey is a ready item's place in the listing: its priority's rank, then
// its place in creation order.
type readyKey struct {
	rank int
	item store.ItemKey
}

// A ready cursor is the last row's priority, creation time (Unix
// milliseconds) and id: <priority>:<ms>:<id>.
func readyCursor(it *Item) string {
	return fmt.Sprintf("%s:%d:%s", it.Priority, it.CreatedAt.UnixMilli(), it.ID)
}

func parseReadyCursor(cursor string) (readyKey, error) {
	if cursor == "" {
		return readyKey{}, nil
	}
	priority, rest, _ := strings.Cut(cursor, ":")
	rank := priorityRank(priority)
	item, err := parseListCursor(rest)
	if rank == len(Priorities) || rest == "" || err != nil {
		return readyKey{}, badCursor(cursor)
	}
	return readyKey{rank: rank, item: item}, nil
}

// eachReady walks the open items after `after` whose dependencies are all
// done, a priority at a time and each in creation order, along an index
// (the store checks each one's dependencies by index lookups as it walks),
// and calls fn with each that --now keeps, until it has called it limit
// times (0: no limit). So a page costs the open items it passes up to its
// last ready one, not the store's size. It returns the cursor of the next
// page when the page is full.
func (s *Service) eachReady(ctx context.Context, tx *Tx, req ReadyRequest, after readyKey, limit int, fn func(*ReadyItem) error) (string, error) {
	cond, err := s.readyConditions(ctx, tx, req.Owner)
	if err != nil {
		return "", err
	}
	// --now keeps only the caller's domain: read no other.
	domain := req.Domain
	if req.Now {
		if domain != "" && domain != req.OwnerDomain {
			return "", nil
		}
		domain = req.OwnerDomain
	}
	n, next := 0, ""
	for rank := after.rank; rank < len(Priorities) && next == ""; rank++ {
		from := store.ItemKey{}
		if rank == after.rank {
			from = after.item
		}
		f := store.ItemFilter{Status: StatusOpen, Domain: domain, Priority: Priorities[rank], DepsDone: true}
		err := tx.eachItem(ctx, f, from, func(it *Item) (bool, error) {
			ri := &ReadyItem{Item: it, WaitingOn: cond.waits(it)}
			if !req.keep(ri) {
				return true, nil
			}
			if err := fn(ri); err != nil {
				return false, err
			}
			if n++; n == limit {
				next = readyCursor(it)
				return false, nil
			}
			return true, nil
		})
		if err != nil {
			return "", err
		}
	}
	return next, nil
}

func priorityRank(p string) int {
	for i, v := range Priorities {
		if v == p {
			return i
		}
	}
	return len(Priorities)
}

// ItemDetail is an item with its transition history.
type ItemDetail struct {
	*Item
	History []Transition `json:"history"`
}

// Show returns one item and its history.
func (s *Service) Show(ctx context.Context, id string) (*ItemDetail, error) {
	if err := checkItemID("item", id); err != nil {
		return nil, err
	}
	var d *ItemDetail
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		d, err = tx.itemDetail(ctx, id)
		return err
	})
	return d, err
}

func (tx *Tx) itemDetail(ctx context.Context, id string) (*ItemDetail, error) {
	it, err := tx.getItem(ctx, id)
	if err != nil {
		return nil, err
	}
	hist, err := tx.history(ctx, id)
	if err != nil {
		return nil, err
	}
	return &ItemDetail{Item: it, History: hist}, nil
}

func (tx *Tx) history(ctx context.Context, id string) ([]Transition, error) {
	rows, err := tx.st.ItemTransitions(ctx, id)
	if err != nil {
		return nil, storeErr("read history", err)
	}
	out := []Transition{}
	for _, r := range rows {
		t := Transition{At: Time{r.At}, From: r.From, To: r.To, Actor: r.Actor, Reason: r.Reason}
		if r.Council != 0 {
			c := r.Council
			t.Council = &c
		}
		out = append(out, t)
	}
	return out, nil
}

// addFlags names the `orchestrate add` flag behind each spec field, so that
// errors point at what the user typed.
var addFlags = map[string]string{
	"id": "ID", "title": "--title", "kind": "--kind", "domain": "--domain", "priority": "--priority",
	"objective": "--objective", "in_scope": "--in-scope", "out_of_scope": "--out-of-scope",
	"invariants": "--invariant", "files": "--file", "commands": "--command", "depends_on": "--depends-on",
}

// AddItem creates one item. Without an ID it takes the next
// <id_prefix>-NNN. actor is recorded in the audit log.
func (s *Service) AddItem(ctx context.Context, spec ItemSpec, actor string) (*Item, error) {
	if ferr := spec.normalize(s.Config, s.Worktree, false); ferr != nil {
		field, _, _ := strings.Cut(ferr.field, "[")
		return nil, Errorf(EINVALID, "%s: %s", addFlags[field], ferr.msg)
	}
	var it *Item
	err := s.write(ctx, func(tx *Tx) error {
		if err := tx.createItem(ctx, &spec, s.Config.Items.IDPrefix, actor); err != nil {
			return err
		}
		var err error
		it, err = tx.getItem(ctx, spec.ID)
		return err
	})
	return it, err
}

// createItem creates a normalised item, giving it the next id of prefix
// when it has none, once its id is free and its dependencies exist, and
// records it in the audit log.
func (tx *Tx) createItem(ctx context.Context, spec *ItemSpec, prefix, actor string) error {
	if spec.ID == "" {
		id, err := tx.nextItemID(ctx, prefix)
		if err != nil {
			return err
		}
		spec.ID = id
	} else if exists, err := tx.itemExists(ctx, spec.ID); err != nil {
		return err
	} else if exists {
		return Errorf(ECONFLICT, "item %s already exists", spec.ID)
	}
	for _, d := range spec.DependsOn {
		if exists, err := tx.itemExists(ctx, d); err != nil {
			return err
		} else if !exists {
			return Errorf(ENOTFOUND, "--depends-on %s: no such item", d)
		}
	}
	if err := tx.insertItem(ctx, *spec); err != nil {
		return err
	}
	return tx.audit(ctx, actor, "item.create", "item:"+spec.ID, spec)
}

func (tx *Tx) itemExists(ctx context.Context, id string) (bool, error) {
	ok, err := tx.st.ItemExists(ctx, id)
	return ok, storeErr("read item", err)
}

// nextItemID is <prefix>-NNN, one past the highest number taken (a counter
// that every insert of such an id raises, so this costs one read however
// many items there are). It is only called in a write transaction, whose
// insert takes the number before any other writer can read it (the store's
// one-writer contract).
func (tx *Tx) nextItemID(ctx context.Context, prefix string) (string, error) {
	last, err := tx.st.ItemNumberLast(ctx, prefix)
	if err != nil {
		return "", storeErr("read item ids", err)
	}
	// An id given by hand (add ID, import) may have taken the next number:
	// skip it, one indexed lookup each.
	for n := last + 1; ; n++ {
		id := fmt.Sprintf("%s-%03d", prefix, n)
		taken, err := tx.itemExists(ctx, id)
		if err != nil {
			return "", err
		}
		if !taken {
			return id, storeErr("raise item counter", tx.st.ItemNumberRaise(ctx, prefix, n))
		}
	}
}

func (tx *Tx) insertItem(ctx context.Context, spec ItemSpec) error {
	if err := tx.insertItemRow(ctx, spec); err != nil {
		return err
	}
	return tx.addDeps(ctx, spec.ID, spec.DependsOn)
}

// insertItemRow inserts the item without its dependencies, so that an import
// can create every item before linking them in any order.
func (tx *Tx) insertItemRow(ctx context.Context, spec ItemSpec) error {
	if err := tx.st.ItemInsert(ctx, spec.ID, spec.fields(), tx.now); err != nil {
		return storeErr("create item", err)
	}
	if prefix, n, ok := numberedID(spec.ID); ok {
		return storeErr("raise item counter", tx.st.ItemNumberRaise(ctx, prefix, n))
	}
	return nil
}

// numberedID splits an id of the form PREFIX-N.
func numberedID(id string) (prefix string, n int64, ok bool) {
	i := strings.LastIndexByte(id, '-')
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.ParseInt(id[i+1:], 10, 64)
	return id[:i], n, err == nil && n > 0
}

func (tx *Tx) setDeps(ctx context.Context, id string, deps []string) error {
	return storeErr("write dependencies", tx.st.ItemDepsReplace(ctx, id, deps))
}

// addDeps links a new item, which has no dependencies yet.
func (tx *Tx) addDeps(ctx context.Context, id string, deps []string) error {
	return storeErr("write dependencies", tx.st.ItemDepsAdd(ctx, id, deps))
}

// dependencyGraph is every item's dependencies, in listed order, read at
// once: an import checks the whole graph in one pass over it.
func (tx *Tx) dependencyGraph(ctx context.Context) (map[string][]string, error) {
	deps, err := tx.st.ItemDepsAll(ctx)
	if err != nil {
		return nil, storeErr("read dependencies", err)
	}
	graph := map[string][]string{}
	for _, d := range deps {
		graph[d.Item] = append(graph[d.Item], d.DependsOn)
	}
	return graph, nil
}

// onCycle is the set of items some dependency cycle of graph passes
// through: those whose strongly connected component holds more than one
// item, or that depend on themselves. One pass of Tarjan's algorithm, with
// an explicit stack, so that a chain of 100k items needs no deep recursion.
func onCycle(graph map[string][]string) map[string]bool {
	type frame struct {
		node string
		next int // the next dependency of node to follow
	}
	index, low := map[string]int{}, map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	cyclic := map[string]bool{}
	visit := func(n string, calls []frame) []frame {
		index[n], low[n] = len(index), len(index)
		stack = append(stack, n)
		onStack[n] = true
		return append(calls, frame{node: n})
	}
	for root := range graph {
		if _, seen := index[root]; seen {
			continue
		}
		calls := visit(root, nil)
		for len(calls) > 0 {
			f := &calls[len(calls)-1]
			if deps := graph[f.node]; f.next < len(deps) {
				d := deps[f.next]
				f.next++
				if d == f.node {
					cyclic[d] = true
				}
				if _, seen := index[d]; !seen {
					calls = visit(d, calls)
				} else if onStack[d] {
					low[f.node] = min(low[f.node], index[d])
				}
				continue
			}
			n := f.node
			calls = calls[:len(calls)-1]
			if len(calls) > 0 {
				parent := calls[len(calls)-1].node
				low[parent] = min(low[parent], low[n])
			}
			if low[n] != index[n] {
				continue
			}
			i := len(stack) - 1
			for stack[i] != n {
				i--
			}
			for _, m := range stack[i:] {
				onStack[m] = false
				if len(stack)-i > 1 {
					cyclic[m] = true
				}
			}
			stack = stack[:i]
		}
	}
	return cyclic
}

// cycleThrough returns a dependency cycle of graph through start, if there
// is one, as the path start -> ... -> start the depth-first walk finds.
func cycleThrough(graph map[string][]string, start string) []string {
	visited := map[string]bool{}
	var path []string
	var walk func(n string) bool
	walk = func(n string) bool {
		path = append(path, n)
		for _, next := range graph[n] {
			if next == start {
				path = append(path, next)
				return true
			}
			if !visited[next] {
				visited[next] = true
				if walk(next) {
					return true
				}
			}
		}
		path = path[:len(path)-1]
		return false
	}
	if walk(start) {
		return path
	}
	return nil
}

// ImportResult counts what an import did.
type ImportResult struct {
	Created   []string `json:"created"`
	Updated   []string `json:"updated"`
	Unchanged []string `json:"unchanged"`
	// Rebriefed are the updated items someone is working on (in progress
	// or blocked): their capsule was made again and their owner told.
	Rebriefed []Rebrief `json:"rebriefed"`
}

// ImportPlan upserts every item of a plan registry file, all or nothing.
func (s *Service) ImportPlan(ctx context.Context, file string, actor string) (*ImportResult, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, Errorf(EINVALID, "%s: %v", file, err)
	}
	specs, lines, err := parsePlan(file, src)
	if err != nil {
		return nil, err
	}
	bad := func(i int, field, format string, args ...any) error {
		return Errorf(EINVALID, "%s:%d: items[%d] (%s): %s: %s", file, lines[i], i, specs[i].ID, field, fmt.Sprintf(format, args...))
	}
	seen := map[string]int{}
	for i := range specs {
		if ferr := specs[i].normalize(s.Config, s.Worktree, true); ferr != nil {
			return nil, bad(i, ferr.field, "%s", ferr.msg)
		}
		if j, dup := seen[specs[i].ID]; dup {
			return nil, bad(i, "id", "%q is also items[%d]", specs[i].ID, j)
		}
		seen[specs[i].ID] = i
	}
	res := &ImportResult{}
	err = s.writeBriefed(ctx, specs, func(tx *Tx, briefs *planBriefs) error {
		*res = ImportResult{Created: []string{}, Updated: []string{}, Unchanged: []string{}, Rebriefed: []Rebrief{}}
		for i, spec := range specs {
			for j, d := range spec.DependsOn {
				if _, inFile := seen[d]; inFile {
					continue
				}
				if exists, err := tx.itemExists(ctx, d); err != nil {
					return err
				} else if !exists {
					return bad(i, fmt.Sprintf("depends_on[%d]", j), "%q is neither in this file nor in the store", d)
				}
			}
		}
		for i, spec := range specs {
			old, err := tx.getItem(ctx, spec.ID)
			switch {
			case ErrorCode(err) == ENOTFOUND:
				if err := tx.insertItemRow(ctx, spec); err != nil {
					return err
				}
				if err := tx.audit(ctx, actor, "item.create", "item:"+spec.ID, spec); err != nil {
					return err
				}
				res.Created = append(res.Created, spec.ID)
			case err != nil:
				return err
			default:
				changed := specDiff(old.Spec(), spec)
				if len(changed) == 0 {
					res.Unchanged = append(res.Unchanged, spec.ID)
					continue
				}
				if old.Domain != spec.Domain && old.Status != StatusOpen && old.Status != StatusDone && old.Status != StatusDeadEnd {
					return Errorf(ECONFLICT, "%s:%d: items[%d] (%s): domain: cannot move an item that is %s from %s to %s",
						file, lines[i], i, spec.ID, old.Status, old.Domain, spec.Domain)
				}
				if err := tx.updateItemRow(ctx, spec); err != nil {
					return err
				}
				if err := tx.audit(ctx, actor, "item.update", "item:"+spec.ID, map[string]any{"changed": changed, "spec": spec}); err != nil {
					return err
				}
				res.Updated = append(res.Updated, spec.ID)
				briefs.note(old, changed)
			}
		}
		// Dependencies are linked once every item exists, so an item may
		// depend on one that comes later in the file. An unchanged item
		// keeps its list; a created one has none to replace.
		for _, id := range res.Created {
			if err := tx.addDeps(ctx, id, specs[seen[id]].DependsOn); err != nil {
				return err
			}
		}
		for _, id := range res.Updated {
			if err := tx.setDeps(ctx, id, specs[seen[id]].DependsOn); err != nil {
				return err
			}
		}
		// The store held no cycle before, so a cycle now passes through an
		// item of the file: the first such item is reported, with the
		// cycle a walk from it finds.
		graph, err := tx.dependencyGraph(ctx)
		if err != nil {
			return err
		}
		cyclic := onCycle(graph)
		for i, spec := range specs {
			if cyclic[spec.ID] {
				return bad(i, "depends_on", "would form a cycle: %s", strings.Join(cycleThrough(graph, spec.ID), " -> "))
			}
		}
		rebriefed, err := s.rebrief(ctx, tx, briefs, actor)
		res.Rebriefed = rebriefed
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (tx *Tx) updateItemRow(ctx context.Context, spec ItemSpec) error {
	return storeErr("update item", tx.st.ItemUpdateFields(ctx, spec.ID, spec.fields(), tx.now))
}

// specDiff names the fields that differ.
func specDiff(a, b ItemSpec) []string {
	var out []string
	eq := func(x, y []string) bool { return encodeList(x) == encodeList(y) }
	check := func(name string, same bool) {
		if !same {
			out = append(out, name)
		}
	}
	check("title", a.Title == b.Title)
	check("kind", a.Kind == b.Kind)
	check("domain", a.Domain == b.Domain)
	check("priority", a.Priority == b.Priority)
	check("objective", a.Objective == b.Objective)
	check("in_scope", eq(a.InScope, b.InScope))
	check("out_of_scope", eq(a.OutOfScope, b.OutOfScope))
	check("invariants", eq(a.Invariants, b.Invariants))
	check("files", eq(a.Files, b.Files))
	check("commands", eq(a.Commands, b.Commands))
	check("depends_on", eq(a.DependsOn, b.DependsOn))
	return out
}

// parsePlan decodes a plan registry: a mapping with one key, items, holding
// a list of item specs. It returns each item's line for error messages.
func parsePlan(file string, src []byte) ([]ItemSpec, []int, error) {
	top, err := parseYAMLDocument(file, src)
	if err != nil {
		return nil, nil, err
	}
	d := &yamlDecoder{file: file}
	var specs []ItemSpec
	var lines []int
	found := false
	d.fields(top, "", map[string]func(*yaml.Node, string){
		"items": func(n *yaml.Node, p string) {
			found = true
			d.items(n, p, func(i int, v *yaml.Node, p string) {
				var spec ItemSpec
				idNode := findKey(v, "id")
				label := p
				if idNode != nil {
					label = fmt.Sprintf("%s (%s)", p, idNode.Value)
				}
				d.fields(v, label, map[string]func(*yaml.Node, string){
					"id":           func(n *yaml.Node, p string) { spec.ID = d.str(n, p) },
					"title":        func(n *yaml.Node, p string) { spec.Title = d.str(n, p) },
					"kind":         func(n *yaml.Node, p string) { spec.Kind = d.str(n, p) },
					"domain":       func(n *yaml.Node, p string) { spec.Domain = d.str(n, p) },
					"priority":     func(n *yaml.Node, p string) { spec.Priority = d.str(n, p) },
					"objective":    func(n *yaml.Node, p string) { spec.Objective = d.str(n, p) },
					"in_scope":     func(n *yaml.Node, p string) { spec.InScope = d.strs(n, p) },
					"out_of_scope": func(n *yaml.Node, p string) { spec.OutOfScope = d.strs(n, p) },
					"invariants":   func(n *yaml.Node, p string) { spec.Invariants = d.strs(n, p) },
					"files":        func(n *yaml.Node, p string) { spec.Files = d.strs(n, p) },
					"commands":     func(n *yaml.Node, p string) { spec.Commands = d.strs(n, p) },
					"depends_on":   func(n *yaml.Node, p string) { spec.DependsOn = d.strs(n, p) },
				})
				specs = append(specs, spec)
				lines = append(lines, v.Line)
			})
		},
	})
	if d.err != nil {
		return nil, nil, d.err
	}
	if !found {
		return nil, nil, Errorf(EINVALID, "%s:1: a plan registry needs an items: list", file)
	}
	return specs, lines, nil
}

func findKey(n *yaml.Node, key string) *yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return deref(n.Content[i+1])
		}
	}
	return nil
}

// absFile is where a root-relative path of the working tree lives on disk:
// in the worktree the command runs in.
func (s *Service) absFile(rel string) string {
	return filepath.Join(s.Worktree, filepath.FromSlash(rel))
}
