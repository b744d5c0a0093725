#!/usr/bin/env bash
# The packages as users get them: the Python sdist built by pip in a fresh venv, and the npm
# tarball installed into a fresh project (its install script builds the addon from the
# vendored core). Each then fetches a token from the loopback test server.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/common.sh
# Builds from the unpacked sdist and tarball share this target dir rather than start cold.
export CARGO_TARGET_DIR="$TARGET_DIR"
cargo build --quiet -p concur-test-server
start_test_server

work="$TARGET_DIR/packaging"
rm -rf "$work"
mkdir -p "$work/dist" "$work/npm-project"

echo "--- Python: sdist -> pip install in a fresh venv"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.9,<2"
"$VENV/bin/maturin" sdist --manifest-path bindings/python/Cargo.toml --out "$work/dist" >/dev/null
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "$work"/dist/concur_native-*.tar.gz
(cd "$work" && "$work/venv/bin/python" "$OLDPWD/examples/native_token.py" | tee "$work/python.out")
grep -q '^Token: *0_' "$work/python.out"

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
echo "packaging: both packages install from their archives and fetch a token"
