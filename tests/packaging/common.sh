# shellcheck shell=bash
# Shared by the packaging checks in tests/packaging/: the target dir, the test server, and a
# scratch folder per check under $TARGET_DIR/packaging/.
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit
# shellcheck source=tests/common.sh
source tests/common.sh
# Builds from unpacked archives share this target dir rather than start cold.
export CARGO_TARGET_DIR="$TARGET_DIR"
cargo build --quiet -p concur-emulator
start_test_server

# Prints a fresh, empty scratch folder for the check named $1.
scratch() {
  local dir="$TARGET_DIR/packaging/$1"
  rm -rf "$dir"
  mkdir -p "$dir"
  printf '%s\n' "$dir"
}
