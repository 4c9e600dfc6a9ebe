// Command gen builds a store of a given size for scale benchmarks
// (scripts/bench-scale.sh): a git repository initialised by orchestrate,
// whose items, leases, signals and reports are written by the rules'
// own code paths (workflow.Batch), so that its audit chain is intact and
// `orchestrate audit verify --full` finds every row accounted for.
//
//	go run ./internal/gen -dir DIR -items 100000 -leases 1000000 -signals 10000 -reports 10000
//
// The history spans the past: one step of twenty seconds per operation,
// ending at least an hour before now, so commands run on the result at today's time.
// The shape:
//   - items rotate over the domains and priorities; every fourth depends on
//     the one before; six in ten are assigned and done, one in ten dead-ended,
//     the rest stay open; at the end one open item per domain is assigned, so
//     `list --status in_progress` has rows and each domain keeps room for one
//     more under the default attention budget of 2.
//   - leases rotate over the config's resources, each claimed by one of 16
//     owners of the resource's domain and released two seconds later (a
//     resource's owner comes back after 128 leases, past leases.cooldown);
//     one in ten is renewed before its release. Each lease is two or three
//     audit events.
//   - signals are missives between domains; reports are audit reports with
//     files, blobs and rows (see workflow.Batch.Report).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/oxygen-tools/oxygen/workflow"
)

func main() {
	var o options
	flag.StringVar(&o.dir, "dir", "", "directory to create the repository in (must not exist, or be empty)")
	flag.IntVar(&o.items, "items", 1000, "work items")
	flag.IntVar(&o.leases, "leases", 10000, "leases, each claimed and released")
	flag.IntVar(&o.signals, "signals", 100, "missives between domains (each also a JSON file)")
	flag.IntVar(&o.reports, "reports", 100, "audit reports (each a row, two blobs and two files)")
	flag.IntVar(&o.batch, "batch", 20000, "operations per write transaction")
	flag.Parse()
	if o.dir == "" || o.items < 1 || o.leases < 0 || o.signals < 0 || o.reports < 0 || o.batch < 1 {
		fmt.Fprintln(os.Stderr, "gen: -dir is required; -items must be at least 1 and the other counts not negative")
		os.Exit(2)
	}
	start := time.Now()
	if err := generate(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "gen: %s: %d items, %d leases, %d signals, %d reports in %s\n",
		o.dir, o.items, o.leases, o.signals, o.reports, time.Since(start).Round(time.Millisecond))
}

type options struct {
	dir                                    string
	items, leases, signals, reports, batch int
}

// step is the time between two generated operations. A claim reads the
// resource's leases of the last leases.max_hold (LeaseHoldSince), so the
// step sets how many that is: about 180 here, some 1,000 with 3s steps,
// which made generation three times slower.
const step = 20 * time.Second

func generate(ctx context.Context, o options) error {
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	if entries, err := os.ReadDir(o.dir); err != nil || len(entries) > 0 {
		return fmt.Errorf("%s must be an empty directory", o.dir)
	}
	if err := git(o.dir, "init", "-q"); err != nil {
		return err
	}
	// An operation takes one step and at most two more seconds.
	ops := o.items + o.leases + o.signals + o.reports + 1
	now := time.Now().UTC().Add(-time.Hour - time.Duration(ops)*(step+2*time.Second)).Truncate(time.Millisecond)
	clock := func() time.Time { return now }
	if _, err := workflow.Init(ctx, o.dir, true, clock); err != nil {
		return err
	}
	if err := git(o.dir, "add", "-A"); err != nil {
		return err
	}
	if err := git(o.dir, "-c", "user.name=gen", "-c", "user.email=gen@example.invalid", "commit", "-q", "-m", "orchestrate init"); err != nil {
		return err
	}
	abs, err := filepath.Abs(o.dir)
	if err != nil {
		return err
	}
	l, err := workflow.Discover(abs)
	if err != nil {
		return err
	}
	svc, err := workflow.OpenService(ctx, l, clock)
	if err != nil {
		return err
	}
	defer svc.Store.Close()
	g := &generator{o: o, cfg: svc.Config, done: make([]bool, o.items+1), ids: make([]string, o.items+1)}
	for _, d := range svc.Config.Domains {
		g.domains = append(g.domains, d.Name)
	}
	// Work is cut into transactions of o.batch operations; each picks up
	// the schedule where the last one stopped.
	for !g.finished() {
		err := svc.Batch(ctx, func(b *workflow.Batch) error {
			for n := 0; n < o.batch && !g.finished(); n++ {
				if err := g.next(b, func(d time.Duration) { now = now.Add(d); b.At(now) }); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return svc.Batch(ctx, func(b *workflow.Batch) error { return g.finish(b, now.Add(step)) })
}

func git(dir string, args ...string) error {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %v: %v: %s", args, err, out)
	}
	return nil
}

// generator walks the schedule: item k (1-based) is created, then its share
// of the leases, signals and reports, spread evenly over the items.
type generator struct {
	o       options
	cfg     *workflow.Config
	domains []string
	k       int      // items created so far
	lease   int      // leases granted so far
	signal  int      // signals sent so far
	report  int      // reports written so far
	done    []bool   // done[k]: item k is done
	ids     []string // ids[k]: item k's id
}

func (g *generator) finished() bool {
	return g.k == g.o.items && g.lease == g.o.leases && g.signal == g.o.signals && g.report == g.o.reports
}

// share is how many of total belong to the first k items.
func share(total, k, items int) int { return int(int64(total) * int64(k) / int64(items)) }

// next runs one operation of the schedule, advancing time through tick.
func (g *generator) next(b *workflow.Batch, tick func(time.Duration)) error {
	tick(step)
	switch {
	case g.lease < share(g.o.leases, g.k, g.o.items):
		return g.nextLease(b, tick)
	case g.signal < share(g.o.signals, g.k, g.o.items):
		g.signal++
		from, to := g.domains[g.signal%len(g.domains)], g.domains[(g.signal+1)%len(g.domains)]
		return b.Signal(workflow.SignalSpec{Kind: workflow.KindMissive, From: from, FromDomain: from, To: to, Topic: "handover",
			Item: g.ids[g.k], Body: fmt.Sprintf("generated missive %d about %s", g.signal, g.ids[g.k])})
	case g.report < share(g.o.reports, g.k, g.o.items):
		g.report++
		return b.Report(workflow.SystemActor.Owner)
	default:
		return g.nextItem(b, tick)
	}
}

func (g *generator) nextItem(b *workflow.Batch, tick func(time.Duration)) error {
	g.k++
	k := g.k
	domain := g.domains[k%len(g.domains)]
	// The id is given, as `orchestrate add ID` may: taking the next number
	// reads every item's id (ItemNextNumber), which made generation
	// quadratic in the number of items.
	spec := workflow.ItemSpec{ID: fmt.Sprintf("%s-%03d", g.cfg.Items.IDPrefix, k), Title: fmt.Sprintf("generated item %d", k), Kind: "chore", Domain: domain,
		Priority: workflow.Priorities[k%len(workflow.Priorities)], Objective: fmt.Sprintf("Objective of generated item %d.", k)}
	if k%4 == 0 {
		spec.DependsOn = []string{g.ids[k-1]}
	}
	id, err := b.AddItem(spec, domain)
	if err != nil {
		return err
	}
	g.ids[k] = id
	switch fate := g.fate(k); {
	case fate < 6 && (k%4 != 0 || g.done[k-1]):
		tick(time.Second)
		if err := b.Assign(id, domain); err != nil {
			return err
		}
		tick(time.Second)
		g.done[k] = true
		return b.Move("done", id, domain)
	case fate == 6:
		tick(time.Second)
		return b.Move("dead-end", id, domain)
	}
	return nil
}

// fate picks what becomes of item k: 0-5 done, 6 dead-ended, 7-9 open. It
// cycles per domain, so that every domain has items of each kind.
func (g *generator) fate(k int) int { return k / len(g.domains) % 10 }

func (g *generator) nextLease(b *workflow.Batch, tick func(time.Duration)) error {
	g.lease++
	i := g.lease
	res := g.cfg.Resources[i%len(g.cfg.Resources)]
	actor := workflow.Actor{Owner: fmt.Sprintf("%s-agent%d", res.Domain, (i/len(g.cfg.Resources))%16), Domain: res.Domain}
	if _, err := b.Claim(workflow.ClaimRequest{Resource: res.ID, Actor: actor, Reason: "generated"}); err != nil {
		return err
	}
	if i%10 == 0 {
		tick(time.Second)
		if err := b.Renew(res.ID, actor, 30*time.Minute); err != nil {
			return err
		}
	}
	tick(time.Second)
	return b.Release(res.ID, actor)
}

// finish assigns one open item per domain whose dependencies are done, so
// that some items are in progress and each domain can still take one more.
func (g *generator) finish(b *workflow.Batch, at time.Time) error {
	b.At(at)
	for _, domain := range g.domains {
		busy, err := b.ItemsInProgress(domain)
		if err != nil || len(busy) > 0 {
			return err
		}
		for k := g.o.items; k >= 1; k-- {
			if g.domains[k%len(g.domains)] == domain && !g.done[k] && g.fate(k) != 6 && (k%4 != 0 || g.done[k-1]) {
				if err := b.Assign(g.ids[k], domain); err != nil {
					return err
				}
				break
			}
		}
	}
	return nil
}
