#!/usr/bin/env bash
# Times `oxygen claim` and `oxygen release` processes against the number of
# files under the claimed resource: each boundary fingerprints the resource
# in the worktree, reading only files the stat cache cannot vouch for.
#
# For each size it initialises a scratch repository with that many files
# under backups/ (the storage resource, 100 per directory) and reports
# medians in milliseconds per process, wall clock and, when perf is
# installed, CPU time (task-clock: what the process itself costs, which a
# busy host disturbs less than the wall clock):
#   first    the first claim ever: every file is hashed into the blob store
#   claim    a claim when nothing changed (stat cache warm)
#   release  its release
#   changed  a claim after one file changed without a lease (one file
#            hashed; the claim records a shadow edit and its signal)
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
perf=0
if command -v perf >/dev/null && perf stat -x, -e task-clock true >/dev/null 2>&1; then perf=1; fi

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else printf "%.1f", (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2 }'; }

# timed NAME CMD...: runs CMD, appends its wall time (ms) to NAME.wall.
timed() {
  local name=$1 t0 t1
  shift
  t0=$EPOCHREALTIME; "$@" >/dev/null; t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }' >> "$name.wall"
}

# cpu NAME CMD...: runs CMD under perf stat, appends its CPU time (ms) to NAME.cpu.
cpu() {
  local name=$1
  shift
  if [ "$perf" = 1 ]; then
    perf stat -x, -e task-clock -o perf.out "$@" >/dev/null
    awk -F, '/task-clock/ { print $1 }' perf.out >> "$name.cpu"
  else
    "$@" >/dev/null
  fi
}

printf "%8s %22s %22s %22s %22s\n" "" "first" "claim" "release" "changed"
printf "%8s %22s %22s %22s %22s\n" files "wall / cpu ms" "wall / cpu ms" "wall / cpu ms" "wall / cpu ms"
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
    timed first "$bin/oxygen" claim storage
    "$bin/oxygen" release storage >/dev/null
    for ((r = 0; r < rounds; r++)); do
      timed claim "$bin/oxygen" claim storage
      timed release "$bin/oxygen" release storage
      cpu claim "$bin/oxygen" claim storage
      cpu release "$bin/oxygen" release storage
    done
    for ((r = 0; r < rounds; r++)); do
      echo "unleased $r" >> backups/d0/f0
      timed changed "$bin/oxygen" claim storage
      "$bin/oxygen" release storage >/dev/null
      echo "unleased again $r" >> backups/d0/f0
      cpu changed "$bin/oxygen" claim storage
      "$bin/oxygen" release storage >/dev/null
    done
    row=$(printf "%8d" "$n")
    for m in first claim release changed; do
      w=$(median < "$m.wall")
      c=-
      [ -f "$m.cpu" ] && c=$(median < "$m.cpu")
      row+=$(printf " %22s" "$w / $c")
    done
    echo "$row"
  )
  rm -rf "$work"
done
