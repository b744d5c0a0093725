#!/usr/bin/env bash
# The npm package as users get it, each way they install it, in fresh projects outside this
# repository; after each install a token from the loopback test server, through the ES module
# example (named imports) and a CommonJS require:
#   - the registry layout (a local registry on 127.0.0.1 serving `concur-native` and the
#     linux-x64-gnu platform package built here with --zig, whose addon must need no glibc
#     newer than 2.17), with no cargo on PATH: the prebuilt is used;
#   - the same with --ignore-scripts;
#   - the packed tarball with no platform package published: the install script builds from
#     source (the fallback);
#   - `npm install /path/to/bindings/node` (the README's line for a checkout);
# and @arethetypeswrong/cli on the tarball. Prints the install times, the installed size and
# the runtime dependency count. NODE_SOURCE_BUILD_COLD=1 gives the fallback its own target dir
# (a user's cold build) instead of sharing this repository's.
set -euo pipefail
# shellcheck source=tests/packaging/common.sh
source "$(dirname "$0")/common.sh"
work=$(scratch node)
repo=$PWD
dist="$work/dist"
mkdir -p "$dist"
# A cache of this run only: nothing installed comes from an earlier run.
export npm_config_cache="$work/npm-cache"
npm_install=(npm install --no-audit --no-fund --loglevel=error)
platform=linux-x64-gnu
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
fail() { echo "packaging (Node): $*" >&2; exit 1; }

echo "--- Node: the devDependencies (attw, typescript) of bindings/node"
(cd bindings/node && "${npm_install[@]}" --ignore-scripts)

echo "--- Node: build the $platform prebuilt linked against glibc 2.17 (build-prebuilt.js --zig), npm pack it and the main package"
# cargo-zigbuild and zig from PyPI, as the release workflow installs them.
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "cargo-zigbuild>=0.20,<1" "ziglang>=0.13"
# A target dir of its own: zig is another linker, so sharing the release build with the plain
# cargo builds below would make each rebuild everything at every run.
start=$(now)
PATH="$VENV/bin:$PATH" CARGO_TARGET_DIR="$TARGET_DIR/zig" node bindings/node/scripts/build-prebuilt.js --zig
prebuilt_build_seconds=$(since "$start")
echo "prebuilt built with --zig in $prebuilt_build_seconds s"
addon="bindings/node/npm/$platform/concur-native.$platform.node"
glibc=$(objdump -T "$addon" | grep -o 'GLIBC_[0-9.]*' | sed 's/^GLIBC_//' | sort -Vu | tail -n 1)
[ -n "$glibc" ] || fail "no GLIBC symbol versions in $addon (objdump -T)"
[ "$(printf '%s\n' "$glibc" 2.17 | sort -V | tail -n 1)" = 2.17 ] || fail "the prebuilt needs glibc $glibc, more than 2.17"
echo "the prebuilt's highest glibc symbol version: $glibc"
(cd "bindings/node/npm/$platform" && npm pack --silent --pack-destination "$dist" >/dev/null)
(cd bindings/node && npm pack --silent --pack-destination "$dist" >/dev/null)
main_tgz=$(ls "$dist"/concur-native-[0-9]*.tgz)
prebuilt_tgz=$(ls "$dist"/concur-native-$platform-*.tgz)
tar -tzf "$prebuilt_tgz" | sort >"$work/prebuilt.files"
diff <(printf '%s\n' package/LICENSE-APACHE package/LICENSE-MIT package/README.md "package/concur-native.$platform.node" package/package.json) "$work/prebuilt.files" ||
  fail "the platform package holds other files than its addon, package.json, README.md and the licenses"
[ "$(tar -tzf "$main_tgz" | grep -c '^package/LICENSE-\(MIT\|APACHE\)$')" = 2 ] || fail "the main package lacks a license text"
if tar -tzf "$main_tgz" | grep -E '\.node$|^package/(test|npm|target)/'; then
  fail "the main package ships an addon, tests, platform folders or a target dir"
fi

echo "--- Node: @arethetypeswrong/cli on the tarball (node10, node16 CJS and ESM, bundler)"
(cd bindings/node && npx --no-install attw --no-color --format table-flipped "$main_tgz")

# Serves the packed files named after $1 (a log file) on 127.0.0.1; stops when this script ends.
start_registry() {
  local log=$1
  shift
  coproc REGISTRY { node tests/packaging/registry.js "$log" "$@"; }
  # shellcheck disable=SC2153 # REGISTRY_PID is coproc's; bash unsets it once the coprocess ends
  registry_pid=$REGISTRY_PID
  read -r registry <&"${REGISTRY[0]}"
}

stop_registry() {
  kill "$registry_pid"
  wait "$registry_pid" 2>/dev/null || true
}

# A fresh project outside the repository, holding the ES module example.
project() {
  local dir="$work/$1"
  mkdir -p "$dir"
  (cd "$dir" && npm init -y >/dev/null)
  cp examples/native_token.mjs "$dir/"
  printf '%s\n' "$dir"
}

# A token through the ES module example, a CommonJS require and the named ESM imports the
# declarations promise, in project $1.
fetch_tokens() {
  local dir=$1
  (cd "$dir" && node native_token.mjs) | tee "$dir/esm.out"
  grep -q '^Token: *0_' "$dir/esm.out" || fail "$dir: no token through the ES module example"
  (cd "$dir" && node -e '
    const { nativeToken } = require("concur-native");
    const e = process.env;
    nativeToken({ consumerKey: e.CONCUR_CONSUMER_KEY, loginId: e.CONCUR_LOGIN_ID,
                  password: e.CONCUR_PASSWORD, baseUrl: e.CONCUR_BASE_URL, caFile: e.CONCUR_CA_FILE })
      .then((t) => console.log("CommonJS token:", t.token));') | tee "$dir/cjs.out"
  grep -q '^CommonJS token: 0_' "$dir/cjs.out" || fail "$dir: no token through require()"
  (cd "$dir" && node --input-type=module -e '
    import { DEFAULT_BASE_URL, Client, TokenManager, version } from "concur-native";
    if (DEFAULT_BASE_URL !== "https://www.concursolutions.com" || typeof Client !== "function" ||
        typeof TokenManager !== "function" || typeof version !== "string") process.exit(1);
    console.log("named ES imports: ok");')
}

# PATH for the installs that must not compile: node, npm and the sh npm runs scripts with.
nocargo="$work/nocargo-bin"
mkdir -p "$nocargo"
for tool in node npm sh; do ln -s "$(command -v "$tool")" "$nocargo/$tool"; done
PATH="$nocargo" /bin/sh -c 'command -v cargo' >/dev/null && fail "cargo is reachable without PATH"

echo "--- Node: npm install concur-native from a registry with the prebuilt, no cargo on PATH"
start_registry "$work/registry.log" "$main_tgz" "$prebuilt_tgz"
dir=$(project registry-prebuilt)
start=$(now)
(cd "$dir" && PATH="$nocargo" "${npm_install[@]}" concur-native --registry "$registry")
prebuilt_seconds=$(since "$start")
[ -f "$dir/node_modules/@concur-native/$platform/concur-native.$platform.node" ] || fail "the prebuilt is not installed"
[ -z "$(find "$dir/node_modules/concur-native" -name '*.node' -o -name target)" ] || fail "something was compiled"
grep -qi "^GET /@concur-native%2f$platform" "$work/registry.log" || fail "npm never asked for the platform package"
fetch_tokens "$dir"
installed_kb=$(du -sk "$dir/node_modules" | cut -f1)
packages=$(cd "$dir" && npm ls --all --parseable | tail -n +2 | sed "s|^$dir/node_modules/||" | sort | tr '\n' ' ')
[ "$packages" = "@concur-native/$platform concur-native " ] || fail "installed packages: $packages"
runtime_deps=$(cd "$dir" && node -p 'Object.keys(require("concur-native/package.json").dependencies ?? {}).length')
[ "$runtime_deps" = 0 ] || fail "$runtime_deps runtime dependencies"

echo "--- Node: the same with --ignore-scripts"
dir=$(project registry-ignore-scripts)
start=$(now)
(cd "$dir" && PATH="$nocargo" "${npm_install[@]}" --ignore-scripts concur-native --registry "$registry")
ignore_scripts_seconds=$(since "$start")
fetch_tokens "$dir"

# Installs concur-native in a fresh project $1 with no cargo on PATH and npm options $2...,
# which must fail: the install script says a source build needs cargo.
fails_without_cargo() {
  local dir
  dir=$(project "$1")
  shift
  if (cd "$dir" && PATH="$nocargo" "${npm_install[@]}" "$@" concur-native --registry "$registry") >"$dir/install.out" 2>&1; then
    fail "$dir: the install succeeded without an addon"
  fi
  grep -q 'building from source needs cargo, which is not on PATH' "$dir/install.out" ||
    { cat "$dir/install.out"; fail "$dir: the failure does not say cargo is missing"; }
}

echo "--- Node: --omit=optional (no prebuilt) without cargo fails saying why"
fails_without_cargo omit-optional-no-cargo --omit=optional

echo "--- Node: a registry without the platform package (another platform) and no cargo: fails saying why"
stop_registry
start_registry "$work/registry-main-only.log" "$main_tgz"
fails_without_cargo no-prebuilt-no-cargo

echo "--- Node: the tarball with no platform package published builds from source"
# A new path each run: npm gives unpacked files one fixed old mtime, so with the shared target
# dir cargo would take a previous run's build of the same path and version as fresh, however
# the sources changed. A new path compiles the vendored core and the addon every time (the
# registry crates stay shared), as a user's first install would.
dir=$(project "tarball-source-build-$(date +%s)")
(
  if [ "${NODE_SOURCE_BUILD_COLD:-0}" = 1 ]; then unset CARGO_TARGET_DIR; fi
  cd "$dir"
  start=$(now)
  "${npm_install[@]}" --foreground-scripts "$main_tgz" --registry "$registry" | tee "$dir/install.out"
  since "$start" >"$dir/seconds"
)
source_seconds=$(cat "$dir/seconds")
grep -q 'building the addon for .* from source' "$dir/install.out" || fail "no source build"
[ -f "$dir/node_modules/concur-native/concur-native.$platform.node" ] || fail "the source build left no addon"
[ ! -e "$dir/node_modules/concur-native/target" ] || fail "the source build left its target dir behind"
[ ! -e "$dir/node_modules/@concur-native" ] || fail "a platform package came from nowhere"
fetch_tokens "$dir"
echo "--- Node: npm rebuild: keeps the addon there; with CONCUR_NATIVE_BUILD_FROM_SOURCE=1, builds again"
(cd "$dir" && npm rebuild concur-native --foreground-scripts --registry "$registry") | tee "$dir/rebuild.out"
grep -q 'using the built addon concur-native\.' "$dir/rebuild.out" || fail "npm rebuild did not keep the addon"
(cd "$dir" && CONCUR_NATIVE_BUILD_FROM_SOURCE=1 npm rebuild concur-native --foreground-scripts --registry "$registry") | tee "$dir/rebuild.out"
grep -q 'building the addon for .* from source' "$dir/rebuild.out" || fail "CONCUR_NATIVE_BUILD_FROM_SOURCE=1 did not build"

echo "--- Node: npm install /path/to/bindings/node from another project"
# In a checkout the install script always runs cargo (an addon there may predate the sources).
dir=$(project folder)
start=$(now)
(cd "$dir" && "${npm_install[@]}" --foreground-scripts "$repo/bindings/node" --registry "$registry") | tee "$dir/install.out"
folder_seconds=$(since "$start")
[ -L "$dir/node_modules/concur-native" ] || fail "npm did not link the folder"
grep -q 'building the addon for .* from source' "$dir/install.out" || fail "the folder's install script did not build"
fetch_tokens "$dir"
stop_registry

cold=shared
[ "${NODE_SOURCE_BUILD_COLD:-0}" = 1 ] && cold=cold
cat <<EOF
packaging (Node): every install fetched tokens (ES module example, require, named imports); attw green
  the $platform prebuilt (--zig, own target dir): built in $prebuilt_build_seconds s; needs glibc $glibc
  install from the registry with the $platform prebuilt, no cargo: $prebuilt_seconds s; $((installed_kb / 1024)) MiB in node_modules; packages: $packages; runtime dependencies: $runtime_deps
  the same with --ignore-scripts: $ignore_scripts_seconds s
  tarball, no prebuilt, source build ($cold target dir): $source_seconds s
  folder install: $folder_seconds s
EOF
