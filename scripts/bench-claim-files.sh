#!/usr/bin/env bash
# Times `oxygen claim` + `oxygen release` processes against the number of
# files under the claimed resource: each boundary fingerprints the resource
# in the worktree, reading only files the stat cache cannot vouch for.
#
# For each size it initialises a scratch repository with that many files
# under backups/ (the storage resource, 100 per directory) and reports the
# medians, in milliseconds per process, of:
#   first    the first claim ever: every file is hashed into the blob store
#   claim    a claim when nothing changed (stat cache warm)
#   release  its release
#   changed  a claim after one file changed without a lease (one file
#            hashed; the claim records a shadow edit)
#
# Usage: scripts/bench-claim-files.sh [ROUNDS] [SIZES...]   (default 30; 10 1000 10000)
set -euo pipefail
rounds=${1:-30}
shift || true
sizes=${*:-10 1000 10000}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$here/bin}
[ -x "$bin/oxygen" ] || { echo "bench-claim-files: build first (make build)" >&2; exit 2; }
export OXYGEN_OWNER=bench OXYGEN_DOMAIN=builder

ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) * 1000 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2 }'; }

printf "%8s %10s %10s %10s %10s\n" files first claim release changed
for n in $sizes; do
  work=$(mktemp -d)
  (
    cd "$work"
    "$bin/orchestrate" init >/dev/null
    for ((i = 0; i < n; i++)); do
      d=backups/d$((i / 100))
      [ -d "$d" ] || mkdir -p "$d"
      echo "backup $i" > "$d/f$i"
    done
    # Files written within the stat cache's racy window are hashed again;
    # let them age first, as they would in a repository in use.
    sleep 3
    t0=$EPOCHREALTIME; "$bin/oxygen" claim storage >/dev/null; t1=$EPOCHREALTIME
    "$bin/oxygen" release storage >/dev/null
    first=$(ms "$t0" "$t1")
    : > claim.txt; : > release.txt; : > changed.txt
    for ((r = 0; r < rounds; r++)); do
      t0=$EPOCHREALTIME; "$bin/oxygen" claim storage >/dev/null; t1=$EPOCHREALTIME
      "$bin/oxygen" release storage >/dev/null; t2=$EPOCHREALTIME
      ms "$t0" "$t1" >> claim.txt; echo >> claim.txt
      ms "$t1" "$t2" >> release.txt; echo >> release.txt
    done
    for ((r = 0; r < rounds; r++)); do
      echo "unleased $r" >> backups/d0/f0
      t0=$EPOCHREALTIME; "$bin/oxygen" claim storage >/dev/null; t1=$EPOCHREALTIME
      "$bin/oxygen" release storage >/dev/null
      ms "$t0" "$t1" >> changed.txt; echo >> changed.txt
    done
    printf "%8d %10s %10s %10s %10s\n" "$n" "$first" "$(median < claim.txt)" "$(median < release.txt)" "$(median < changed.txt)"
  )
  rm -rf "$work"
done
