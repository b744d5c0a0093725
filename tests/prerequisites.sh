#!/usr/bin/env bash
# What the README's test command (tests/run.sh) needs, in one list that tests/run.sh checks in
# its first second and .ci/run installs from, so the two never drift apart.
#   bash tests/prerequisites.sh            when something is missing: one line naming it and the
#                                          command that installs it, and exit status 1
#   bash tests/prerequisites.sh --install  installs what is missing (apt-get on Debian, rustup
#                                          components), then checks as above
# Who needs what: cc/c++ with libasan/libubsan, valgrind, nm (tests/c_abi.rs); openssl
# (tests/hostile.rs, tests/network.rs); redis-server (the Redis stores' tests); PostgreSQL's
# server programs initdb and postgres, on PATH or in /usr/lib/postgresql/*/bin (the vault's
# PostgreSQL store's tests, tests/keyed_stores.rs, which run them as nobody when root); script
# (cli/tests/cli.rs, a pseudo-terminal); chattr (bindings/node/test/manager.test.js as root);
# flock (bindings/node/test/manager_events.test.js holds a file store's lock); objcopy
# (scripts/install-c.sh strips the library and keeps its debug file);
# pkg-config, readelf, objdump, ldd (tests/packaging/c.sh); bash-completion
# (tests/packaging/cli.sh); curl (examples/emulator.sh, run by tests/packaging/emulator.sh); python3 >= 3.11 with venv and ensurepip (the venv; tomllib in
# tests/packaging/metadata.sh); node >= 20.17 and npm (@napi-rs/cli); cargo with rustfmt and
# clippy. cargo-fuzz is installed from crates.io by tests/fuzz.sh when missing.
set -euo pipefail

missing=() # what is missing, as the message names it
apt=()     # the Debian packages that provide it
rustup=()  # the rustup components
other=()   # what no package of this machine provides, with where to get it

need() { # need <command> <Debian package>
  command -v "$1" >/dev/null 2>&1 || { missing+=("$1"); apt+=("$2"); }
}

need cc gcc
need c++ g++
if command -v cc >/dev/null 2>&1; then
  # gcc and clang print the bare name of a library they cannot find.
  [ "$(cc -print-file-name=libasan.so)" != libasan.so ] || { missing+=(libasan); apt+=(libasan8); }
  [ "$(cc -print-file-name=libubsan.so)" != libubsan.so ] || { missing+=(libubsan); apt+=(libubsan1); }
fi
need valgrind valgrind
need openssl openssl
need redis-server redis-server
# Debian installs PostgreSQL's server programs off PATH, in /usr/lib/postgresql/VERSION/bin.
if ! command -v initdb >/dev/null 2>&1 && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  missing+=("initdb/postgres (PostgreSQL server)")
  apt+=(postgresql)
fi
need pkg-config pkg-config
need readelf binutils
need objdump binutils
need nm binutils
need ldd libc-bin
need script bsdutils
need chattr e2fsprogs
need flock util-linux
need objcopy binutils
need curl curl
[ -f /usr/share/bash-completion/bash_completion ] || { missing+=(bash-completion); apt+=(bash-completion); }
need python3 python3
if command -v python3 >/dev/null 2>&1; then
  python3 -c 'import venv, ensurepip' 2>/dev/null || { missing+=("python3's venv/ensurepip"); apt+=(python3-venv); }
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    other+=("python3 >= 3.11 (found $(python3 --version 2>&1 || true))")
fi
need node nodejs
need npm npm
if command -v node >/dev/null 2>&1; then
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 17) ? 0 : 1)' >/dev/null 2>&1 ||
    other+=("node >= 20.17 (found $(node --version 2>&1 || true); Debian 12's nodejs is 18: https://nodejs.org)")
fi
if command -v cargo >/dev/null 2>&1; then
  cargo fmt --version >/dev/null 2>&1 || { missing+=(rustfmt); rustup+=(rustfmt); }
  cargo clippy --version >/dev/null 2>&1 || { missing+=(clippy); rustup+=(clippy); }
else
  other+=("cargo (Rust with rustfmt and clippy: https://rustup.rs)")
fi

# One package can provide several commands (binutils).
if [ ${#apt[@]} -gt 0 ]; then
  mapfile -t apt < <(printf '%s\n' "${apt[@]}" | sort -u)
fi
# Root on a bare Debian machine; a GitHub runner's user has sudo instead.
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)

if [ "${1:-}" = --install ]; then
  if [ ${#apt[@]} -gt 0 ]; then
    echo "installing: ${apt[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt[@]}" >/dev/null
  fi
  [ ${#rustup[@]} -eq 0 ] || rustup component add "${rustup[@]}"
  exec bash "$0"
fi

[ ${#missing[@]} -gt 0 ] || [ ${#other[@]} -gt 0 ] || exit 0
line="tests/run.sh cannot run, missing:"
if [ ${#missing[@]} -gt 0 ]; then
  line+=" $(printf '%s, ' "${missing[@]}")"
  line=${line%, }
  line+="; install with:"
  s="${sudo[*]}${sudo[*]:+ }"
  [ ${#apt[@]} -eq 0 ] || line+=" ${s}apt-get update && ${s}apt-get install -y ${apt[*]}"
  [ ${#apt[@]} -eq 0 ] || [ ${#rustup[@]} -eq 0 ] || line+=" &&"
  [ ${#rustup[@]} -eq 0 ] || line+=" rustup component add ${rustup[*]}"
fi
if [ ${#other[@]} -gt 0 ]; then
  [ ${#missing[@]} -eq 0 ] || line+=";"
  line+=" $(printf '%s; ' "${other[@]}")"
  line=${line%; }
fi
echo "$line" >&2
exit 1
