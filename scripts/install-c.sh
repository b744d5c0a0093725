#!/usr/bin/env bash
# Builds the C library (release) and installs it under a prefix the way cargo-c lays it out:
# a SONAME'd shared library with its symlinks (stripped, its symbols and debug information in
# a separate file, as distributions ship libraries), the static library, the committed header,
# a pkg-config file, the valgrind suppressions and the licence texts.
#
# Why a script and not cargo-c: cargo-c 0.10.24 (the newest that builds with rustc 1.95)
# takes about 16 minutes to compile on 2 cores before it builds anything, Debian's cargo-c
# 0.9.14 predates edition 2024, and it would add a `capi` feature and metadata to Cargo.toml.
# This script produces cargo-c's layout (names, symlinks, SONAME rule, .pc fields) with cargo
# alone; tests/packaging/c.sh checks the result.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/install-c.sh [--prefix PREFIX] [--libdir DIR] [--destdir DIR] [--features LIST]
                            [--zig] [PREFIX]

Builds libconcur_native in release mode (the crate's default features, plus those --features
names) and installs:

  PREFIX/LIBDIR/libconcur_native.so.X.Y.Z    the shared library, SONAME libconcur_native.so.0.Y,
                                             stripped (strip --strip-unneeded), with a
                                             .gnu_debuglink to the debug file below
  PREFIX/LIBDIR/.debug/libconcur_native.so.X.Y.Z.debug
                                             its symbol table and debug information
                                             (objcopy --only-keep-debug): gdb and valgrind
                                             find it there by themselves, whatever PREFIX;
                                             delete it (or package it apart) if unwanted
  PREFIX/LIBDIR/libconcur_native.so.0.Y      -> libconcur_native.so.X.Y.Z (what programs load)
  PREFIX/LIBDIR/libconcur_native.so          -> libconcur_native.so.X.Y.Z (what -l finds)
  PREFIX/LIBDIR/libconcur_native.a           the static library
  PREFIX/LIBDIR/pkgconfig/concur_native.pc   pkg-config file (Libs.private for static links)
  PREFIX/include/concur_native.h             the header
  PREFIX/share/valgrind/concur_native.supp   valgrind suppressions for the library's internals
  PREFIX/share/doc/concur-native/            README.md and the licence texts

(macOS: libconcur_native.X.Y.Z.dylib, .0.Y.dylib and .dylib, install name PREFIX/LIBDIR/...,
as built: no debug file)

Options:
  --prefix PREFIX  absolute install prefix (default /usr/local); may also be given alone
  --libdir DIR     library folder, relative to PREFIX or absolute (default lib)
  --destdir DIR    stage the files under DIR as `make install DESTDIR=DIR` does: the files land
                   in DIR/PREFIX/..., while the .pc file and install name still say PREFIX
                   (the DESTDIR environment variable does the same)
  --features LIST  Cargo features to build in, comma-separated. Each token store beyond memory,
                   a file and the application's callbacks is one, off by default to keep the
                   library small:
                     redis    concur_token_manager_new accepts a redis:// (rediss://) store,
                              and the token vault one too (adds about 0.5 MiB)
                     sqlite   the token vault accepts a sqlite:///path store (SQLite itself
                              is compiled in)
                     postgres the token vault accepts a postgres:// store (no TLS)
                   Without it such a store is CONCUR_ERR_NOT_BUILT_IN at run time; the header
                   lists which calls need which feature.
  --zig            Linux x86_64/aarch64 glibc only: link with zig against glibc 2.17
                   (cargo-zigbuild rustc --target TRIPLE.2.17), so the shared library loads on
                   glibc 2.17 and newer, not only on this machine's glibc and newer. Needs
                   cargo-zigbuild on PATH and zig for it (zig on PATH, or python3 -m ziglang):
                     python3 -m venv zig-venv && zig-venv/bin/pip install cargo-zigbuild ziglang
                     PATH="$PWD/zig-venv/bin:$PATH" scripts/install-c.sh --zig --prefix PREFIX
                   Plain cargo and zig builds rebuild each other's dependencies: give the zig
                   build its own CARGO_TARGET_DIR to keep both warm.
  -h, --help       this text

Environment: CARGO (default cargo), CARGO_TARGET_DIR and CARGO_BUILD_TARGET as cargo reads them,
OBJCOPY (default objcopy; e.g. llvm-objcopy or aarch64-linux-gnu-objcopy for another target).

Link with:  cc prog.c $(pkg-config --cflags --libs concur_native)
EOF
}

die() {
  printf 'install-c.sh: %s\n' "$*" >&2
  exit 2
}

prefix=/usr/local
libdir=lib
destdir=${DESTDIR:-}
prefix_given=
zig=
features=
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --prefix) [ $# -ge 2 ] || die "--prefix needs a value"; prefix=$2; prefix_given=1; shift 2 ;;
    --prefix=*) prefix=${1#*=}; prefix_given=1; shift ;;
    --libdir) [ $# -ge 2 ] || die "--libdir needs a value"; libdir=$2; shift 2 ;;
    --libdir=*) libdir=${1#*=}; shift ;;
    --destdir) [ $# -ge 2 ] || die "--destdir needs a value"; destdir=$2; shift 2 ;;
    --destdir=*) destdir=${1#*=}; shift ;;
    --features) [ $# -ge 2 ] || die "--features needs a value"; features=$2; shift 2 ;;
    --features=*) features=${1#*=}; shift ;;
    --zig) zig=1; shift ;;
    -*) die "unknown option $1 (see --help)" ;;
    *)
      [ -z "$prefix_given" ] || die "the prefix is given twice: $prefix and $1"
      prefix=$1; prefix_given=1; shift ;;
  esac
done

# Feature names as Cargo.toml spells them, comma-separated; cargo refuses unknown ones.
[[ "$features" =~ ^[A-Za-z0-9_,-]*$ ]] || die "--features takes names separated by commas, not '$features'"
feature_args=()
[ -z "$features" ] || feature_args=(--features "$features")

# A relative prefix would be written into the .pc file and the install name, where it means
# nothing: refuse it rather than guess what it is relative to.
case "$prefix" in
  /*) ;;
  *) die "the prefix must be an absolute path, not '$prefix'" ;;
esac
prefix=${prefix%/}
[ -n "$prefix" ] || prefix=/
case "$libdir" in
  '') die "--libdir is empty" ;;
  /*) libdir_abs=${libdir%/} ;;
  *) libdir_abs=$prefix/${libdir%/} ;;
esac
libdir_abs=${libdir_abs#/}; libdir_abs=/$libdir_abs  # "/" + "lib" would give "//lib"
# The .pc file names the library folder relative to ${prefix} when it is under it, so that
# pkg-config --define-prefix and PKG_CONFIG_SYSROOT_DIR users can relocate it.
case "$libdir_abs" in
  "$prefix"/*) pc_libdir="\${prefix}/${libdir_abs#"$prefix"/}" ;;
  *) pc_libdir=$libdir_abs ;;
esac
if [ "$prefix" = / ]; then pc_libdir=$libdir_abs; fi
# DESTDIR may be relative, as with make; everything lands below it.
if [ -n "$destdir" ]; then
  case "$destdir" in /*) ;; *) destdir=$PWD/$destdir ;; esac
  destdir=${destdir%/}
fi

cd "$(dirname "$0")/.."
cargo=${CARGO:-cargo}

# The version, from Cargo.toml through cargo (the workspace's version is inherited).
version=$("$cargo" metadata --format-version 1 --no-deps --locked |
  grep -o '"name":"concur-native","version":"[^"]*"' | sed 's/.*"version":"\([^"]*\)"/\1/')
[[ "$version" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || die "cannot read the crate version (got '$version')"
major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]} patch=${BASH_REMATCH[3]}
# cargo-c's rule (LibraryCApiConfig::sover): 0.0.z -> 0.0.z, 0.y.z -> 0.y, x.y.z -> x. A 0.y
# release may break the ABI at each minor version, as Cargo's semver rules allow, so the
# SONAME carries the minor version: a program built against 0.1.x loads any later 0.1.x, and
# never 0.2.0.
if [ "$major" -eq 0 ] && [ "$minor" -eq 0 ]; then
  sover=0.0.$patch
elif [ "$major" -eq 0 ]; then
  sover=0.$minor
else
  sover=$major
fi

case "$(uname -s)" in
  Darwin)
    # Mach-O has no SONAME: the install name (recorded by programs that link against the
    # library, like NEEDED) plays its part, with -current_version/-compatibility_version
    # checked by dyld at load time. cargo-c uses the absolute installed path; a relocatable
    # tarball would rather use @rpath/libconcur_native.$sover.dylib (install_name_tool -id).
    # The static library's Libs.private lists frameworks (-framework Security ...) instead of
    # -lgcc_s. Untested here: CI runs Linux; the release workflow builds it on macOS.
    shared=libconcur_native.dylib
    full_name=libconcur_native.$major.$minor.$patch.dylib
    soname_file=libconcur_native.$sover.dylib
    # shellcheck disable=SC2054 # the commas are ld's: -Wl,opt,value passes "opt value"
    link_args=(-C "link-arg=-Wl,-install_name,$libdir_abs/$soname_file,-current_version,$major.$minor.$patch,-compatibility_version,$sover"
      -C link-arg=-Wl,-headerpad_max_install_names)
    ;;
  Linux | *BSD | DragonFly)
    shared=libconcur_native.so
    full_name=libconcur_native.so.$major.$minor.$patch
    soname_file=libconcur_native.so.$sover
    link_args=(-C "link-arg=-Wl,-soname,$soname_file")
    objcopy=${OBJCOPY:-objcopy}
    command -v "$objcopy" >/dev/null ||
      die "$objcopy not found: it splits the debug file off the library (binutils; or set OBJCOPY)"
    ;;
  *)
    # Windows would need a .dll in bin/, its import library libconcur_native.dll.lib (MSVC) in
    # lib/ and no symlinks: cargo cinstall does that; this script does not.
    die "unsupported system $(uname -s): Linux, the BSDs and macOS only"
    ;;
esac

# --zig: cargo-zigbuild reads the glibc version from a suffix of the target and gives cargo
# the plain triple (the library lands in target/TRIPLE/release/ as with cargo --target).
# The glibc zig links against: the oldest it ships, manylinux2014's.
zig_glibc=2.17
build=("$cargo" rustc)
if [ -n "$zig" ]; then
  triple=${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}
  [[ "$triple" =~ ^(x86_64|aarch64)-unknown-linux-gnu$ ]] ||
    die "--zig builds for Linux glibc only (x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu), not $triple"
  command -v cargo-zigbuild >/dev/null ||
    die "--zig needs cargo-zigbuild on PATH (and zig, or the ziglang Python package): python3 -m venv zig-venv && zig-venv/bin/pip install cargo-zigbuild ziglang, then put zig-venv/bin first on PATH"
  build=(cargo-zigbuild rustc --target "$triple.$zig_glibc")
fi

echo "--- building libconcur_native $version (release, features: default${features:+,$features}; SONAME/install name $soname_file${zig:+, zig: glibc $zig_glibc})"
log=$(mktemp)
artifacts=$(mktemp)
split=$(mktemp -d)
trap 'rm -rf "$log" "$artifacts" "$split"' EXIT
start=$(date +%s)
# Built for size: whole-program (fat) LTO, optimised for size. A C caller's time goes to the
# network (a token call is about 150 µs even on loopback), and the default library stays under
# issue 22's 3 MiB with the token vault in it (thin LTO at -O3 was 3.06 MiB; this is 2.22).
# Both may be overridden from the environment (CARGO_PROFILE_RELEASE_LTO, _OPT_LEVEL).
export CARGO_PROFILE_RELEASE_LTO=${CARGO_PROFILE_RELEASE_LTO:-fat}
export CARGO_PROFILE_RELEASE_OPT_LEVEL=${CARGO_PROFILE_RELEASE_OPT_LEVEL:-s}
# `cargo rustc` passes the flags after `--` to this crate's compilation only: the SONAME is a
# link argument of the final shared library, not of any dependency. The crate types replace
# Cargo.toml's list (no rlib needed). Features: the defaults, as the crate ships, plus what
# --features names. The token stores beyond memory and a file are left out unless asked for
# (Redis alone is a sixth of the library; issue 22 keeps the default under 3 MiB stripped);
# the header says which calls need which, and without it they return CONCUR_ERR_NOT_BUILT_IN.
# rustc prints the static library's system libraries as a note (replayed by cargo when the
# build is fresh); it goes to the .pc file's Libs.private.
{
  "${build[@]}" --locked --release --lib -p concur-native ${feature_args[@]+"${feature_args[@]}"} \
    --crate-type cdylib,staticlib --message-format=json-render-diagnostics \
    -- "${link_args[@]}" --print native-static-libs 2>&1 >"$artifacts" | tee "$log" >&2
}
echo "--- built in $(($(date +%s) - start)) s"

# The files cargo reported for this crate (json lines: reason, package id, target, filenames).
files=$(grep '"reason":"compiler-artifact"' "$artifacts" | grep '"name":"concur_native"' |
  grep -o '"filenames":\[[^]]*\]' | grep -o '"[^"]*\.\(so\|dylib\|a\)"' | tr -d '"')
built_shared=$(printf '%s\n' "$files" | grep -E '\.(so|dylib)$' | head -n 1)
built_static=$(printf '%s\n' "$files" | grep -E '\.a$' | head -n 1)
[ -f "$built_shared" ] && [ -f "$built_static" ] ||
  die "cargo reported no shared and static library (got: $files)"
static_libs=$(sed -n 's/^note: native-static-libs: //p' "$log" | tail -n 1)
[ -n "$static_libs" ] || die "rustc printed no native-static-libs note"

root=$destdir$prefix
lib=$destdir$libdir_abs
[ "$prefix" = / ] && root=${destdir:-/}
install -d "$lib/pkgconfig" "$root/include" "$root/share/valgrind" "$root/share/doc/concur-native"
if [ -n "${objcopy:-}" ]; then
  # As distributions ship a library (Debian's dh_strip, Fedora's find-debuginfo): the
  # installed file keeps only what the loader needs (strip --strip-unneeded: no .symtab; the
  # release profile already leaves out DWARF), and its symbol table and any debug information
  # go to a file of their own, which the library names in .gnu_debuglink (with its CRC).
  # That file sits in .debug/ beside the library: the one place where gdb and valgrind look
  # for a debuglink target under any prefix (Debian's /usr/lib/debug is only searched for
  # /usr, or when gdb is told), and where ldconfig, which scans lib*.so* files, never sees it.
  # valgrind needs the symbols to apply share/valgrind/concur_native.supp, whose entries name
  # the library's internal functions.
  debug_name=$full_name.debug
  "$objcopy" --only-keep-debug "$built_shared" "$split/$debug_name"
  "$objcopy" --strip-unneeded --add-gnu-debuglink="$split/$debug_name" "$built_shared" "$split/$full_name"
  install -d "$lib/.debug"
  install -m 0644 "$split/$debug_name" "$lib/.debug/$debug_name"
  install -m 0755 "$split/$full_name" "$lib/$full_name"
else
  install -m 0755 "$built_shared" "$lib/$full_name"
fi
ln -sfn "$full_name" "$lib/$soname_file"
ln -sfn "$full_name" "$lib/$shared"
install -m 0644 "$built_static" "$lib/libconcur_native.a"
install -m 0644 include/concur_native.h "$root/include/concur_native.h"
install -m 0644 share/valgrind/concur_native.supp "$root/share/valgrind/concur_native.supp"
install -m 0644 README.md LICENSE-MIT LICENSE-APACHE "$root/share/doc/concur-native/"

# The same fields as cargo-c's: the prefix as installed (never DESTDIR), Libs for the shared
# library, Libs.private for a static link (pkg-config --static).
description=$(sed -n 's/^description = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
cat >"$lib/pkgconfig/concur_native.pc" <<EOF
prefix=$prefix
exec_prefix=\${prefix}
libdir=$pc_libdir
includedir=\${prefix}/include

Name: concur_native
Description: ${description:-SAP Concur OAuth 2 access tokens}
Version: $version
Libs: -L\${libdir} -lconcur_native
Cflags: -I\${includedir}
Libs.private: $static_libs
EOF
chmod 0644 "$lib/pkgconfig/concur_native.pc"

echo "--- installed libconcur_native $version under ${destdir:+$destdir (DESTDIR) + }$prefix:"
printf '  (built %s: %s bytes)\n' "$built_shared" "$(wc -c <"$built_shared" | tr -d ' ')"
for f in "$lib/$full_name" ${debug_name:+"$lib/.debug/$debug_name"} "$lib/$soname_file" "$lib/$shared" "$lib/libconcur_native.a" \
  "$lib/pkgconfig/concur_native.pc" "$root/include/concur_native.h" \
  "$root/share/valgrind/concur_native.supp" "$root/share/doc/concur-native/"*; do
  if [ -L "$f" ]; then
    printf '  %s -> %s\n' "$f" "$(readlink "$f")"
  else
    printf '  %s (%s bytes)\n' "$f" "$(wc -c <"$f" | tr -d ' ')"
  fi
done
