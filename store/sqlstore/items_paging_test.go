package sqlstore_test

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/oxygen-tools/oxygen/store"
)

// eachIDs is the ids ItemsEach yields, stopping after max (0: all).
func eachIDs(t *testing.T, tx store.Tx, f store.ItemFilter, after store.ItemKey, max int) ([]string, [][]store.ItemDep) {
	t.Helper()
	var ids []string
	var deps [][]store.ItemDep
	err := tx.ItemsEach(context.Background(), f, after, func(it store.ItemWithDeps) (bool, error) {
		ids = append(ids, it.ID)
		deps = append(deps, it.Deps)
		return max == 0 || len(ids) < max, nil
	})
	itemsMust(t, err)
	return ids, deps
}

// Items created in one transaction share their creation time: the key's id
// keeps pages apart, across the store's own page size too.
func TestItemsEachPages(t *testing.T) {
	eachItemsStore(t, func(t *testing.T, tx store.Tx) {
		ctx := context.Background()
		var want []string
		for i := range 600 {
			id := fmt.Sprintf("P-%04d", i)
			f := itemFields("builder")
			if i%3 == 0 {
				f.Priority = "high"
			}
			itemsMust(t, tx.ItemInsert(ctx, id, f, itemsT0))
			want = append(want, id)
		}
		itemsMust(t, tx.ItemInsert(ctx, "A-late", itemFields("scribe"), itemsT0.Add(time.Second)))
		want = append(want, "A-late")
		itemsMust(t, tx.ItemDepsReplace(ctx, "P-0599", []string{"P-0001", "A-late"}))
		if ok, err := tx.ItemSetStatusIf(ctx, "P-0001", store.ItemOpen, store.ItemDeadEnd, "", itemsT0); err != nil || !ok {
			t.Fatal(ok, err)
		}

		all, deps := eachIDs(t, tx, store.ItemFilter{}, store.ItemKey{}, 0)
		if !reflect.DeepEqual(all, want) {
			t.Fatalf("ItemsEach yields %d items, want %d in creation order then id", len(all), len(want))
		}
		wantDeps := []store.ItemDep{{Item: "P-0599", DependsOn: "P-0001", Status: store.ItemDeadEnd}, {Item: "P-0599", DependsOn: "A-late", Status: store.ItemOpen}}
		if !reflect.DeepEqual(deps[599], wantDeps) || deps[598] != nil {
			t.Errorf("deps of P-0599 = %+v, of P-0598 = %+v", deps[599], deps[598])
		}

		// Pages of 7, each after the last key of the previous, add up to
		// the whole listing, each item once.
		var paged []string
		after := store.ItemKey{}
		for {
			page, _ := eachIDs(t, tx, store.ItemFilter{}, after, 7)
			if len(page) == 0 {
				break
			}
			paged = append(paged, page...)
			last, err := tx.ItemGet(ctx, page[len(page)-1])
			itemsMust(t, err)
			after = last.Key()
		}
		if !reflect.DeepEqual(paged, want) {
			t.Errorf("paged listing has %d items, want %d in the same order", len(paged), len(want))
		}

		if got, _ := eachIDs(t, tx, store.ItemFilter{}, store.ItemKey{CreatedAt: itemsT0, ID: "P-0597"}, 0); !reflect.DeepEqual(got, []string{"P-0598", "P-0599", "A-late"}) {
			t.Errorf("after P-0597: %v", got)
		}
		high, _ := eachIDs(t, tx, store.ItemFilter{Status: store.ItemOpen, Priority: "high"}, store.ItemKey{CreatedAt: itemsT0, ID: "P-0590"}, 0)
		if !reflect.DeepEqual(high, []string{"P-0591", "P-0594", "P-0597"}) {
			t.Errorf("open high after P-0590: %v", high)
		}
		if dead, _ := eachIDs(t, tx, store.ItemFilter{Status: store.ItemDeadEnd}, store.ItemKey{}, 0); !reflect.DeepEqual(dead, []string{"P-0001"}) {
			t.Errorf("dead ends: %v", dead)
		}

		// DepsDone: P-0599 waits on a dead end and an open item, P-0598 on
		// a done one.
		itemsMust(t, tx.ItemDepsReplace(ctx, "P-0598", []string{"P-0002"}))
		for _, to := range []store.ItemStatus{store.ItemInProgress, store.ItemDone} {
			from, _ := tx.ItemGet(ctx, "P-0002")
			if ok, err := tx.ItemSetStatusIf(ctx, "P-0002", from.Status, to, "ada", itemsT0); err != nil || !ok {
				t.Fatal(ok, err)
			}
		}
		free, _ := eachIDs(t, tx, store.ItemFilter{Status: store.ItemOpen, DepsDone: true}, store.ItemKey{CreatedAt: itemsT0, ID: "P-0596"}, 0)
		if !reflect.DeepEqual(free, []string{"P-0597", "P-0598", "A-late"}) {
			t.Errorf("open with every dependency done, after P-0596: %v", free)
		}
	})
}

// A listing of 100k items is read a page at a time: the heap does not hold
// the listing. Held whole, 100k items take well over 50 MB.
func TestItemsEachMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("inserts 100k items")
	}
	const n = 100_000
	eachItemsStore(t, func(t *testing.T, tx store.Tx) {
		ctx := context.Background()
		itemsRaw(t, ctx, tx, fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			INSERT INTO items (id, title, kind, domain, priority, status, owner, objective, in_scope, out_of_scope, invariants, files, commands, created_at, updated_at)
			SELECT 'M' || CAST(i AS TEXT), 'a title of some length, as titles are', 'chore', 'builder', 'low', 'open', '', 'an objective that says what the item is for, in a sentence or two',
				'["one thing", "another"]', '[]', '[]', '["src/some/file.go"]', '["go test ./..."]', 1767323045000, 1767323045000 FROM n`, n))
		var before, peak runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		count := 0
		last := ""
		err := tx.ItemsEach(ctx, store.ItemFilter{Status: store.ItemOpen}, store.ItemKey{}, func(it store.ItemWithDeps) (bool, error) {
			if it.ID <= last {
				return false, fmt.Errorf("%s after %s", it.ID, last)
			}
			last = it.ID
			if count++; count%10_000 == 0 {
				var m runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > peak.HeapAlloc {
					peak = m
				}
			}
			return true, nil
		})
		itemsMust(t, err)
		if count != n {
			t.Fatalf("listed %d items, want %d", count, n)
		}
		const bound = 8 << 20
		if grew := int64(peak.HeapAlloc) - int64(before.HeapAlloc); grew > bound {
			t.Errorf("the heap grew by %d bytes while listing %d items; want at most %d", grew, n, bound)
		}
	})
}
