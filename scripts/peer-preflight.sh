#!/usr/bin/env bash
# The benchmark's peer: the same reads as the preflight, sent the way the plan's original scripts
# sent them, one kubectl process per check, one check after the other.
#
#   scripts/peer-preflight.sh PLAN        (KUBECONFIG names the cluster; kubectl from .tools/bin)
#
# PLAN has one line per check: "<check>\t<kubectl arguments, shell-quoted>", e.g.
#   preflight.nodes.workers-ready	get nodes -o json
#   preflight.operators.subscriptions	get subscriptions.operators.coreos.com,csv -A -o json
# scripts/benchmark-preflight.py writes it from the reads the suite's own run made
# ($BITIQ_TRACE_READS), so both sides read the same objects. A check that also asks reviews has
# further lines (`create --raw ... -f FILE`). Output is discarded: only the time counts. Prints the
# number of kubectl processes and of failed ones; exits 1 when one failed.
set -euo pipefail

plan="${1:?usage: peer-preflight.sh PLAN}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kubectl="${KUBECTL:-$repo_root/.tools/bin/kubectl}"
[ -x "$kubectl" ] || kubectl="$(command -v kubectl || true)"
if [ -z "$kubectl" ]; then
  echo "peer-preflight: kubectl not found: run scripts/install-tools.sh kubectl" >&2
  exit 2
fi
# A fresh discovery cache per run, as a CI job has: the first kubectl discovers, the rest reuse it.
cache="$(mktemp -d)"
trap 'rm -rf "$cache"' EXIT

processes=0
failed=0
while IFS=$'\t' read -r check arguments; do
  [ -z "$check" ] || [ "${check:0:1}" = "#" ] && continue
  eval "args=($arguments)"
  processes=$((processes + 1))
  if ! "$kubectl" --cache-dir "$cache" "${args[@]}" >/dev/null 2>"$cache/last-error"; then
    failed=$((failed + 1))
    echo "peer-preflight: $check: kubectl ${arguments}: $(head -c 300 "$cache/last-error")" >&2
  fi
done <"$plan"
echo "peer-preflight: ${processes} kubectl processes, ${failed} failed"
[ "$failed" -eq 0 ]
