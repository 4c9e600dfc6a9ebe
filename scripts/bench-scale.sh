#!/usr/bin/env bash
# Times whole processes on stores of growing size: does a command's latency
# depend on how much history the store holds?
#
# Usage: scripts/bench-scale.sh [ROUNDS] [SIZES...]
#   ROUNDS  runs per command and store, medians reported (default 11)
#   SIZES   item counts (default: 1000 10000 100000)
#
# Each store of N items is built by internal/gen with N*10 leases (each
# claimed and released, one in ten renewed), N/10 signals and N/10 audit
# reports: about 23 audit events per item. It is cached under
# $BENCH_SCALE_CACHE (default ~/.cache/oxygen/bench-scale), keyed by size and
# shape, so reruns skip the generation (100k items took 12 minutes on
# 2 shared cores); each run works on a copy. The "empty" store is a fresh
# `orchestrate init`.
#
# The empty store's rounds are interleaved with each size's (a round on
# the empty store, a round on the copy, and so on), so that both see the
# same load: a size's ratio is its median over the median of the empty
# rounds run alongside it; the empty column is the median of all of them.
# The empty store keeps the few items each round adds.
#
# In every store the script adds its own items (domain builder, owner
# bench) and times, per round: oxygen claim + release, oxygen renew,
# oxygen status, orchestrate show, assign + unassign, done (on an item
# with no verification commands), list --status in_progress, ready --limit
# 50 (plain ready when this build has no --limit), health and the
# expire-leases job. Peak RSS is one more run of
# each, through internal/gen/maxrss.
#
# Output: the table on stdout; results.tsv (size, command, median_ms,
# ratio to the empty store, peak RSS in KiB) and growth.svg
# (internal/gen/chart) in $OUT (default bench-scale-out/).
#
# BENCH_STORE_URL=postgres://... runs it all on a server store instead:
# the empty store is an `orchestrate init` with OXYGEN_STORE_URL set, and
# each size's copy of the cached SQLite store is copied to the server with
# `orchestrate store migrate --to $BENCH_STORE_URL` (its time is printed;
# nothing of it is cached) under a repository id of its own, so runs never
# share a schema; every command then runs with OXYGEN_STORE_URL set. Each
# schema the run created (oxygen_<repository_id>) is dropped when it is
# done with it and, on any way out, at exit, with psql, which must be
# installed. The files are results-postgres.tsv and growth-postgres.svg.
set -euo pipefail
rounds=${1:-11}
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 100000)
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$here/bin}
cache=${BENCH_SCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/oxygen/bench-scale}
out=${OUT:-$here/bench-scale-out}
[ -x "$bin/orchestrate" ] || { echo "bench-scale: build first (make build)" >&2; exit 2; }
mkdir -p "$cache" "$out"
out=$(cd "$out" && pwd)
server=${BENCH_STORE_URL:-}
suffix="" title="Median time per command against store size (log-log)"
if [ -n "$server" ]; then
  case $server in postgres://* | postgresql://*) ;; *) echo "bench-scale: BENCH_STORE_URL is not a postgres:// URL" >&2; exit 2 ;; esac
  command -v psql >/dev/null || { echo "bench-scale: BENCH_STORE_URL needs psql, to drop the schemas the run creates" >&2; exit 2; }
  psql "$server" -Atqc 'SELECT 1' >/dev/null || { echo "bench-scale: cannot reach BENCH_STORE_URL" >&2; exit 2; }
  suffix=-postgres title="Median time per command against store size, PostgreSQL server store (log-log)"
fi

# On a server store, every repository the run points at the server is
# listed in $work/server-repos (the copies) or $work/server-empty;
# drop_schemas LIST drops the schema named by the repository id of each
# one in LIST, and forgets them. init and store migrate write the id into
# oxygen.yaml before they create the schema, so a repository is listed
# before its command runs.
drop_schemas() {
  local list=$1 dir id
  [ -s "$list" ] || return 0
  while IFS= read -r dir; do
    id=$(sed -n 's/^  repository_id: *\([a-z0-9]*\).*/\1/p' "$dir/.substrate/oxygen.yaml" 2>/dev/null | head -n 1 || true)
    [ -n "$id" ] || continue
    psql "$server" -Atqc "DROP SCHEMA IF EXISTS oxygen_$id CASCADE" >/dev/null 2>&1 ||
      echo "bench-scale: could not drop schema oxygen_$id on the server: drop it by hand" >&2
  done <"$list"
  : >"$list"
}

work=$(mktemp -d)
trap 'drop_schemas "$work/server-repos"; drop_schemas "$work/server-empty"; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
(cd "$here" && go build -o "$work/tools/" ./internal/gen ./internal/gen/maxrss ./internal/gen/chart)
O="$bin/orchestrate" X="$bin/oxygen"
export OXYGEN_OWNER=bench OXYGEN_DOMAIN=builder
unset OXYGEN_ROOT OXYGEN_STORE OXYGEN_STORE_URL
[ -z "$server" ] || export OXYGEN_STORE_URL="$server"

# store SIZE: the cached store of SIZE items, generated on first use. The
# shape is part of the key: change it here and old stores are not reused.
store() {
  local n=$1 dir="$cache/v1-items$1"
  if [ ! -d "$dir" ]; then
    echo "generating $n items (cached in $dir)..." >&2
    rm -rf "$dir.tmp"
    env -u OXYGEN_STORE_URL "$work/tools/gen" -dir "$dir.tmp" -items "$n" -leases $((n * 10)) -signals $((n / 10)) -reports $((n / 10)) >&2
    mv "$dir.tmp" "$dir"
  fi
  echo "$dir"
}

# ready_args: --limit 50 if this build pages ready. Not grep -q: it stops
# reading at the match, and the help writer's SIGPIPE then fails the
# pipeline under pipefail, now and then.
ready_args=()
if "$O" ready --help 2>&1 | grep -- '--limit' >/dev/null; then ready_args=(--limit 50); fi
ready_name="ready${ready_args[*]:+ --limit 50}"

# add_item: a new builder item with no commands; prints its id.
add_item() {
  "$O" add --json --title "bench item" --kind chore --domain builder --priority low --objective "Benchmark." |
    sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | head -n 1
}

# t CMD...: runs CMD (output discarded, failure fatal), prints milliseconds.
t() {
  local t0=$EPOCHREALTIME
  "$@" >/dev/null 2>&1 || { echo "bench-scale: failed: $*" >&2; "$@" >&2 || true; touch "$work/failed"; exit 1; }
  local t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) * 1000 }'
}

# health checks what came after the last intact check; a store that was
# never checked is read whole once, so the warm-up runs audit verify (as the
# daily job and the hourly report would have) before anything is timed.
health_rounds=$rounds

# health exits 1 on yellow (jobs that never ran in a generated store);
# only the time is wanted.
health() { "$O" health >/dev/null 2>&1 || true; }

# setup DIR: adds the item show and assign time, warms the page cache and
# the binaries, and prints the item's id.
setup() {
  local dir=$1 show
  cd "$dir"
  show=$(add_item)
  "$O" list >/dev/null; "$X" status >/dev/null; "$O" show "$show" >/dev/null
  "$O" audit verify >/dev/null 2>&1 || true
  cd "$work"
  echo "$show"
}

# round DIR SHOW ROUND LABEL...: one round of every command in DIR, SHOW
# its item; appends a "label command ms" line per label and command.
round() {
  local dir=$1 show=$2 round=$3
  shift 3
  (cd "$dir" && one_round) | awk -F'\t' -v labels="$*" 'BEGIN { OFS = "\t"; n = split(labels, l, " ") } { for (i = 1; i <= n; i++) { $1 = l[i]; print } }'
}

# one_round: the commands of one round in the current directory, with
# $show and $round from round; size is a placeholder that round relabels.
one_round() {
  local size=- done_item a b r
  a=$(t "$X" claim storage); r=$(t "$X" renew storage); b=$(t "$X" release storage)
  echo "$size	oxygen claim + release	$(awk -v a="$a" -v b="$b" 'BEGIN { print a + b }')"
  echo "$size	oxygen renew	$r"
  echo "$size	oxygen status	$(t "$X" status)"
  echo "$size	orchestrate show	$(t "$O" show "$show")"
  a=$(t "$O" assign --owner bench --domain builder "$show"); b=$(t "$O" unassign "$show")
  echo "$size	orchestrate assign + unassign	$(awk -v a="$a" -v b="$b" 'BEGIN { print a + b }')"
  done_item=$(add_item)
  "$O" assign --owner bench --domain builder "$done_item" >/dev/null
  echo "$size	orchestrate done	$(t "$O" done "$done_item")"
  echo "$size	orchestrate list --status in_progress	$(t "$O" list --status in_progress)"
  echo "$size	orchestrate $ready_name	$(t "$O" ready "${ready_args[@]}")"
  [ "$round" -gt "$health_rounds" ] || echo "$size	orchestrate health	$(t health)"
  echo "$size	orchestrate jobs run expire-leases	$(t "$O" jobs run expire-leases)"
}

# rss DIR SIZE SHOW: appends "size command rss kib" lines, one more run of
# each command.
rss() {
  local dir=$1 size=$2 show=$3 done_item
  cd "$dir"
  m() { "$work/tools/maxrss" "$@" 2>/dev/null || true; }
  echo "$size	oxygen claim + release	rss	$(m "$X" claim storage)"; "$X" release storage >/dev/null
  echo "$size	oxygen renew	rss	$("$X" claim storage >/dev/null; m "$X" renew storage)"; "$X" release storage >/dev/null
  echo "$size	oxygen status	rss	$(m "$X" status)"
  echo "$size	orchestrate show	rss	$(m "$O" show "$show")"
  echo "$size	orchestrate assign + unassign	rss	$(m "$O" assign --owner bench --domain builder "$show")"; "$O" unassign "$show" >/dev/null
  done_item=$(add_item); "$O" assign --owner bench --domain builder "$done_item" >/dev/null
  echo "$size	orchestrate done	rss	$(m "$O" done "$done_item")"
  echo "$size	orchestrate list --status in_progress	rss	$(m "$O" list --status in_progress)"
  echo "$size	orchestrate $ready_name	rss	$(m "$O" ready "${ready_args[@]}")"
  echo "$size	orchestrate health	rss	$(m "$O" health)"
  echo "$size	orchestrate jobs run expire-leases	rss	$(m "$O" jobs run expire-leases)"
  cd "$work"
}

raw="$work/raw.tsv"
: >"$raw"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
mkdir "$work/empty" && git -C "$work/empty" init -q
[ -z "$server" ] || echo "$work/empty" >>"$work/server-empty"
(cd "$work/empty" && "$O" init >/dev/null)
show_empty=$(setup "$work/empty")
for n in "${sizes[@]}"; do
  src=$(store "$n")
  rm -rf "$work/s" && cp -a "$src" "$work/s"
  if [ -n "$server" ]; then
    # A repository id of this copy's own (64 random bits, as init makes):
    # the cached store's would be shared with any other run on the server.
    id=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
    sed -i "s/^  repository_id: .*/  repository_id: $id/" "$work/s/.substrate/oxygen.yaml"
    grep -q "^  repository_id: $id\$" "$work/s/.substrate/oxygen.yaml" || { echo "bench-scale: no store.repository_id in $src/.substrate/oxygen.yaml" >&2; exit 1; }
    echo "$work/s" >>"$work/server-repos"
    echo "copying $n items to the server (store migrate)..." >&2
    t0=$EPOCHREALTIME
    (cd "$work/s" && env -u OXYGEN_STORE_URL "$O" store migrate --to "$server" >/dev/null)
    echo "store migrate of $n items: $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s" >&2
  fi
  echo "load average before $n items: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  show=$(setup "$work/s")
  for r in $(seq "$rounds"); do
    round "$work/empty" "$show_empty" "$r" 0 "e$n" >>"$raw"
    round "$work/s" "$show" "$r" "$n" >>"$raw"
    # t marks a failure it could not exit on (inside $(...) in an echo).
    [ ! -e "$work/failed" ] || exit 1
  done
  rss "$work/s" "$n" "$show" >>"$raw"
  drop_schemas "$work/server-repos"
  rm -rf "$work/s"
done
rss "$work/empty" 0 "$show_empty" >>"$raw"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# Medians per size and command, in first-seen order, with the ratio to the
# empty store and the peak RSS.
awk -F'\t' -f "$here/scripts/median.awk" -f <(echo '
$3 == "rss" { rss[$1 SUBSEP $2] = $4; next }
{
  # "eN": an empty-store round run alongside size N (also counted as 0).
  k = $1 SUBSEP $2
  if (!(k in n)) { keys[++nk] = k }
  if (!($2 in seen)) { seen[$2] = 1; cmds[++nc] = $2 }
  if ($1 !~ /^e/ && !($1 in sz)) { sz[$1] = 1; sizes[++ns] = $1 }
  v[k, ++n[k]] = $3
}
END {
  print "size\tcommand\tmedian_ms\tratio\tpeak_rss_kib"
  for (i = 1; i <= nk; i++) {
    split(keys[i], p, SUBSEP)
    delete a; for (j = 1; j <= n[keys[i]]; j++) a[j] = v[keys[i], j]
    med[keys[i]] = median(a, n[keys[i]])
  }
  for (c = 1; c <= nc; c++) for (s = 1; s <= ns; s++) {
    k = sizes[s] SUBSEP cmds[c]
    if (!(k in med)) continue
    ek = "e" sizes[s] SUBSEP cmds[c]
    base = (ek in med) ? med[ek] : med[0 SUBSEP cmds[c]]
    printf "%s\t%s\t%.2f\t%.2f\t%s\n", sizes[s], cmds[c], med[k], (base > 0 ? med[k] / base : 0), rss[k]
  }
}') "$raw" >"$out/results$suffix.tsv"
"$work/tools/chart" -title "$title" <"$out/results$suffix.tsv" >"$out/growth$suffix.svg"

# The table: one row per command, ms (ratio) per size, then peak RSS.
awk -F'\t' -v rounds="$rounds" '
NR == 1 { next }
{
  if (!($2 in seen)) { seen[$2] = 1; cmds[++nc] = $2 }
  if (!($1 in sz)) { sz[$1] = 1; sizes[++ns] = $1 }
  ms[$1, $2] = $3; ratio[$1, $2] = $4; rss[$1, $2] = $5
}
END {
  printf "medians of %d runs, ms per process (ratio to the empty store'"'"'s rounds run alongside); peak RSS in MiB\n\n", rounds
  printf "| command |"; for (s = 1; s <= ns; s++) printf " %s |", sizes[s] == 0 ? "empty" : sizes[s] " items"
  for (s = 1; s <= ns; s++) printf " RSS %s |", sizes[s] == 0 ? "empty" : sizes[s]
  printf "\n|---|"; for (s = 1; s <= 2 * ns; s++) printf "---|"; printf "\n"
  for (c = 1; c <= nc; c++) {
    printf "| `%s` |", cmds[c]
    for (s = 1; s <= ns; s++) {
      k = sizes[s] SUBSEP cmds[c]
      if (sizes[s] == 0) printf " %.1f |", ms[k]; else printf " %.1f (%.2fx) |", ms[k], ratio[k]
    }
    for (s = 1; s <= ns; s++) printf " %.0f |", rss[sizes[s], cmds[c]] / 1024
    printf "\n"
  }
}' "$out/results$suffix.tsv"
echo
echo "results: $out/results$suffix.tsv, chart: $out/growth$suffix.svg"
