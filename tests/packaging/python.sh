#!/usr/bin/env bash
# The Python package as users get it: the sdist built by pip in a fresh venv, then a token
# from the loopback test server.
set -euo pipefail
source "$(dirname "$0")/common.sh"
work=$(scratch python)
mkdir -p "$work/dist"

echo "--- Python: sdist -> pip install in a fresh venv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.9,<2"
"$VENV/bin/maturin" sdist --manifest-path bindings/python/Cargo.toml --out "$work/dist" >/dev/null
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "$work"/dist/concur_native-*.tar.gz
(cd "$work" && "$work/venv/bin/python" "$OLDPWD/examples/native_token.py" | tee "$work/python.out")
grep -q '^Token: *0_' "$work/python.out"
echo "packaging (Python): the sdist installs elsewhere and fetches a token"
