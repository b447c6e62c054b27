#!/usr/bin/env bash
# split.sh POLYPROV PLAN SITES OUT: `polyprov plan split` into a scratch directory, then replace OUT only when what
# it wrote differs; prints "changed" or "unchanged" (the task's changed status).
set -euo pipefail
bin=$1 plan=$2 sites=$3 out=$4
mkdir -p "$(dirname "$out")"
new=$(mktemp -d "$out.new.XXXXXX")
trap 'rm -rf "$new"' EXIT
"$bin" plan split --plan "$plan" --sites "$sites" --out "$new" >&2
if [ -d "$out" ] && diff -r -q "$new" "$out" >/dev/null; then
  echo unchanged
else
  rm -rf "$out"
  mv "$new" "$out"
  trap - EXIT
  echo changed
fi
