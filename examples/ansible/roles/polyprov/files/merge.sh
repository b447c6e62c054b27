#!/usr/bin/env bash
# merge.sh POLYPROV PLAN OUT RUN_DIR...: `polyprov report --merge` of the run directories that exist into OUT, unless
# OUT already holds the merge of exactly these inputs (a digest of the plan and of every run's journal); prints
# "changed" or "unchanged" (the task's changed status).
set -euo pipefail
bin=$1 plan=$2 out=$3
shift 3
runs=()
for r in "$@"; do [ -s "$r/journal.jsonl" ] && runs+=("$r"); done
if [ ${#runs[@]} -eq 0 ]; then echo "no run to merge" >&2; exit 1; fi
digest=$( { [ -n "$plan" ] && sha256sum "$plan"; for r in "${runs[@]}"; do echo "$r"; sha256sum <"$r/journal.jsonl"; done; } | sha256sum)
if [ -f "$out/.inputs" ] && [ "$(cat "$out/.inputs")" = "$digest" ]; then
  echo unchanged
  exit 0
fi
args=(report --merge "${runs[@]}" --out "$out")
[ -n "$plan" ] && args+=(--plan "$plan")
"$bin" "${args[@]}" >&2
printf '%s\n' "$digest" >"$out/.inputs"
echo changed
