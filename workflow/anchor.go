package workflow

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/oxygen-tools/oxygen/capsules"
)

// Anchoring: whoever can write the store can cut events from the end of the
// log, or rewrite it and every head recorded beside it. A head written
// somewhere the store's writer cannot quietly rewrite survives both, and git
// history is such a place once it is pushed: the commit-msg hook writes the
// current head into every commit as a trailer, and verification checks that
// every head found in the history (reachable from HEAD or any ref) is still
// in the chain with its hash.

// AnchorTrailerKey is the git trailer that carries a chain head.
const AnchorTrailerKey = "Oxygen-Audit-Head"

// Anchor is a chain head as written outside the store. Store is the store's
// identity, the hash of its first event (store.init): heads of a store that
// was deliberately initialised again name another identity and are not
// mistaken for tampering.
type Anchor struct {
	Store   string `json:"store"`
	Seq     int64  `json:"seq"`
	Hash    string `json:"hash"`
	Trailer string `json:"trailer,omitempty"`
	Commit  string `json:"commit,omitempty"` // the newest commit carrying it, when read from git
}

func (a *Anchor) trailer() string {
	return fmt.Sprintf("%s: %s %d %s", AnchorTrailerKey, a.Store, a.Seq, a.Hash)
}

// parseAnchor reads a trailer value: "<store> <seq> <hash>".
func parseAnchor(value string) (Anchor, bool) {
	f := strings.Fields(value)
	if len(f) != 3 || !capsules.ValidHash(f[0]) || !capsules.ValidHash(f[2]) {
		return Anchor{}, false
	}
	seq, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || seq < 1 {
		return Anchor{}, false
	}
	return Anchor{Store: f[0], Seq: seq, Hash: f[2]}, true
}

// AuditAnchor is the current chain head with the store's identity, and the
// trailer line that carries it.
func (s *Service) AuditAnchor(ctx context.Context) (*Anchor, error) {
	a := &Anchor{}
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		if a.Store, err = tx.storeIdentity(ctx); err != nil {
			return err
		}
		if a.Store == "" {
			return Errorf(ENOTFOUND, "the audit log is empty, so there is no head to anchor: run orchestrate init")
		}
		// The snapshot holds a first event, so it holds a head.
		head, _, err := tx.st.AuditHead(ctx)
		if err != nil {
			return storeErr("read audit head", err)
		}
		a.Seq, a.Hash = head.Seq, head.Hash
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.Trailer = a.trailer()
	return a, nil
}

// storeIdentity is the hash of the store's first audit event (store.init):
// unique to each store, so a store initialised again after a loss is told
// apart from the one before. "" while the log is empty.
func (tx *Tx) storeIdentity(ctx context.Context) (string, error) {
	first, _, err := tx.st.AuditFirst(ctx)
	if err != nil {
		return "", storeErr("read store identity", err)
	}
	return first.Hash, nil
}

// gitAnchors are the chain heads git history holds. They are read before
// the verifying snapshot is taken: every head a commit carries was in the
// store before the commit was made, so the snapshot holds it too, and a head
// written after the snapshot began cannot pass for a truncation.
type gitAnchors struct {
	git   bool
	heads []Anchor         // distinct heads, newest commit first
	want  map[int64]bool   // the seqs some head names
	chain map[int64]string // the chain's hash at each wanted seq
}

// readGitAnchors reads every Oxygen-Audit-Head trailer of the commits
// reachable from HEAD or any ref. Remote-tracking refs count: after a
// fetch they bring back the commits others have, even if this clone's own
// branches were rewritten or switched away from. Outside git there are
// none; in a repository whose store lives under .git, a git that fails is
// an error, not a reason to skip the check.
func (s *Service) readGitAnchors(ctx context.Context) (*gitAnchors, error) {
	g := &gitAnchors{want: map[int64]bool{}, chain: map[int64]string{}}
	out, err := s.git(ctx, "log", "--all", "--format=%x1e%H%n%(trailers:key="+AnchorTrailerKey+",valueonly)")
	switch {
	case err != nil && s.Layout.GitCommon == "":
		return g, nil
	case err != nil:
		return nil, Errorf(EINTERNAL, "read the audit heads anchored in git: %s", ErrorMessage(err))
	}
	g.git = true
	seen := map[Anchor]bool{}
	for _, rec := range strings.Split(string(out), "\x1e") {
		commit, values, _ := strings.Cut(rec, "\n")
		for _, v := range strings.Split(values, "\n") {
			a, ok := parseAnchor(v)
			if !ok || seen[a] {
				continue
			}
			seen[a] = true
			a.Commit = commit
			g.heads = append(g.heads, a)
			g.want[a.Seq] = true
		}
	}
	return g, nil
}

// observe notes the hash of each event some head names, during the one pass
// over the chain.
func (g *gitAnchors) observe(e *chainEvent) {
	if g.want[e.seq] {
		g.chain[e.seq] = e.hash
	}
}

// lookUpBefore reads the hash of every event at or before seq that some
// head names, for a check that did not stream those events.
func (g *gitAnchors) lookUpBefore(ctx context.Context, tx *Tx, seq int64) error {
	for s := range g.want {
		if s > seq {
			continue
		}
		hash, ok, err := tx.st.AuditHashAt(ctx, s)
		if err != nil {
			return storeErr("read audit log", err)
		}
		if ok {
			g.chain[s] = hash
		}
	}
	return nil
}

// AnchorCheck is what the heads kept outside the store said: those in git
// history, and those of report files written for another store.
type AnchorCheck struct {
	Git                  bool    `json:"git"`                    // a git history was read
	Checked              int     `json:"checked"`                // heads of this store found in it
	Newest               *Anchor `json:"newest,omitempty"`       // the highest of them
	PreviousStore        int     `json:"previous_store"`         // git heads naming another store, not checked
	PreviousStoreReports int     `json:"previous_store_reports"` // report files naming another store, not checked
}

// check compares every head of this store with the chain. Heads naming
// another store identity are counted, once, as a previous store's.
func (g *gitAnchors) check(res *ChainCheck) {
	res.Anchors.Git = g.git
	for i := range g.heads {
		a := &g.heads[i]
		if a.Store != res.Store {
			res.Anchors.PreviousStore++
			continue
		}
		res.Anchors.Checked++
		if res.Anchors.Newest == nil || a.Seq > res.Anchors.Newest.Seq {
			res.Anchors.Newest = a
		}
		if !res.OK {
			continue
		}
		switch hash, ok := g.chain[a.Seq]; {
		case !ok:
			res.OK, res.BrokenSeq = false, a.Seq
			res.Problem = fmt.Sprintf("the head anchored in git commit %s (seq %d) is gone: events were cut from the end of the log", shortHash(a.Commit), a.Seq)
		case hash != a.Hash:
			res.OK, res.BrokenSeq = false, a.Seq
			res.Problem = fmt.Sprintf("the head anchored in git commit %s (seq %d) had another hash: the log was rewritten, or cut and written again", shortHash(a.Commit), a.Seq)
		}
	}
}

// Notes are what a person should know about the anchors, one line each.
func (c *AnchorCheck) Notes() []string {
	var out []string
	if c.Newest != nil {
		out = append(out, fmt.Sprintf("git anchors: %d head(s) of this store checked, the newest seq %d in commit %s", c.Checked, c.Newest.Seq, shortHash(c.Newest.Commit)))
	}
	if c.PreviousStore > 0 {
		out = append(out, fmt.Sprintf("git anchors: %d head(s) in the history are from a previous store (or another clone's) and were not checked", c.PreviousStore))
	}
	if c.PreviousStoreReports > 0 {
		out = append(out, fmt.Sprintf("reports: %d report file(s) are from a previous store and were not checked", c.PreviousStoreReports))
	}
	return out
}
