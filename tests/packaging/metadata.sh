#!/usr/bin/env bash
# What every published package says about itself: licence texts shipped, repository and
# homepage metadata in every manifest, and the C ABI left out of the Rust API docs.
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() { echo "packaging (metadata): $*" >&2; exit 1; }
repository=https://github.com/concur-native/concur-native

echo "--- Rust: the published crates (concur-native, concur-token, concur-emulator)"
metadata=$(cargo metadata --locked --format-version 1 --no-deps)
for crate in concur-native concur-token concur-emulator; do
  for field in license repository homepage description; do
    value=$(printf '%s' "$metadata" | python3 -c "import json,sys; p=[p for p in json.load(sys.stdin)['packages'] if p['name']=='$crate'][0]; print(p.get('$field') or '')")
    [ -n "$value" ] || fail "$crate has no $field"
  done
  list=$(cargo package -p "$crate" --list --allow-dirty --locked 2>/dev/null)
  for file in LICENSE-MIT LICENSE-APACHE README.md; do
    grep -qx "$file" <<<"$list" || fail "the $crate crate does not ship $file"
  done
done

# concur-emulator's crate leaves its Python and npm packages out.
if cargo package -p concur-emulator --list --allow-dirty --locked 2>/dev/null | grep -E '^(python|npm)/'; then
  fail "the concur-emulator crate ships its Python or npm package"
fi

echo "--- Python: pyproject.toml (concur-native, concur-emulator)"
python3 - "$repository" <<'PY'
import sys, tomllib
for path in ("bindings/python/pyproject.toml", "emulator/python/pyproject.toml"):
    project = tomllib.load(open(path, "rb"))["project"]
    assert project["license"] == "MIT OR Apache-2.0", (path, project["license"])
    assert set(project["license-files"]) == {"LICENSE-MIT", "LICENSE-APACHE"}, (path, project["license-files"])
    assert project["urls"]["Repository"] == sys.argv[1], (path, project["urls"])
PY

echo "--- Node: package.json (concur-native, concur-emulator)"
node - "$repository" <<'JS'
const pkg = require('./bindings/node/package.json');
const assert = require('node:assert');
assert.strictEqual(pkg.license, 'MIT OR Apache-2.0');
assert.strictEqual(pkg.repository.url, `git+${process.argv[2]}.git`);
assert.ok(pkg.homepage.startsWith(process.argv[2]), pkg.homepage);
assert.ok(pkg.files.includes('LICENSE-MIT') && pkg.files.includes('LICENSE-APACHE'), pkg.files);
assert.ok(pkg.exports['.'], 'an exports map');
const emulator = require('./emulator/npm/package.json');
assert.strictEqual(emulator.license, 'MIT OR Apache-2.0');
assert.strictEqual(emulator.repository.url, `git+${process.argv[2]}.git`);
assert.ok(emulator.homepage.startsWith(process.argv[2]), emulator.homepage);
assert.ok(emulator.files.includes('LICENSE-MIT') && emulator.files.includes('LICENSE-APACHE'), emulator.files);
assert.strictEqual(emulator.version, pkg.version, 'concur-emulator and concur-native share a version');
assert.deepStrictEqual(emulator.dependencies ?? {}, {}, 'concur-emulator has no runtime dependencies');
JS

echo "--- Rust API docs: the C ABI (module ffi) is not part of them"
export CARGO_BUILD_TARGET="${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
docs="${CARGO_TARGET_DIR:-$PWD/target}/$CARGO_BUILD_TARGET/doc/concur_native"
RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps --locked --quiet -p concur-native --features redis,sqlite,postgres
[ -f "$docs/index.html" ] || fail "no docs at $docs"
[ ! -e "$docs/ffi" ] || fail "the docs have a page for the ffi module"
! grep -q 'concur_client_new' "$docs/all.html" || fail "the docs list concur_client_new"
grep -q 'TokenManager' "$docs/all.html" || fail "the docs list no TokenManager: is this the right folder?"
echo "packaging (metadata): licences, repository and homepage in every manifest; no C ABI in the Rust docs"
