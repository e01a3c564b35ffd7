#!/usr/bin/env bash
# The whole test suite: installs what it needs (tools/setup.sh --vm), checks
# formatting, lint and types, then runs every test, the VM guests included.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/tools/setup.sh" --vm
export PATH=$root/.tools/bin:$PATH
cd "$root"
deno --version | head -1
deno task check
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
deno task test 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One plain closing line: "tests: N passed, N failed, N skipped".
summary=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^(ok|FAILED) \| [0-9]+ passed' | tail -1)
passed=$(echo "$summary" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+')
failed=$(echo "$summary" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+')
ignored=$(echo "$summary" | grep -oE '[0-9]+ ignored' | grep -oE '[0-9]+')
echo "tests: ${passed:-0} passed, ${failed:-0} failed, ${ignored:-0} skipped"
exit "$status"
