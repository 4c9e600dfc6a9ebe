#!/usr/bin/env bash
# Contention on the one write lock, with whole processes.
#   one resource: C clients loop `oxygen claim r01 --wait 1m` (queued first
#     come, first served) and `oxygen release r01`; prints pairs per second
#     and the holder's release latency (p50, p99).
#   distinct resources: C clients each loop claim+release on their own
#     resource; prints pairs per second and the smallest share of any client
#     relative to the largest (1.00 = equal).
# Usage: scripts/bench-contention.sh [SECONDS] [CLIENTS...]   (default 10 s; 1 4 16)
# With OXYGEN_BENCH_POSTGRES_URL set, runs on a PostgreSQL server store too.
set -euo pipefail
secs=${1:-10}; shift || true
clients=${*:-1 4 16}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$here/bin}
url=${OXYGEN_BENCH_POSTGRES_URL:-}
[ -x "$bin/oxygen" ] || { echo "bench-contention: build first (make build)" >&2; exit 2; }
unset OXYGEN_STORE_URL
work=$(mktemp -d)
. "$here/scripts/bench-repos.sh"
cleanup() { [ -z "$url" ] || dropschemas "$url" "$work/pg"; rm -rf "$work"; }
trap cleanup EXIT
mkrepo "$work/lite"; stores=lite
if [ -n "$url" ]; then mkrepo "$work/pg" "$url"; stores="lite pg"; fi

one() { # dir client deadline -> lines "release_ms"
  local dir=$1 c=$2 end=$3
  cd "$dir"
  while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
    if OXYGEN_DOMAIN=d01 "$bin/oxygen" claim r01 --wait 1m --owner "c$c" >/dev/null 2>&1; then
      a=$EPOCHREALTIME
      OXYGEN_DOMAIN=d01 "$bin/oxygen" release r01 --owner "c$c" >/dev/null
      echo "$a $EPOCHREALTIME"
    fi
  done
}
own() { # dir client deadline -> one line per pair
  local dir=$1 c=$2 end=$3 r; r=$(printf 'r%02d' "$c")
  cd "$dir"
  while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
    OXYGEN_DOMAIN=d${r#r} "$bin/oxygen" claim "$r" --owner "c$c" >/dev/null
    OXYGEN_DOMAIN=d${r#r} "$bin/oxygen" release "$r" --owner "c$c" >/dev/null
    echo x
  done
}
stats='
{ n++; d[n] = ($2 - $1) * 1000 }
END {
  for (i = 2; i <= n; i++) { t = d[i]; for (j = i - 1; j >= 1 && d[j] > t; j--) d[j+1] = d[j]; d[j+1] = t }
  k = int(n * 0.99); if (k < 1) k = 1
  printf "  %-9s %7d %9.1f %9.2f %9.2f\n", s, c, n / secs, (n ? median(d, n) : 0), (n ? d[k] : 0)
}'
echo "== one resource, $secs s: pairs/s and the holder's release latency (ms)"
printf "  %-9s %7s %9s %9s %9s\n" store clients "pairs/s" "p50" "p99"
for s in $stores; do
  for c in $clients; do
    end=$(( ${EPOCHREALTIME/./} + secs * 1000000 ))
    for i in $(seq "$c"); do one "$work/$s" "$i" "$end" > "$work/one.$i" & done; wait
    cat "$work"/one.* | awk -v s="$([ $s = lite ] && echo sqlite || echo postgres)" -v c="$c" -v secs="$secs" -f "$here/scripts/median.awk" -f <(echo "$stats")
    rm -f "$work"/one.*
  done
done
echo "== distinct resources, $secs s: pairs/s and the smallest client's share of the largest"
printf "  %-9s %7s %9s %9s\n" store clients "pairs/s" "min/max"
for s in $stores; do
  for c in $clients; do
    end=$(( ${EPOCHREALTIME/./} + secs * 1000000 ))
    for i in $(seq "$c"); do own "$work/$s" "$i" "$end" > "$work/own.$i" & done; wait
    for i in $(seq "$c"); do wc -l < "$work/own.$i"; done | awk -v s="$([ $s = lite ] && echo sqlite || echo postgres)" -v c="$c" -v secs="$secs" '
      { n += $1; if (NR == 1 || $1 < lo) lo = $1; if ($1 > hi) hi = $1 }
      END { printf "  %-9s %7d %9.1f %9.2f\n", s, c, n / secs, (hi ? lo / hi : 0) }'
    rm -f "$work"/own.*
  done
done
