#!/usr/bin/env bash
# Times whole processes: `oxygen claim`, `oxygen release`, `oxygen status` and
# `orchestrate status` next to the sqlite3 CLI doing one INSERT into a WAL database with
# synchronous=FULL, interleaved in one run so that both see the same machine;
# and, as floors, two processes of a Go program that does nothing and of one
# that only links the SQLite driver (internal/gen/floor).
#
# Usage: scripts/bench-processes.sh [ROUNDS]   (default 300; needs sqlite3)
set -euo pipefail
rounds=${1:-300}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$here/bin}
command -v sqlite3 >/dev/null || { echo "bench-processes: sqlite3 is not installed" >&2; exit 2; }
[ -x "$bin/oxygen" ] || { echo "bench-processes: build first (make build)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The floors: a Go program that does nothing, and one that only links the
# SQLite driver. No command can start faster than the second.
(cd "$here" && go build -trimpath -o "$work/floor/" ./internal/gen/floor/empty ./internal/gen/floor/sqlite)
cd "$work"
"$bin/orchestrate" init >/dev/null
sqlite3 base.db "PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);" >/dev/null
export OXYGEN_OWNER=bench OXYGEN_DOMAIN=builder

# Warm the page cache and the binaries.
for _ in 1 2 3; do
  "$bin/oxygen" claim storage >/dev/null; "$bin/oxygen" release storage >/dev/null
  sqlite3 base.db "PRAGMA synchronous=FULL; INSERT INTO t (v) VALUES ('x');"
done

for _ in $(seq "$rounds"); do
  t0=$EPOCHREALTIME
  sqlite3 base.db "PRAGMA synchronous=FULL; INSERT INTO t (v) VALUES ('x');"
  t1=$EPOCHREALTIME
  sqlite3 base.db "PRAGMA synchronous=FULL; INSERT INTO t (v) VALUES ('x');"
  t2=$EPOCHREALTIME
  "$bin/oxygen" claim storage >/dev/null
  t3=$EPOCHREALTIME
  "$bin/oxygen" release storage >/dev/null
  t4=$EPOCHREALTIME
  "$bin/oxygen" status >/dev/null
  t5=$EPOCHREALTIME
  "$bin/orchestrate" status >/dev/null
  t6=$EPOCHREALTIME
  "$work/floor/empty"; "$work/floor/empty"
  t7=$EPOCHREALTIME
  "$work/floor/sqlite"; "$work/floor/sqlite"
  t8=$EPOCHREALTIME
  echo "$t0 $t1 $t2 $t3 $t4 $t5 $t6 $t7 $t8"
done | awk -v rounds="$rounds" -f "$here/scripts/median.awk" -f <(echo '
{
  n++
  ins1[n] = ($2 - $1) * 1000; ins2[n] = ($3 - $2) * 1000
  claim[n] = ($4 - $3) * 1000; rel[n] = ($5 - $4) * 1000; stat[n] = ($6 - $5) * 1000
  ostat[n] = ($7 - $6) * 1000
  pair_sql[n] = ($3 - $1) * 1000; pair_oxy[n] = ($5 - $3) * 1000
  pair_empty[n] = ($8 - $7) * 1000; pair_lite[n] = ($9 - $8) * 1000
}
END {
  printf "rounds: %d (medians, milliseconds per process)\n", n
  printf "  sqlite3 INSERT (WAL, synchronous=FULL)  %6.2f\n", median(ins1, n)
  printf "  oxygen claim                            %6.2f\n", median(claim, n)
  printf "  oxygen release                          %6.2f\n", median(rel, n)
  printf "  oxygen status                           %6.2f\n", median(stat, n)
  printf "  orchestrate status                      %6.2f\n", median(ostat, n)
  s = median(pair_sql, n); o = median(pair_oxy, n)
  printf "  two sqlite3 INSERTs                     %6.2f\n", s
  printf "  claim + release                         %6.2f  (%.2fx; target <= 2x)\n", o, o / s
  e = median(pair_empty, n); l = median(pair_lite, n)
  printf "  floor: two empty Go processes           %6.2f  (%.2fx)\n", e, e / s
  printf "  floor: two that only link SQLite        %6.2f  (%.2fx)\n", l, l / s
}')
