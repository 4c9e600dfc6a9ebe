#!/usr/bin/env bash
# Compares the two stores process by process: `oxygen claim` + `release` on
# the embedded SQLite store and on a PostgreSQL server store, next to two
# sqlite3 CLI INSERTs (WAL, synchronous=FULL), interleaved in one run so all
# see the same machine; then throughput and latency with 1, 4 and 16
# concurrent clients on distinct resources, which shows what the one write
# lock costs when writers contend for it. On the server store the pairs run
# as users' hooks do, through oxygen (which hands each command to
# oxygen-pg), and once more calling oxygen-pg directly.
#
# Usage: OXYGEN_BENCH_POSTGRES_URL=postgres://… scripts/bench-stores.sh [ROUNDS] [PAIRS]
#   ROUNDS (default 200): interleaved single-process rounds.
#   PAIRS (default 40): claim+release pairs per client in the concurrent part.
# Without a URL (OXYGEN_BENCH_POSTGRES_URL, else OXYGEN_TEST_POSTGRES_URL)
# only the SQLite columns are measured. Needs sqlite3 and `make build`.
set -euo pipefail
rounds=${1:-200}
pairs=${2:-40}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$here/bin}
url=${OXYGEN_BENCH_POSTGRES_URL:-${OXYGEN_TEST_POSTGRES_URL:-}}
command -v sqlite3 >/dev/null || { echo "bench-stores: sqlite3 is not installed" >&2; exit 2; }
[ -x "$bin/oxygen" ] || { echo "bench-stores: build first (make build)" >&2; exit 2; }
unset OXYGEN_STORE_URL

work=$(mktemp -d)
. "$here/scripts/bench-repos.sh"
cleanup() { [ -z "$url" ] || dropschemas "$url" "$work/pg"; rm -rf "$work"; }
trap cleanup EXIT
mkrepo "$work/lite"
stores="lite"
if [ -n "$url" ]; then mkrepo "$work/pg" "$url"; stores="lite pg"; fi
sqlite3 "$work/base.db" "PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);" >/dev/null
export OXYGEN_OWNER=bench

pair() { # dir resource [tool]
  local x=${3:-oxygen}
  (cd "$1" && OXYGEN_DOMAIN=d${2#r} "$bin/$x" claim "$2" >/dev/null && OXYGEN_DOMAIN=d${2#r} "$bin/$x" release "$2" >/dev/null)
}
for s in $stores; do for _ in 1 2 3; do pair "$work/$s" r01; done; done

echo "== one process at a time ($rounds interleaved rounds, medians in ms)"
for _ in $(seq "$rounds"); do
  t0=$EPOCHREALTIME
  sqlite3 "$work/base.db" "PRAGMA synchronous=FULL; INSERT INTO t (v) VALUES ('x');"
  sqlite3 "$work/base.db" "PRAGMA synchronous=FULL; INSERT INTO t (v) VALUES ('x');"
  t1=$EPOCHREALTIME
  pair "$work/lite" r01
  t2=$EPOCHREALTIME
  if [ -n "$url" ]; then pair "$work/pg" r01; fi
  t3=$EPOCHREALTIME
  if [ -n "$url" ]; then pair "$work/pg" r01 oxygen-pg; fi
  t4=$EPOCHREALTIME
  echo "$t0 $t1 $t2 $t3 $t4"
done | awk -v pg="${url:+1}" -f "$here/scripts/median.awk" -f <(echo '
{ n++; ins[n] = ($2 - $1) * 1000; lite[n] = ($3 - $2) * 1000; pgs[n] = ($4 - $3) * 1000; pgd[n] = ($5 - $4) * 1000 }
END {
  s = median(ins, n); l = median(lite, n)
  printf "  two sqlite3 INSERTs                 %7.2f\n", s
  printf "  claim+release, SQLite store         %7.2f  (%.2fx)\n", l, l / s
  if (pg) { p = median(pgs, n); printf "  claim+release, PostgreSQL store     %7.2f  (%.2fx; oxygen hands off to oxygen-pg)\n", p, p / s }
  if (pg) { p = median(pgd, n); printf "  the same, calling oxygen-pg         %7.2f  (%.2fx)\n", p, p / s }
}')

echo "== concurrent clients on distinct resources ($pairs claim+release pairs each)"
printf "  %-10s %8s %10s %10s %10s\n" store clients "pairs/s" "p50 ms" "p99 ms"
for s in $stores; do
  for c in 1 4 16; do
    rm -f "$work"/lat.*
    start=$EPOCHREALTIME
    for i in $(seq -w 1 "$c"); do
      (for _ in $(seq "$pairs"); do a=$EPOCHREALTIME; pair "$work/$s" "r$(printf %02d $((10#$i)))"; echo "$a $EPOCHREALTIME"; done > "$work/lat.$i") &
    done
    wait
    end=$EPOCHREALTIME
    cat "$work"/lat.* | awk -v s="$s" -v c="$c" -v wall="$(echo "$end - $start" | bc)" -f "$here/scripts/median.awk" -f <(echo '
{ n++; d[n] = ($2 - $1) * 1000 }
END {
  for (i = 2; i <= n; i++) { t = d[i]; for (j = i - 1; j >= 1 && d[j] > t; j--) d[j+1] = d[j]; d[j+1] = t }
  p99 = d[int(n * 0.99) > 0 ? int(n * 0.99) : 1]
  printf "  %-10s %8d %10.1f %10.2f %10.2f\n", (s == "lite" ? "sqlite" : "postgres"), c, n / wall, median(d, n), p99
}')
  done
done
