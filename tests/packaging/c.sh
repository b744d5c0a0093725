#!/usr/bin/env bash
# The C library as users get it: scripts/install-c.sh into a prefix (staged under DESTDIR as a
# distribution package is built, staged with --zig as the release tarballs are, staged with
# --features redis, once directly), then the examples compiled with exactly the README's
# pkg-config lines, linked against the shared library (through its SONAME) and against the
# static one, and run against the loopback test server, once under valgrind: the installed
# library is stripped, and valgrind finds its symbols in the debug file beside it.
# The pkg-config output is left unquoted on purpose, split into flags as the README's lines do:
# shellcheck disable=SC2046
set -euo pipefail
# shellcheck source=tests/packaging/common.sh
source "$(dirname "$0")/common.sh"
work=$(scratch c)

fail() {
  printf 'packaging (C): FAILED: %s\n' "$*" >&2
  exit 1
}
# The SONAME, NEEDED entries, RUNPATH of an ELF file, one per line. (Outputs are kept in
# variables before grep -q reads them: with pipefail, a writer cut off by grep's early exit
# would fail the pipeline.)
dynamic() { readelf -d "$1" | sed -n "s/.*($2) *.*\[\(.*\)\]$/\1/p"; }
size() { wc -c <"$1" | tr -d ' '; }

# The expected version, read independently of the install script (which uses cargo metadata).
version=$(cargo pkgid --locked -p concur-native | sed 's/.*[#@]//')
[[ "$version" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || fail "cannot read the version: $version"
if [ "${BASH_REMATCH[1]}" -eq 0 ]; then
  [ "${BASH_REMATCH[2]}" -eq 0 ] && sover=0.0.${BASH_REMATCH[3]} || sover=0.${BASH_REMATCH[2]}
else
  sover=${BASH_REMATCH[1]}
fi
soname=libconcur_native.so.$sover

echo "--- C: the install script's guards"
if scripts/install-c.sh --prefix relative/prefix >"$work/relative.out" 2>&1; then
  fail "a relative prefix was accepted"
fi
grep -q 'must be an absolute path' "$work/relative.out" || fail "no reason given for a relative prefix"
[ ! -e relative ] || fail "a relative prefix left files behind"
scripts/install-c.sh --help >"$work/help.out"
grep -q 'pkg-config --cflags --libs concur_native' "$work/help.out" || fail "--help"

echo "--- C: staged install (DESTDIR, Debian's multiarch libdir), as a distribution package builds it"
stage=$work/stage
staged_prefix=/opt/concur-native-packaging-test
multiarch=$(cc -print-multiarch 2>/dev/null || true)
multiarch=lib/${multiarch:-x86_64-linux-gnu}
start=$(date +%s)
DESTDIR=$stage scripts/install-c.sh --prefix "$staged_prefix" --libdir "$multiarch"
staged_seconds=$(($(date +%s) - start))
[ ! -e "$staged_prefix" ] || fail "DESTDIR install wrote to $staged_prefix itself"
slib=$stage$staged_prefix/$multiarch
[ -f "$slib/libconcur_native.a" ] && [ -f "$stage$staged_prefix/include/concur_native.h" ] ||
  fail "staged files missing under $stage$staged_prefix"
grep -qx "prefix=$staged_prefix" "$slib/pkgconfig/concur_native.pc" || fail "staged .pc prefix"
grep -qx "libdir=\${prefix}/$multiarch" "$slib/pkgconfig/concur_native.pc" || fail "staged .pc libdir"
grep -q "$stage" "$slib/pkgconfig/concur_native.pc" && fail "the .pc names the staging folder"
# The default build has no Redis store: a C program asking for one gets the typed status.
cc -std=c99 -Wall -Wextra -Werror -o "$work/store_features" tests/c/store_features.c -lpthread \
  $(PKG_CONFIG_PATH=$slib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$stage pkg-config --cflags --libs concur_native)
LD_LIBRARY_PATH=$slib "$work/store_features" none || fail "the default build and the redis:// store"
# Issue 22's budget: the default library, as installed (stripped), at most 3 MiB on x86_64.
default_bytes=$(size "$slib/libconcur_native.so.$version")
if [ "$(uname -m)" = x86_64 ] && [ "$default_bytes" -gt $((3 * 1024 * 1024)) ]; then
  fail "the default library is $default_bytes bytes stripped, over the 3 MiB budget (issue 22)"
fi
# What a package build's own checks do: compile against the staged tree through the sysroot.
cc -o "$work/native_token_staged" examples/native_token.c \
  $(PKG_CONFIG_PATH=$slib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$stage pkg-config --cflags --libs concur_native)
LD_LIBRARY_PATH=$slib "$work/native_token_staged" >"$work/staged.out"
grep -Eq '^Token: +0_[0-9a-f]{16}[0-9]{6}$' "$work/staged.out" || fail "staged build: no token"
# The same with --destdir and the prefix given alone, as the issue words it, and --zig as the
# release workflow builds its Linux tarballs: linked against glibc 2.17 (cargo-zigbuild and
# zig from PyPI; a target dir of its own, as zig's linker would rebuild the shared one).
echo "--- C: --destdir, the prefix alone and --zig (glibc 2.17), as the release tarballs are built"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "cargo-zigbuild>=0.20,<1" "ziglang>=0.13"
start=$(date +%s)
PATH="$VENV/bin:$PATH" CARGO_TARGET_DIR="$TARGET_DIR/zig" scripts/install-c.sh --zig --destdir "$work/stage2" /usr/local >/dev/null
zig_seconds=$(($(date +%s) - start))
zlib=$work/stage2/usr/local/lib
[ "$(readlink "$zlib/$soname")" = "libconcur_native.so.$version" ] || fail "--destdir"
grep -qx 'prefix=/usr/local' "$zlib/pkgconfig/concur_native.pc" || fail "--destdir .pc"
[ "$(dynamic "$zlib/libconcur_native.so.$version" SONAME)" = "$soname" ] || fail "--zig: SONAME is not $soname"
zig_glibc=$(objdump -T "$zlib/libconcur_native.so.$version" | grep -o 'GLIBC_[0-9.]*' | sed 's/^GLIBC_//' | sort -Vu | tail -n 1)
[ -n "$zig_glibc" ] || fail "--zig: no GLIBC symbol versions (objdump -T)"
[ "$(printf '%s\n' "$zig_glibc" 2.17 | sort -V | tail -n 1)" = 2.17 ] || fail "--zig: the library needs glibc $zig_glibc, more than 2.17"
cc -o "$work/native_token_zig" examples/native_token.c \
  $(PKG_CONFIG_PATH=$zlib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$work/stage2 pkg-config --cflags --libs concur_native)
LD_LIBRARY_PATH=$zlib "$work/native_token_zig" >"$work/zig.out"
grep -Eq '^Token: +0_[0-9a-f]{16}[0-9]{6}$' "$work/zig.out" || fail "--zig build: no token"

echo "--- C: install into a prefix, with the README's lines"
# The README installs under "$HOME/.local": HOME moves into the scratch folder (cargo and
# rustup keep their own homes).
export CARGO_HOME=${CARGO_HOME:-$HOME/.cargo} RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
export HOME=$work/home
start=$(date +%s)
scripts/install-c.sh --prefix "$HOME/.local"
install_seconds=$(($(date +%s) - start))
export PKG_CONFIG_PATH="$HOME/.local/lib/pkgconfig"
prefix=$HOME/.local
lib=$prefix/lib

# The layout: the real file, the SONAME link a program loads, the dev link -l finds.
full=libconcur_native.so.$version
[ -f "$lib/$full" ] && [ ! -L "$lib/$full" ] || fail "$full missing"
[ "$(readlink "$lib/$soname")" = "$full" ] || fail "$soname does not point to $full"
[ "$(readlink "$lib/libconcur_native.so")" = "$full" ] || fail "libconcur_native.so link"
[ "$(dynamic "$lib/$full" SONAME)" = "$soname" ] || fail "SONAME is '$(dynamic "$lib/$full" SONAME)', not $soname"
[ -z "$(dynamic "$lib/$full" RUNPATH)$(dynamic "$lib/$full" RPATH)" ] || fail "the library carries a run path"
cmp -s include/concur_native.h "$prefix/include/concur_native.h" || fail "the installed header is not the committed one"
cmp -s share/valgrind/concur_native.supp "$prefix/share/valgrind/concur_native.supp" || fail "suppressions"
[ "$(pkg-config --modversion concur_native)" = "$version" ] || fail "pkg-config --modversion"
static_flags=$(pkg-config --static --libs concur_native)
grep -q -- '-lpthread' <<<"$static_flags" || fail "no Libs.private: $static_flags"
# Stripped as distributions ship it: no symbol table, a .gnu_debuglink to the debug file in
# .debug/ beside it, which holds the symbols (readelf output kept before grep reads it).
sections=$(readelf -S "$lib/$full")
grep -q ' \.symtab ' <<<"$sections" && fail "the installed library keeps its symbol table"
grep -q ' \.gnu_debuglink ' <<<"$sections" || fail "the installed library has no .gnu_debuglink"
debuglink=$(readelf --string-dump=.gnu_debuglink "$lib/$full" | sed -n 's/^ *\[ *0\] *//p')
[ "$debuglink" = "$full.debug" ] || fail "the debuglink names '$debuglink', not $full.debug"
[ -f "$lib/.debug/$full.debug" ] || fail "no debug file $lib/.debug/$full.debug"
debug_sections=$(readelf -S "$lib/.debug/$full.debug")
grep -q ' \.symtab ' <<<"$debug_sections" || fail "the debug file has no symbol table"

echo "--- C: the examples, linked against the shared library through pkg-config"
# The README's lines (warnings are checked where tests/c_abi.rs compiles the same files).
for example in native_token token_lifecycle oauth2_password; do
  cc -o "$work/$example" "examples/$example.c" $(pkg-config --cflags --libs concur_native)
done
cc -o "$work/token_manager" examples/token_manager.c $(pkg-config --cflags --libs concur_native) -lpthread
for program in native_token token_lifecycle oauth2_password token_manager; do
  needed=$(dynamic "$work/$program" NEEDED)
  grep -qx "$soname" <<<"$needed" || fail "$program does not need $soname: $needed"
  grep -qx 'libconcur_native.so' <<<"$needed" && fail "$program needs the unversioned name"
done
# Outside the loader's folders, nothing finds the library by itself...
if env -u LD_LIBRARY_PATH "$work/native_token" >/dev/null 2>"$work/unfound.err"; then fail "ran without finding the library"; fi
grep -q "$soname" "$work/unfound.err" || fail "the loader did not ask for $soname"
# ...LD_LIBRARY_PATH does, and it is the installed file that is loaded.
export LD_LIBRARY_PATH="$HOME/.local/lib"
loaded=$(ldd "$work/native_token")
grep -qF "$soname => $lib/$soname " <<<"$loaded" || fail "ldd: $loaded"
"$work/native_token" | tee "$work/native_token.out"
grep -Eq '^Token: +0_[0-9a-f]{16}[0-9]{6}$' "$work/native_token.out" || fail "native_token: no token"
grep -qF "$CONCUR_PASSWORD" "$work/native_token.out" && fail "the password was printed"
# The server knows only the tokens it issued: a refresh and revocations of them succeed.
"$work/token_lifecycle" >"$work/token_lifecycle.out" || fail "token_lifecycle: $(cat "$work/token_lifecycle.out")"
"$work/oauth2_password" >"$work/oauth2_password.out" || fail "oauth2_password"
grep -q '^Access token: ' "$work/oauth2_password.out" || fail "oauth2_password: no token"
CONCUR_TOKEN_FILE=$work/token.json "$work/token_manager" >"$work/token_manager.out" || fail "token_manager"
grep -q 'one token' "$work/token_manager.out" || fail "token_manager: $(cat "$work/token_manager.out")"
unset LD_LIBRARY_PATH

echo "--- C: valgrind, with the installed suppressions, over the stripped installed library"
# The suppressions name the library's internal functions: valgrind reads them from the debug
# file the .gnu_debuglink leads it to. Exit 99 would be an error or a leak valgrind reported.
# (tests/run.sh needs valgrind anyway; the release workflow's runners may lack it.)
if command -v valgrind >/dev/null; then
  LD_LIBRARY_PATH=$lib valgrind --quiet --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite,indirect,possible --show-leak-kinds=definite,indirect,possible \
    --suppressions="$prefix/share/valgrind/concur_native.supp" "$work/native_token" >"$work/valgrind.out" 2>&1 ||
    fail "valgrind over the installed library: $(cat "$work/valgrind.out")"
  grep -Eq '^Token: +0_[0-9a-f]{16}[0-9]{6}$' "$work/valgrind.out" || fail "valgrind run: no token"
else
  echo "  SKIPPED: valgrind is not installed"
fi

echo "--- C: a run path instead of LD_LIBRARY_PATH"
cc -o "$work/native_token_rpath" examples/native_token.c $(pkg-config --cflags --libs concur_native) \
  -Wl,-rpath,"$(pkg-config --variable=libdir concur_native)"
env -u LD_LIBRARY_PATH "$work/native_token_rpath" >"$work/rpath.out"
grep -Eq '^Token: +0_[0-9a-f]{16}[0-9]{6}$' "$work/rpath.out" || fail "rpath build: no token"

echo "--- C: linked against the static library"
cc -o "$work/native_token_static" examples/native_token.c $(pkg-config --cflags concur_native) \
  "$(pkg-config --variable=libdir concur_native)/libconcur_native.a" \
  -Wl,--as-needed $(pkg-config --static --libs concur_native)
needed=$(dynamic "$work/native_token_static" NEEDED)
grep -q concur_native <<<"$needed" && fail "the static build needs the shared library: $needed"
env -u LD_LIBRARY_PATH "$work/native_token_static" >"$work/static.out"
grep -Eq '^Token: +0_[0-9a-f]{16}[0-9]{6}$' "$work/static.out" || fail "static build: no token"

echo "--- C: --features redis: the token manager's Redis store built in"
# Last, as it rebuilds the library with other features (the installs above share one build).
start=$(date +%s)
scripts/install-c.sh --features redis --destdir "$work/stage3" /usr/local >/dev/null
redis_seconds=$(($(date +%s) - start))
rlib=$work/stage3/usr/local/lib
LD_LIBRARY_PATH=$rlib "$work/store_features" redis || fail "--features redis: no redis:// store"
redis_bytes=$(size "$rlib/libconcur_native.so.$version")
[ "$redis_bytes" -gt "$default_bytes" ] || fail "the redis build ($redis_bytes bytes) is not larger than the default ($default_bytes)"

echo "--- C: numbers"
echo "  install time: ${staged_seconds} s (staged, first: includes the release build), ${install_seconds} s (second, build reused)"
echo "  --zig install (own target dir, includes its release build): ${zig_seconds} s; highest glibc symbol version: $zig_glibc"
echo "  --features redis install (includes its release build): ${redis_seconds} s"
echo "  shared library as installed (stripped): default $default_bytes bytes, --features redis $redis_bytes bytes"
echo "  SONAME: $soname"
for f in "$lib/$full" "$lib/.debug/$full.debug" "$lib/libconcur_native.a" "$prefix/include/concur_native.h" \
  "$work/native_token" "$work/native_token_static"; do
  printf '  %10s bytes  %s\n' "$(size "$f")" "${f#"$work"/}"
done
echo "packaging (C): installs under a prefix (SONAME $soname, pkg-config $version), examples link shared and static and fetch tokens"
