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
deno task test
