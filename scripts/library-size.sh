#!/usr/bin/env bash
# Sizes of the C shared library per feature set, as scripts/install-c.sh builds and installs
# it, printed as one JSON object for the benchmark page (the size rows):
#
#   {"default": {"built_bytes": N, "stripped_bytes": N}, "redis": {...}}
#
# built_bytes is the file cargo wrote (release profile: strip = "debuginfo", symbol table
# kept); stripped_bytes the installed file (strip --strip-unneeded, a .gnu_debuglink to its
# debug file). Each feature set is one install-c.sh run into a scratch DESTDIR (the build of
# the last set is reused by the next install-c.sh with the same features).
#
# Usage: scripts/library-size.sh [FEATURE_SET ...]
#   FEATURE_SET: "default" (no --features) or a comma-separated --features list ("redis").
#   Without arguments: default redis.
# Progress goes to stderr, the JSON alone to stdout. ELF platforms only (Linux, the BSDs).
set -euo pipefail
cd "$(dirname "$0")/.."

sets=("$@")
[ ${#sets[@]} -gt 0 ] || sets=(default redis)

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

json="{"
separator=
for set in "${sets[@]}"; do
  [[ "$set" =~ ^[A-Za-z0-9_,-]+$ ]] || { echo "library-size.sh: bad feature set '$set'" >&2; exit 2; }
  features=()
  [ "$set" = default ] || features=(--features "$set")
  destdir=$scratch/$set
  scripts/install-c.sh ${features[@]+"${features[@]}"} --destdir "$destdir" --prefix /usr >"$scratch/$set.log" 2>&1 ||
    { cat "$scratch/$set.log" >&2; echo "library-size.sh: install-c.sh failed for '$set'" >&2; exit 1; }
  # install-c.sh names the file cargo built, with its size, in its listing.
  built_bytes=$(sed -n 's/^  (built .*: \([0-9][0-9]*\) bytes)$/\1/p' "$scratch/$set.log")
  installed=$(find "$destdir/usr/lib" -maxdepth 1 -type f -name 'libconcur_native.so.*.*.*' | head -n 1)
  [ -n "$built_bytes" ] && [ -n "$installed" ] ||
    { cat "$scratch/$set.log" >&2; echo "library-size.sh: no sizes found for '$set'" >&2; exit 1; }
  stripped_bytes=$(wc -c <"$installed" | tr -d ' ')
  echo "library-size.sh: $set: built $built_bytes bytes, stripped $stripped_bytes bytes" >&2
  json+="$separator\"$set\": {\"built_bytes\": $built_bytes, \"stripped_bytes\": $stripped_bytes}"
  separator=", "
done
printf '%s}\n' "$json"
