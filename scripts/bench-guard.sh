#!/usr/bin/env bash
# Times the guard's git hooks and range check on a scratch repository: a
# commit through both hooks against the same commit with --no-verify (one
# file under a leased resource, one plain file), then `oxygen check --range`
# over the COMMITS commits made that way.
#
# Usage: scripts/bench-guard.sh [COMMITS]   (default 100)
set -euo pipefail
commits=${1:-100}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$here/bin}
[ -x "$bin/oxygen" ] || { echo "bench-guard: build first (make build)" >&2; exit 2; }
export PATH="$bin:$PATH"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
git init -q
git config user.name bench
git config user.email bench@example.com
git config commit.gpgsign false
orchestrate init >/dev/null
oxygen hook install >/dev/null
mkdir -p deploy
echo 0 > deploy/install.sh
echo 0 > notes.txt
git add . && git commit -q --no-verify -m base
base=$(git rev-parse HEAD)
export OXYGEN_OWNER=bench OXYGEN_DOMAIN=builder
oxygen claim deployment --ttl 4h >/dev/null

for i in $(seq "$commits"); do
  echo "$i" > deploy/install.sh
  t0=$EPOCHREALTIME
  git commit -q -a -m "hooked $i" >/dev/null 2>&1
  t1=$EPOCHREALTIME
  echo "$i" > notes.txt
  git commit -q -a --no-verify -m "plain $i"
  t2=$EPOCHREALTIME
  echo "$t0 $t1 $t2"
done | awk '
  { h[NR] = ($2 - $1) * 1000; p[NR] = ($3 - $2) * 1000 }
  function median(a, n,   i, j, t) {
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j > 0 && a[j] > t; j--) a[j+1] = a[j]; a[j+1] = t }
    return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
  }
  END { printf "git commit, both hooks: %.1f ms   --no-verify: %.1f ms   (medians of %d)\n", median(h, NR), median(p, NR), NR }'

t0=$EPOCHREALTIME
oxygen check --range "$base..HEAD" >/dev/null
t1=$EPOCHREALTIME
awk -v a="$t0" -v b="$t1" -v n="$((commits * 2))" 'BEGIN { printf "oxygen check --range over %d commits: %.0f ms (%.1f ms per commit)\n", n, (b - a) * 1000, (b - a) * 1000 / n }'
