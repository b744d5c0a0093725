'use strict';
// Names this machine's platform the way the addon's files and platform packages are named.
// One table serves the loader (which package to load), scripts/install.js (whether a prebuilt
// fits) and scripts/build-prebuilt.js (which package a Rust target's build goes into).

/** The npm scope of the prebuilt platform packages: `@concur-native/linux-x64-gnu`, … */
const SCOPE = '@concur-native';

/** The base of every addon file name: `concur-native.linux-x64-gnu.node`. */
const BINARY_NAME = 'concur-native';

/**
 * The platforms that get a prebuilt package, by Rust target: Node's `os`, `cpu` and (Linux)
 * `libc` names, which npm matches to install only the package that fits. The main package's
 * optionalDependencies list exactly these (a test checks it).
 */
const TARGETS = Object.freeze({
  'x86_64-unknown-linux-gnu': { os: 'linux', cpu: 'x64', libc: 'glibc' },
  'aarch64-unknown-linux-gnu': { os: 'linux', cpu: 'arm64', libc: 'glibc' },
  'x86_64-unknown-linux-musl': { os: 'linux', cpu: 'x64', libc: 'musl' },
  'aarch64-unknown-linux-musl': { os: 'linux', cpu: 'arm64', libc: 'musl' },
  'x86_64-apple-darwin': { os: 'darwin', cpu: 'x64' },
  'aarch64-apple-darwin': { os: 'darwin', cpu: 'arm64' },
  'x86_64-pc-windows-msvc': { os: 'win32', cpu: 'x64' },
});

/**
 * The C library the running Node was linked against, on Linux: 'glibc' or 'musl' (null
 * elsewhere). Read from process.report as napi-rs's loader does: a glibc Node names its
 * runtime glibc version in the report header; a musl Node has none and loads a musl libc.
 * This is Node's own libc, which is what the addon must match (not whatever /usr/bin/ldd is).
 */
function runtimeLibc() {
  if (process.platform !== 'linux') return null;
  const excluded = process.report.excludeNetwork;
  let report;
  try {
    process.report.excludeNetwork = true; // no DNS lookups for the report's network section
    report = process.report.getReport();
  } finally {
    process.report.excludeNetwork = excluded;
  }
  if (report?.header?.glibcVersionRuntime) return 'glibc';
  const objects = Array.isArray(report?.sharedObjects) ? report.sharedObjects : [];
  if (objects.some((f) => f.includes('libc.musl-') || f.includes('ld-musl-'))) return 'musl';
  return 'glibc';
}

/**
 * The platform's id, as in file and package names: `linux-x64-gnu`, `linux-arm64-musl`,
 * `darwin-arm64`, `win32-x64-msvc`. Also for platforms without a prebuilt (a source build
 * is named the same way).
 */
function platformId({ os = process.platform, cpu = process.arch, libc } = {}) {
  if (os === 'linux') {
    const c = libc === undefined ? runtimeLibc() : libc;
    const abi = c === 'musl' ? 'musl' : cpu === 'arm' ? 'gnueabihf' : 'gnu';
    return `${os}-${cpu}-${abi}`;
  }
  if (os === 'win32') return `${os}-${cpu}-msvc`;
  return `${os}-${cpu}`;
}

/** The addon's file name for a platform: `concur-native.linux-x64-gnu.node`. */
function binaryFile(id) {
  return `${BINARY_NAME}.${id}.node`;
}

/** The prebuilt package's name for a platform: `@concur-native/linux-x64-gnu`. */
function packageName(id) {
  return `${SCOPE}/${id}`;
}

/** The platform id of a Rust target in TARGETS, or null. */
function targetId(triple) {
  const target = TARGETS[triple];
  return target ? platformId(target) : null;
}

/** The ids of every platform with a prebuilt package. */
function prebuiltIds() {
  return Object.keys(TARGETS).map(targetId);
}

module.exports = {
  SCOPE,
  BINARY_NAME,
  TARGETS,
  runtimeLibc,
  platformId,
  binaryFile,
  packageName,
  targetId,
  prebuiltIds,
};
