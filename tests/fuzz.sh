#!/usr/bin/env bash
# Fuzzes every reader of untrusted bytes for FUZZ_SECONDS each (60 by default) with cargo fuzz
# (libFuzzer + AddressSanitizer) on the stable toolchain (RUSTC_BOOTSTRAP=1), starting from the
# real-shaped seeds in fuzz/seeds. Fails on any crash; prints how many inputs each target ran.
# Run longer with FUZZ_SECONDS=3600 bash tests/fuzz.sh; a crash leaves its input in
# fuzz/artifacts/<target>/ (replay: cargo fuzz run <target> <file>).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet
export RUSTC_BOOTSTRAP=1
# cargo fuzz names its own --target; the project's CARGO_BUILD_TARGET must not interfere.
unset CARGO_BUILD_TARGET
corpus_root="${CARGO_TARGET_DIR:-$PWD/target}/fuzz-corpus"
(cd fuzz && cargo fuzz build --release)
for target in document date answer callback http_reader oauth2_answer oauth2_callback; do
  mkdir -p "$corpus_root/$target"
  log="$corpus_root/$target.log"
  # The first corpus folder receives new inputs; the seeds stay as committed.
  (cd fuzz && cargo fuzz run --release "$target" "$corpus_root/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=1024 -timeout=10) >"$log" 2>&1 || {
    tail -n 60 "$log"
    echo "fuzz: $target failed"
    exit 1
  }
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  echo "fuzz: $target: $runs inputs in ${seconds}s, no crash"
done
