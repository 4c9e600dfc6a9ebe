# Sourced by the bench-*.sh scripts that compare the two stores: makes
# bench repositories with 16 domains of one resource each (r01..r16 in
# d01..d16), so that up to 16 clients on distinct resources never meet a
# budget, and drops a server store's schema when the run ends.
#   mkrepo DIR [URL]   a git repository, initialised, on URL's server if given
#   dropschemas URL DIR...
bench_config() {
  echo "version: 1"
  echo "domains:"
  for i in $(seq -w 1 16); do echo "  d$i: {description: bench, max_in_progress: 2, max_leases: 2}"; done
  echo "resources:"
  for i in $(seq -w 1 16); do echo "  - {id: r$i, domain: d$i, description: bench, paths: [\"/r$i/\"]}"; done
}
mkrepo() {
  mkdir -p "$1" && (cd "$1" && git init -q && "$bin/orchestrate" init >/dev/null)
  local id; id=$(sed -n 's/^  repository_id: //p' "$1/.substrate/oxygen.yaml")
  { bench_config; echo "store:"; echo "  repository_id: $id"; [ -n "${2:-}" ] && echo "  url: $2"; true; } > "$1/.substrate/oxygen.yaml"
  [ -z "${2:-}" ] || (cd "$1" && "$bin/orchestrate" init >/dev/null)
}
dropschemas() {
  local url=$1 dir id; shift
  for dir in "$@"; do
    [ -f "$dir/.substrate/oxygen.yaml" ] || continue
    id=$(sed -n 's/^  repository_id: //p' "$dir/.substrate/oxygen.yaml")
    [ -n "$id" ] && psql "$url" -qc "DROP SCHEMA IF EXISTS oxygen_$id CASCADE" >/dev/null 2>&1 || true
  done
}
