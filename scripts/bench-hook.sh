#!/usr/bin/env bash
# Times `oxygen hook pre-edit`, the Claude Code PreToolUse hook, as the agent
# pays for it: one whole process per edit, fed the hook's JSON on stdin.
# Three cases, interleaved in one run: a path under no resource (decided from
# the config alone), a path under a resource the agent holds (one read
# transaction), and a path it does not hold (blocked: a write transaction
# that records guard.block). /bin/true is the floor a process costs here.
#
# Usage: scripts/bench-hook.sh [ROUNDS]   (default 300)
set -euo pipefail
rounds=${1:-300}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$here/bin}
[ -x "$bin/oxygen" ] || { echo "bench-hook: build first (make build)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin/orchestrate" init >/dev/null
export OXYGEN_OWNER=bench OXYGEN_DOMAIN=builder
"$bin/oxygen" claim storage --ttl 4h >/dev/null
payload() { printf '{"hook_event_name":"PreToolUse","tool_name":"Edit","cwd":"%s","tool_input":{"file_path":"%s","old_string":"a","new_string":"b"}}' "$work" "$1" > "$2"; }
payload src/main.go free.json
payload backups/rotate.sh held.json
payload deploy/install.sh blocked.json

for _ in 1 2 3; do
  "$bin/oxygen" hook pre-edit < free.json; "$bin/oxygen" hook pre-edit < held.json
done

for _ in $(seq "$rounds"); do
  t0=$EPOCHREALTIME
  /bin/true < free.json
  t1=$EPOCHREALTIME
  "$bin/oxygen" hook pre-edit < free.json
  t2=$EPOCHREALTIME
  "$bin/oxygen" hook pre-edit < held.json
  t3=$EPOCHREALTIME
  "$bin/oxygen" hook pre-edit < blocked.json 2>/dev/null || [ $? -eq 2 ]
  t4=$EPOCHREALTIME
  echo "$t0 $t1 $t2 $t3 $t4"
done | awk -f "$here/scripts/median.awk" -f <(echo '
{
  n++
  floor[n] = ($2 - $1) * 1000; free[n] = ($3 - $2) * 1000; held[n] = ($4 - $3) * 1000; blocked[n] = ($5 - $4) * 1000
}
END {
  printf "rounds: %d (medians, milliseconds per process)\n", n
  printf "  /bin/true (process floor)               %6.2f\n", median(floor, n)
  printf "  pre-edit, path under no resource        %6.2f\n", median(free, n)
  printf "  pre-edit, path under a held resource    %6.2f\n", median(held, n)
  printf "  pre-edit, blocked (audited)             %6.2f\n", median(blocked, n)
}')
