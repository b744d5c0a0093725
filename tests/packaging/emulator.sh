#!/usr/bin/env bash
# concur-emulator as users install it, outside this repository:
#   - Rust / any language: `cargo install --path emulator` (the README's line for a checkout)
#     puts a program that prints its JSON line; examples/emulator.sh (curl and python3 only)
#     drives it: a company connected, its token expired on the virtual clock, refreshed,
#     revoked (code 108), the journal read;
#   - Node: `npm install concur-emulator` from a local registry serving the main package and
#     the linux-x64-gnu platform package (the program built above), with no cargo on PATH: the
#     bin runs, startEmulator() starts it without CONCUR_EMULATOR_BINARY, and nothing else is
#     installed (zero runtime dependencies);
#   - Python: the wheel (maturin, bindings = "bin") in a fresh venv: `concur-emulator` and
#     `python -m concur_emulator` run the bundled program, and a pytest file in a fresh folder
#     gets the fixture from the entry point.
set -euo pipefail
# shellcheck source=tests/packaging/common.sh
source "$(dirname "$0")/common.sh"
work=$(scratch emulator)
fail() { echo "packaging (emulator): $*" >&2; exit 1; }

echo "--- emulator: cargo install --path emulator --root $work/cargo"
# The host's release build (as benches/run.py's), not one per target triple.
env -u CARGO_BUILD_TARGET cargo install --quiet --locked --path emulator --root "$work/cargo"
program="$work/cargo/bin/concur-emulator"
[ -x "$program" ] || fail "cargo install put no concur-emulator in $work/cargo/bin"
exec 3> >("$program" --exit-on-stdin-eof >"$work/line.json")
# The whole line: it ends with its newline.
for _ in $(seq 600); do [ -s "$work/line.json" ] && [ -z "$(tail -c 1 "$work/line.json")" ] && break; sleep 0.05; done
exec 3>&-
python3 -c '
import json, sys
info = json.loads(open(sys.argv[1]).readline())
for field in ("base_url", "second_base_url", "ca_file", "admin_url", "oauth2_client_id"):
    assert info.get(field), field
print("the installed program printed its JSON line:", info["base_url"], info["admin_url"])
' "$work/line.json"

echo "--- emulator: examples/emulator.sh (curl and python3) against the installed program"
CONCUR_EMULATOR="$program" bash examples/emulator.sh | tee "$work/example.out"
for line in "identity API with the access token: 200" "an hour later on the virtual clock: 401" \
  "refreshed: 200" "refresh after revocation: Concur code 108" "  POST /oauth2/v0/token grant=password -> 200"; do
  grep -qxF "$line" "$work/example.out" || fail "examples/emulator.sh did not print: $line"
done

echo "--- emulator: npm install concur-emulator from a registry with the linux-x64-gnu program, no cargo on PATH"
platform=linux-x64-gnu
node emulator/npm/scripts/package.js platform --binary "$program" >/dev/null
mkdir -p "$work/dist"
(cd "emulator/npm/npm/$platform" && npm pack --silent --pack-destination "$work/dist" >/dev/null)
(cd emulator/npm && npm pack --silent --pack-destination "$work/dist" >/dev/null)
main_tgz=$(ls "$work"/dist/concur-emulator-[0-9]*.tgz)
tar -tzf "$main_tgz" | sort >"$work/main.files"
grep -qx 'package/LICENSE-MIT' "$work/main.files" || fail "the main package lacks its license"
if grep -E '^package/(test|npm|scripts)/' "$work/main.files"; then fail "the main package ships tests, scripts or platform folders"; fi
coproc REGISTRY { node tests/packaging/registry.js "$work/registry.log" "$work"/dist/*.tgz; }
# shellcheck disable=SC2153 # REGISTRY_PID is coproc's
registry_pid=$REGISTRY_PID
read -r registry <&"${REGISTRY[0]}"
# common.sh's trap stops the test server; this one stops the registry too.
trap 'kill "$registry_pid" 2>/dev/null || true; kill "$SERVER_PID" 2>/dev/null || true; rm -f "${CONCUR_CA_FILE:-}"' EXIT
nocargo="$work/nocargo-bin"
mkdir -p "$nocargo" "$work/project"
for tool in node npm npx sh; do ln -s "$(command -v "$tool")" "$nocargo/$tool"; done
(cd "$work/project" && npm init -y >/dev/null &&
  PATH="$nocargo" npm_config_cache="$work/npm-cache" npm install --no-audit --no-fund --loglevel=error \
    --save-dev concur-emulator --registry "$registry")
packages=$(cd "$work/project" && npm ls --all --parseable | tail -n +2 | sed "s|^$work/project/node_modules/||" | sort | tr '\n' ' ')
[ "$packages" = "@concur-emulator/$platform concur-emulator " ] || fail "installed packages: $packages"
# (Output to a file, then grep: `| grep -q` would close the pipe while the program writes.)
(cd "$work/project" && PATH="$nocargo" npx --no-install concur-emulator --help >"$work/npx-help.out")
grep -q '/_emulator/' "$work/npx-help.out" || fail "npx concur-emulator --help did not run the program"
(cd "$work/project" && env -u CONCUR_EMULATOR_BINARY node -e '
  const { startEmulator } = require("concur-emulator");
  (async () => {
    const emulator = await startEmulator();
    const company = await emulator.addCompany();
    const health = await emulator.health();
    await emulator.stop();
    if (health.status !== "ok" || !company.request_token) process.exit(1);
    console.log("startEmulator() from the registry install: ok");
  })().catch((e) => { console.error(e); process.exit(1); });')

echo "--- emulator: the Python wheel (bindings = \"bin\") in a fresh venv, the fixture from the entry point"
[ -x "$VENV/bin/maturin" ] || "$VENV/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.9,<2"
(cd emulator/python && "$VENV/bin/maturin" build --profile dev --out "$work/wheel" 2>"$work/maturin.log") ||
  { cat "$work/maturin.log" >&2; fail "maturin build failed"; }
wheel=$(ls "$work"/wheel/concur_emulator-*.whl)
python3 -m zipfile -l "$wheel" >"$work/wheel.list"
grep -q 'concur_emulator-[^/]*\.data/scripts/concur-emulator ' "$work/wheel.list" || fail "the wheel carries no program"
grep -q 'dist-info/licenses/LICENSE-MIT' "$work/wheel.list" || fail "the wheel carries no license"
if grep -q '\.so ' "$work/wheel.list"; then fail "the wheel carries an extension module"; fi
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "$wheel" pytest
"$work/venv/bin/concur-emulator" --help >"$work/help.out"
grep -q '/_emulator/' "$work/help.out" || fail "the wheel's concur-emulator does not run"
"$work/venv/bin/python" -m concur_emulator --help >"$work/python-m.out"
grep -q '/_emulator/' "$work/python-m.out" || fail "python -m concur_emulator does not run"
mkdir -p "$work/pytest"
cat >"$work/pytest/test_user.py" <<'EOF'
def test_a_users_first_test(concur_emulator):
    company = concur_emulator.add_company()
    assert company["request_token"]
    assert concur_emulator.health()["status"] == "ok"
EOF
(cd "$work/pytest" && env -u CONCUR_EMULATOR_BINARY "$work/venv/bin/python" -m pytest -q -p no:cacheprovider test_user.py)
echo "packaging (emulator): cargo install, npm (registry, prebuilt program, no cargo) and the Python wheel each start it and drive it"
