#!/usr/bin/env bash
# Every package as users get it: each script in tests/packaging/ installs one ecosystem's
# package the way its README says, somewhere else than this repository, and uses it.
# `bash tests/packaging.sh python node` runs only those.
set -euo pipefail
cd "$(dirname "$0")/.."
checks=("$@")
if [ ${#checks[@]} -eq 0 ]; then
  for f in tests/packaging/*.sh; do
    [ "$(basename "$f")" = common.sh ] || checks+=("$(basename "$f" .sh)")
  done
fi
for check in "${checks[@]}"; do
  printf -- '--- packaging: %s\n' "$check"
  bash "tests/packaging/$check.sh"
done
