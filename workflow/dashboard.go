package workflow

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/oxygen-tools/oxygen/store"
)

// What the dashboard shows is bounded whatever the store holds: a board cell
// lists its most recently changed items, the feed its newest signals, and
// the timeline one day.
const (
	BoardCellLimit  = 12
	SignalFeedLimit = 100
	TimelineWindow  = 24 * time.Hour
)

// DashboardQuery is what a dashboard reader picked: the signal feed's
// filters.
type DashboardQuery struct {
	SignalKind   string
	SignalDomain string
}

// Dashboard is everything the dashboard page shows, read in one transaction.
type Dashboard struct {
	*Overview
	Board        Board          `json:"board"`
	Timeline     Timeline       `json:"timeline"`
	Signals      []*Signal      `json:"signals"`       // newest first
	CouncilQueue []*CouncilCall `json:"council_queue"` // pending, and approved but not yet used
	Audit        AuditSummary   `json:"audit"`
	Query        DashboardQuery `json:"-"`
}

// Board is the items by domain (rows) and status (columns).
type Board struct {
	Statuses []Status   `json:"statuses"`
	Rows     []BoardRow `json:"rows"`
}

// BoardRow is one domain's items across the statuses.
type BoardRow struct {
	Domain string      `json:"domain"`
	Cells  []BoardCell `json:"cells"` // one per Board.Statuses
}

// BoardCell is the items of one domain in one status: how many, and the
// BoardCellLimit most recently changed.
type BoardCell struct {
	Status Status      `json:"status"`
	Count  int         `json:"count"`
	Items  []BoardItem `json:"items"`
}

// More is how many items the cell does not list.
func (c BoardCell) More() int { return c.Count - len(c.Items) }

// BoardItem is an item on the board, with the state of what it waits for.
type BoardItem struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Priority  string `json:"priority"`
	Owner     string `json:"owner"`
	UpdatedAt Time   `json:"updated_at"`
	DependsOn []Dep  `json:"depends_on"`
}

// Dep is a dependency and its status.
type Dep struct {
	ID     string `json:"id"`
	Status Status `json:"status"`
}

// Timeline is every resource's leases over a window ending now.
type Timeline struct {
	From Time          `json:"from"`
	To   Time          `json:"to"`
	Rows []TimelineRow `json:"rows"`
}

// TimelineRow is one resource: its leases that overlap the window (as they
// really stand, unswept expiries included), the shadow edits found on it in
// the window, and who waits for it now.
type TimelineRow struct {
	Resource    string        `json:"resource"`
	Domain      string        `json:"domain"`
	Leases      []*Lease      `json:"leases"`
	ShadowEdits []*ShadowEdit `json:"shadow_edits"`
	Waiters     []Waiter      `json:"waiters"`
}

// AuditSummary is the state of the audit chain and of its checks.
type AuditSummary struct {
	Head       ChainHead       `json:"head"`
	LastCheck  *IntegrityCheck `json:"last_check"`
	BlobCheck  *IntegrityCheck `json:"last_blob_check"`
	LastReport *ReportRecord   `json:"last_report"`
}

// ReportRecord is an audit report on record.
type ReportRecord struct {
	Path        string `json:"path"`
	GeneratedAt Time   `json:"generated_at"`
	HeadSeq     int64  `json:"head_seq"`
	Findings    int    `json:"findings"`
}

// CheckDashboardQuery refuses filters that name no kind or domain.
func (s *Service) CheckDashboardQuery(q DashboardQuery) error {
	if q.SignalKind != "" && !contains(SignalKinds, q.SignalKind) {
		return Errorf(EINVALID, "kind %q is not a signal kind (kinds: %s)", q.SignalKind, strings.Join(SignalKinds, ", "))
	}
	if q.SignalDomain != "" {
		if _, ok := s.Config.Domain(q.SignalDomain); !ok {
			return Errorf(EINVALID, "domain %q is not a domain (domains: %s)", q.SignalDomain, strings.Join(s.Config.DomainNames(), ", "))
		}
	}
	return nil
}

// Dashboard reads the whole dashboard in one read transaction.
func (s *Service) Dashboard(ctx context.Context, q DashboardQuery) (*Dashboard, error) {
	if err := s.CheckDashboardQuery(q); err != nil {
		return nil, err
	}
	policyDrift := PolicyDrift(s.Layout, s.Config)
	var d *Dashboard
	err := s.read(ctx, func(tx *Tx) error {
		ov, err := s.overview(ctx, tx, policyDrift)
		if err != nil {
			return err
		}
		d = &Dashboard{Overview: ov, Query: q}
		if d.Board, err = s.board(ctx, tx); err != nil {
			return err
		}
		if d.Timeline, err = s.timeline(ctx, tx, ov); err != nil {
			return err
		}
		signals, err := tx.listSignals(ctx, SignalFilter{Kind: q.SignalKind, Domain: q.SignalDomain, Limit: SignalFeedLimit})
		if err != nil {
			return err
		}
		for i := len(signals) - 1; i >= 0; i-- {
			d.Signals = append(d.Signals, signals[i])
		}
		if d.Signals == nil {
			d.Signals = []*Signal{}
		}
		calls, err := tx.listCouncil(ctx, false, s.Config.Council.TTL)
		if err != nil {
			return err
		}
		d.CouncilQueue = []*CouncilCall{}
		for _, c := range calls {
			if c.State == CouncilPending || c.State == CouncilApproved {
				d.CouncilQueue = append(d.CouncilQueue, c)
			}
		}
		d.Audit, err = tx.auditSummary(ctx)
		return err
	})
	return d, err
}

func (s *Service) board(ctx context.Context, tx *Tx) (Board, error) {
	b := Board{Statuses: Statuses}
	counts := map[string]map[Status]int{}
	domains := append([]string{}, s.Config.DomainNames()...)
	all, err := tx.st.ItemCountsByDomainStatus(ctx)
	if err != nil {
		return b, storeErr("read items", err)
	}
	for _, c := range all {
		if counts[c.Domain] == nil {
			counts[c.Domain] = map[Status]int{}
			if !contains(domains, c.Domain) {
				domains = append(domains, c.Domain) // items of a domain since removed from the config
			}
		}
		counts[c.Domain][c.Status] = c.Count
	}
	byID := map[string]*BoardItem{}
	var ids []string
	for _, domain := range domains {
		row := BoardRow{Domain: domain}
		for _, status := range Statuses {
			cell := BoardCell{Status: status, Count: counts[domain][status], Items: []BoardItem{}}
			if cell.Count > 0 {
				items, err := tx.boardItems(ctx, domain, status)
				if err != nil {
					return b, err
				}
				cell.Items = items
			}
			row.Cells = append(row.Cells, cell)
		}
		b.Rows = append(b.Rows, row)
	}
	for r := range b.Rows {
		for c := range b.Rows[r].Cells {
			for i := range b.Rows[r].Cells[c].Items {
				it := &b.Rows[r].Cells[c].Items[i]
				byID[it.ID] = it
				ids = append(ids, it.ID)
			}
		}
	}
	if len(ids) == 0 {
		return b, nil
	}
	deps, err := tx.st.ItemDepsWithStatus(ctx, ids)
	if err != nil {
		return b, storeErr("read dependencies", err)
	}
	for _, d := range deps {
		byID[d.Item].DependsOn = append(byID[d.Item].DependsOn, Dep{ID: d.DependsOn, Status: d.Status})
	}
	return b, nil
}

func (tx *Tx) boardItems(ctx context.Context, domain string, status Status) ([]BoardItem, error) {
	rows, err := tx.st.ItemsBoardCell(ctx, domain, status, BoardCellLimit)
	if err != nil {
		return nil, storeErr("read items", err)
	}
	out := []BoardItem{}
	for _, r := range rows {
		out = append(out, BoardItem{ID: r.ID, Title: r.Title, Priority: r.Priority, Owner: r.Owner, UpdatedAt: Time{r.UpdatedAt}, DependsOn: []Dep{}})
	}
	return out, nil
}

// timeline gathers each configured resource's last TimelineWindow. A lease
// can only overlap the window if it was claimed at most leases.max_hold
// before it starts (renewals stop there), so the query stays on the
// (resource, created_at) index however long the history is; active rows are
// read as well, in case max_hold was shortened since.
func (s *Service) timeline(ctx context.Context, tx *Tx, ov *Overview) (Timeline, error) {
	to := tx.now
	from := to.Add(-TimelineWindow)
	t := Timeline{From: Time{from}, To: Time{to}}
	queues, err := tx.liveWaiters(ctx)
	if err != nil {
		return t, err
	}
	shadows, err := shadowsFromRows(tx.st.ShadowEditsDetectedSince(ctx, from))
	if err != nil {
		return t, err
	}
	// Two queries, because an OR of the two conditions would scan the table.
	active, err := leasesFromRows(tx.st.LeasesActive(ctx))
	if err != nil {
		return t, err
	}
	for _, r := range s.Config.Resources {
		row := TimelineRow{Resource: r.ID, Domain: r.Domain, Leases: []*Lease{}, ShadowEdits: []*ShadowEdit{}, Waiters: queues[r.ID]}
		if row.Waiters == nil {
			row.Waiters = []Waiter{}
		}
		leases, err := leasesFromRows(tx.st.LeasesForResourceSince(ctx, r.ID, from.Add(-s.Config.Leases.MaxHold)))
		if err != nil {
			return t, err
		}
		for _, l := range active {
			if l.Resource == r.ID && l.CreatedAt.Before(from.Add(-s.Config.Leases.MaxHold)) {
				leases = append([]*Lease{l}, leases...)
			}
		}
		for _, l := range leases {
			l = l.effective(tx.now)
			end := l.EndedAt.Time
			if l.State == LeaseActive {
				end = to
			}
			if end.After(from) && l.CreatedAt.Before(to) {
				row.Leases = append(row.Leases, l)
			}
		}
		for _, e := range shadows {
			if e.Resource == r.ID {
				row.ShadowEdits = append(row.ShadowEdits, e)
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

func (tx *Tx) auditSummary(ctx context.Context) (AuditSummary, error) {
	var a AuditSummary
	var err error
	if a.Head.Seq, a.Head.Hash, _, err = tx.st.DashboardAuditHead(ctx); err != nil {
		return a, storeErr("read audit log", err)
	}
	if a.LastCheck, err = tx.latestVerification(ctx, "audit_chain"); err != nil {
		return a, err
	}
	if a.BlobCheck, err = tx.latestVerification(ctx, "blob_store"); err != nil {
		return a, err
	}
	r, ok, err := tx.st.ReportLatest(ctx)
	if err != nil {
		return a, storeErr("read reports", err)
	}
	if ok {
		a.LastReport = &ReportRecord{Path: r.Path, GeneratedAt: Time{r.GeneratedAt}, HeadSeq: r.HeadSeq, Findings: r.Findings}
	}
	return a, nil
}

// ChangeMark is a cheap fingerprint of the store: it moves whenever a
// command changes state (every change is audited in its own transaction)
// or a queue gains or loses a waiter (waiting is not audited). A live page
// re-reads when it moves.
func (s *Service) ChangeMark(ctx context.Context) (string, error) {
	var m store.ChangeMark
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		m, err = tx.st.ChangeMarkRead(ctx)
		return err
	})
	if err != nil {
		return "", storeErr("read change mark", err)
	}
	return fmt.Sprintf("%d.%d.%d", m.AuditSeq, m.WaiterMaxID, m.Waiters), nil
}

// ItemPage is one item with its history, its signals and its leases: the
// target of an item's permalink.
type ItemPage struct {
	*ItemDetail
	Signals []*Signal `json:"signals"`
	Leases  []*Lease  `json:"leases"`
	Now     Time      `json:"now"`
}

// ItemPage reads an item's permalink page.
func (s *Service) ItemPage(ctx context.Context, id string) (*ItemPage, error) {
	if err := checkItemID("item", id); err != nil {
		return nil, err
	}
	var p *ItemPage
	err := s.read(ctx, func(tx *Tx) error {
		d, err := tx.itemDetail(ctx, id)
		if err != nil {
			return err
		}
		p = &ItemPage{ItemDetail: d, Now: Time{tx.now}}
		if p.Signals, err = tx.listSignals(ctx, SignalFilter{Item: id}); err != nil {
			return err
		}
		leases, err := leasesFromRows(tx.st.LeasesForItem(ctx, id))
		for _, l := range leases {
			p.Leases = append(p.Leases, l.effective(tx.now))
		}
		return err
	})
	return p, err
}

// LeasePage is one lease, found by its fencing token (unique for ever), with
// the queue behind it while it is live.
type LeasePage struct {
	Lease   *Lease   `json:"lease"`
	Waiters []Waiter `json:"waiters"`
	Now     Time     `json:"now"`
}

// LeasePage reads a lease's permalink page.
func (s *Service) LeasePage(ctx context.Context, token int64) (*LeasePage, error) {
	var p *LeasePage
	err := s.read(ctx, func(tx *Tx) error {
		row, ok, err := tx.st.LeaseForToken(ctx, token)
		l, err := leaseFromLookup("read lease", row, ok, err)
		if err != nil {
			return err
		}
		if l == nil {
			return Errorf(ENOTFOUND, "no lease with token %d", token)
		}
		p = &LeasePage{Lease: l.effective(tx.now), Waiters: []Waiter{}, Now: Time{tx.now}}
		if p.Lease.State == LeaseActive {
			queues, err := tx.liveWaiters(ctx)
			if err != nil {
				return err
			}
			if q := queues[l.Resource]; q != nil {
				p.Waiters = q
			}
		}
		return nil
	})
	return p, err
}

// SignalPage is one signal and, for a council call, where it stands.
type SignalPage struct {
	Signal  *Signal      `json:"signal"`
	Council *CouncilCall `json:"council"`
	Now     Time         `json:"now"`
}

// SignalPage reads a signal's permalink page.
func (s *Service) SignalPage(ctx context.Context, id int64) (*SignalPage, error) {
	var p *SignalPage
	err := s.read(ctx, func(tx *Tx) error {
		sig, err := tx.getSignal(ctx, id)
		if err != nil {
			return err
		}
		p = &SignalPage{Signal: sig, Now: Time{tx.now}}
		if sig.Kind == KindCouncilCall {
			p.Council, err = tx.councilCall(ctx, sig, s.Config.Council.TTL)
		}
		return err
	})
	return p, err
}
