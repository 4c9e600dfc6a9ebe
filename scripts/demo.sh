#!/usr/bin/env bash
# make demo: the whole protocol on a scratch repository, start to finish.
# Everything it creates lives in a temporary directory, printed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$here/bin:$PATH"
repo=$(mktemp -d "${TMPDIR:-/tmp}/oxygen-demo.XXXXXX")
unset OXYGEN_ROOT OXYGEN_OWNER OXYGEN_DOMAIN OXYGEN_GUARD

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }
# refused runs a command that is meant to be refused and shows its exit status.
refused() { printf '$ %s\n' "$*"; set +e; "$@"; local rc=$?; set -e; printf '(exit %d)\n' "$rc"; [ "$rc" -ne 0 ]; }

step "A scratch repository with the example plan's files"
cp -R "$here/examples/demo/repo/." "$repo/"
cp "$here/examples/demo/plan.yaml" "$repo/plan.yaml"
cd "$repo"
git init -q && git config user.email demo@example.invalid && git config user.name "Oxygen demo"
show orchestrate init
# Name the agents: ada and bo work for builder, sam for scribe, gus for guardian.
sed -i.bak 's/^agents: {}/agents: {ada: builder, bo: builder, cy: builder, sam: scribe, gus: guardian}/' .substrate/oxygen.yaml && rm .substrate/oxygen.yaml.bak
git add -A && git commit -qm "demo repository" && oxygen hook install

step "Import the plan (twice: the second import changes nothing)"
show orchestrate import plan.yaml
show orchestrate import plan.yaml
show orchestrate ready

step "Assign work; each assignment writes a context capsule"
show orchestrate assign OXYGEN-001 --owner ada
orchestrate capsule show OXYGEN-001 | sed -n '1,12p'
echo "..."
show orchestrate assign WORK-002 --owner bo

step "The attention budget: builder is at its cap of 2"
refused orchestrate assign WORK-003 --owner cy

step "Council override: builder asks, another domain approves, the cap gives once"
call=$(orchestrate council call --item WORK-003 --from cy --reason "the indexer image blocks the release" --json | sed -n 's/^  "id": \([0-9]*\),$/\1/p')
echo "council_call $call recorded"
refused orchestrate council approve "$call" --by ada
show orchestrate council approve "$call" --by sam
show orchestrate assign WORK-003 --owner cy --council "$call"
show orchestrate unassign WORK-003 --by cy --reason "demo: give the slot back"
refused orchestrate assign WORK-003 --owner cy --council "$call"

step "Leases: claim before you change; another domain's resource needs a handshake"
export OXYGEN_OWNER=ada
show oxygen which docs/oxygen-protocol.md backups/rotate.sh
refused oxygen claim coordination --item OXYGEN-001
show orchestrate signal send --kind handshake --from ada --to scribe --resource coordination --item OXYGEN-001 --body "updating the lease section of the protocol document"
show oxygen claim coordination --item OXYGEN-001 --reason "protocol document"
refused env OXYGEN_OWNER=bo oxygen claim coordination
show oxygen status

step "The pre-commit hook refuses an unleased change and accepts a leased one"
echo "Release your lease as soon as the change is in." >> docs/oxygen-protocol.md
echo "# keep 14" >> backups/rotate.sh
git add docs/oxygen-protocol.md backups/rotate.sh
refused git commit -qm "protocol and backups"
show oxygen claim storage --item WORK-002 --ttl 10m
show git commit -qm "protocol and backups"
show oxygen release storage

step "Agents: the briefing, and Claude Code's edit hook blocking an unleased edit before it happens"
show orchestrate prime
show oxygen hook install --agent claude
# pre_edit feeds `oxygen hook pre-edit` the JSON Claude Code sends before an Edit.
pre_edit() {
  printf '$ (Claude Code edits %s) | oxygen hook pre-edit\n' "$1"
  set +e
  printf '{"hook_event_name":"PreToolUse","tool_name":"Edit","cwd":"%s","tool_input":{"file_path":"%s","old_string":"14","new_string":"21"}}' "$repo" "$1" | oxygen hook pre-edit
  local rc=$?
  set -e
  printf '(exit %d: %s)\n' "$rc" "$([ "$rc" -eq 0 ] && echo "the edit goes ahead" || echo "Claude Code refuses the edit and shows the agent the line above")"
}
pre_edit backups/rotate.sh
show oxygen claim storage --item WORK-002 --ttl 10m
pre_edit backups/rotate.sh
show oxygen release storage
show orchestrate audit log --action guard.block

step "Risk budget: done runs the item's commands first"
show orchestrate done OXYGEN-001
unset OXYGEN_OWNER

step "A shadow edit: a change with no lease held, caught by the audit job"
show orchestrate jobs run audit
echo "  max_size: 10MB" >> policy/quarantine.yaml
show orchestrate jobs run audit
show oxygen shadow list
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
echo "(health exit $rc: 0 green, 1 yellow, 2 red)"
show orchestrate audit verify

printf '\nThe demo repository is %s\n' "$repo"
