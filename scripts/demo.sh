#!/usr/bin/env bash
# make demo: the whole protocol on a scratch repository, start to finish.
# Every command is printed as you could paste it, then run; file edits are
# shown before the step that catches them. The scratch repository is
# removed at the end unless KEEP=1 (make demo KEEP=1).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$here/bin:$PATH"
repo=$(mktemp -d "${TMPDIR:-/tmp}/oxygen-demo.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
  trap 'printf "\nThe demo repository is kept in %s\n" "$repo"' EXIT
else
  trap 'rm -rf "$repo"' EXIT
fi
unset OXYGEN_ROOT OXYGEN_OWNER OXYGEN_DOMAIN OXYGEN_GUARD OXYGEN_STORE

# Bold headings only on a terminal: piped or logged output stays plain.
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
say() { printf '# %s\n' "$*"; }
# cmdline prints a command as it can be pasted: each argument shell-quoted.
cmdline() {
  local out='$' a
  for a in "$@"; do
    if [[ "$a" =~ ^[A-Za-z0-9_./:=@,+-]+$ ]]; then out+=" $a"; else out+=" '${a//\'/\'\\\'\'}'"; fi
  done
  printf '%s\n' "$out"
}
show() { cmdline "$@"; "$@"; }
# refused runs a command that is meant to be refused and shows its exit status.
refused() { cmdline "$@"; set +e; "$@"; local rc=$?; set -e; printf '(exit %d)\n' "$rc"; [ "$rc" -ne 0 ]; }
# edit appends a line to a file, shown as the command that does it.
edit() { printf "\$ echo '%s' >> %s\n" "$2" "$1"; printf '%s\n' "$2" >> "$1"; }

step "A scratch repository with the example plan's files"
cp -R "$here/examples/demo/repo/." "$repo/"
cp "$here/examples/demo/plan.yaml" "$repo/plan.yaml"
cd "$repo"
git init -q && git config user.email demo@example.invalid && git config user.name "Oxygen demo"
show orchestrate init
say "Name the agents: ada, bo and cy work for builder, sam for scribe, gus for guardian."
show sed -i.bak 's/^agents: {}/agents: {ada: builder, bo: builder, cy: builder, sam: scribe, gus: guardian}/' .substrate/oxygen.yaml
rm .substrate/oxygen.yaml.bak
git add -A && git commit -qm "demo repository"
show oxygen hook install

step "Import the plan (twice: the second import changes nothing)"
show orchestrate import plan.yaml
show orchestrate import plan.yaml
show orchestrate ready

step "Assign work; each assignment writes a context capsule"
show orchestrate assign OXYGEN-001 --owner ada
say "The first lines of ada's capsule:"
orchestrate capsule show OXYGEN-001 | sed -n '1,12p'
echo "..."
show orchestrate assign WORK-002 --owner bo

step "The attention budget: builder is at its cap of 2"
refused orchestrate assign WORK-003 --owner cy

step "Council override: builder asks, another domain approves, the cap gives once"
show orchestrate council call --item WORK-003 --from cy --reason "the indexer image blocks the release"
call=$(orchestrate council list --pending --json | sed -n 's/^    "id": \([0-9]*\),$/\1/p' | tail -1)
say "The caller's own domain cannot approve it; another domain can, once."
refused orchestrate council approve "$call" --by ada
show orchestrate council approve "$call" --by sam
show orchestrate assign WORK-003 --owner cy --council "$call"
show orchestrate unassign WORK-003 --by cy --reason "demo: give the slot back"
say "The approval was spent by the assign above:"
refused orchestrate assign WORK-003 --owner cy --council "$call"

step "Leases: claim before you change; another domain's resource needs a handshake"
show export OXYGEN_OWNER=ada
show oxygen which docs/oxygen-protocol.md backups/rotate.sh
refused oxygen claim coordination --item OXYGEN-001
show orchestrate signal send --kind handshake --from ada --to scribe --resource coordination --item OXYGEN-001 --body "updating the lease section of the protocol document"
show oxygen claim coordination --item OXYGEN-001 --reason "protocol document"
refused env OXYGEN_OWNER=bo oxygen claim coordination
show oxygen status

step "The pre-commit hook refuses an unleased change and accepts a leased one"
edit docs/oxygen-protocol.md "Release your lease as soon as the change is in."
edit backups/rotate.sh "# keep 14"
show git add docs/oxygen-protocol.md backups/rotate.sh
say "ada holds coordination (the protocol document) but not storage (backups/):"
refused git commit -qm "protocol and backups"
show oxygen claim storage --item WORK-002 --ttl 10m
show git commit -qm "protocol and backups"
say "The commit carries its proof: one Oxygen-Lease trailer per lease, and the audit chain head."
show git log -1 --format=%B
show oxygen release storage

step "Agents: the briefing, and Claude Code's edit hook blocking an unleased edit before it happens"
show orchestrate prime
show oxygen hook install --agent claude
# pre_edit feeds `oxygen hook pre-edit` the JSON Claude Code sends before an Edit.
pre_edit() {
  local payload
  payload=$(printf '{"hook_event_name":"PreToolUse","tool_name":"Edit","cwd":"%s","tool_input":{"file_path":"%s","old_string":"14","new_string":"21"}}' "$repo" "$1")
  printf "\$ echo '%s' | oxygen hook pre-edit\n" "$payload"
  set +e
  printf '%s' "$payload" | oxygen hook pre-edit
  local rc=$?
  set -e
  printf '(exit %d: %s)\n' "$rc" "$([ "$rc" -eq 0 ] && echo "the edit goes ahead" || echo "Claude Code refuses the edit and shows the agent the line above")"
}
pre_edit backups/rotate.sh
show oxygen claim storage --item WORK-002 --ttl 10m
pre_edit backups/rotate.sh
show oxygen release storage
show orchestrate audit log --action guard.block

step "Risk budget: done runs the item's commands first, and ends the item's leases"
show orchestrate done OXYGEN-001
show unset OXYGEN_OWNER

step "A shadow edit: a change with no lease held, caught by the audit job"
show orchestrate jobs run audit
edit policy/quarantine.yaml "  max_size: 10MB"
say "Nobody holds policy (guardian's). The next audit finds the change, records both versions and tells guardian:"
show orchestrate jobs run audit
show oxygen shadow list
say "A member of guardian restores the last leased content, holding the lease:"
show env OXYGEN_OWNER=gus oxygen claim policy
show env OXYGEN_OWNER=gus oxygen shadow restore 1
show env OXYGEN_OWNER=gus oxygen release policy

step "Where things stand"
show orchestrate list
show oxygen status --all
show orchestrate signal list
set +e
show orchestrate health
rc=$?
set -e
case $rc in
  0) say "Health is green (exit 0): nothing needs anyone's attention." ;;
  1) say "Health is yellow (exit 1): each line above needs someone's attention (work left in progress, a capsule whose files changed, a call nobody answered), but nothing is broken." ;;
  *) say "Health is red (exit $rc): an integrity finding above needs someone now." ;;
esac
say "The audit report the job wrote lists the findings; audit verify re-hashes the log, replays it against the tables and checks the heads git has seen:"
show orchestrate audit verify
