#!/usr/bin/env bash
# The npm package as users get it: the tarball installed into a fresh project (its install
# script builds the addon from the vendored core), then a token from the loopback test server.
set -euo pipefail
source "$(dirname "$0")/common.sh"
work=$(scratch node)
mkdir -p "$work/npm-project"

echo "--- Node: npm pack -> npm install in a fresh project"
(cd bindings/node && npm pack --silent --pack-destination "$work" >/dev/null)
cp examples/native_token.mjs "$work/npm-project/"
(
  cd "$work/npm-project"
  npm init -y >/dev/null
  npm install --no-audit --no-fund --loglevel=error "$work"/concur-native-*.tgz
  node native_token.mjs | tee "$work/node.out"
)
grep -q '^Token: *0_' "$work/node.out"
echo "packaging (Node): the tarball installs elsewhere and fetches a token"
