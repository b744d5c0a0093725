'use strict';
// Finds the concur-emulator program: $CONCUR_EMULATOR_BINARY, else the prebuilt platform
// package npm installed beside this one (@concur-emulator/linux-x64-gnu, ...), else a
// `concur-emulator` on PATH (`cargo install concur-emulator`). No download at install time.

const fs = require('node:fs');
const path = require('node:path');

/** The environment variable naming the program to start instead of the prebuilt one. */
const BINARY_ENV = 'CONCUR_EMULATOR_BINARY';

/** The npm scope of the platform packages. */
const SCOPE = '@concur-emulator';

/**
 * The platforms with a prebuilt package, by Rust target: Node's `os`, `cpu` and (Linux)
 * `libc` names; the platform packages' package.json files say the same so that npm installs
 * only the one that fits. package.json's optionalDependencies list exactly these.
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

/** The C library of the running Node on Linux ('glibc' or 'musl'), from process.report. */
function runtimeLibc() {
  if (process.platform !== 'linux') return null;
  const excluded = process.report.excludeNetwork;
  let report;
  try {
    process.report.excludeNetwork = true;
    report = process.report.getReport();
  } finally {
    process.report.excludeNetwork = excluded;
  }
  if (report?.header?.glibcVersionRuntime) return 'glibc';
  const objects = Array.isArray(report?.sharedObjects) ? report.sharedObjects : [];
  return objects.some((f) => f.includes('ld-musl-') || f.includes('libc.musl-')) ? 'musl' : 'glibc';
}

/** A platform's id as in package names: linux-x64-gnu, linux-arm64-musl, darwin-arm64, ... */
function platformId({ os = process.platform, cpu = process.arch, libc } = {}) {
  if (os === 'linux') {
    const c = libc === undefined ? runtimeLibc() : libc;
    return `${os}-${cpu}-${c === 'musl' ? 'musl' : 'gnu'}`;
  }
  if (os === 'win32') return `${os}-${cpu}-msvc`;
  return `${os}-${cpu}`;
}

/** The program's file name on a platform. */
function exeName(os = process.platform) {
  return os === 'win32' ? 'concur-emulator.exe' : 'concur-emulator';
}

/** The platform package's name: @concur-emulator/linux-x64-gnu. */
function packageName(id = platformId()) {
  return `${SCOPE}/${id}`;
}

/** The program in the installed platform package, or null. */
function fromPackage(id = platformId()) {
  let manifest;
  try {
    manifest = require.resolve(`${packageName(id)}/package.json`, { paths: [path.join(__dirname, '..')] });
  } catch (e) {
    if (e.code === 'MODULE_NOT_FOUND') return null;
    throw e;
  }
  const file = path.join(path.dirname(manifest), 'bin', exeName());
  return fs.existsSync(file) ? file : null;
}

/** The program on PATH, or null. */
function fromPath() {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, exeName());
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * The path of the concur-emulator program; throws an Error saying what was tried and what to
 * do when there is none.
 */
function findBinary() {
  const override = process.env[BINARY_ENV];
  if (override) {
    if (!fs.existsSync(override)) throw new Error(`${BINARY_ENV}=${override} does not exist`);
    return override;
  }
  const found = fromPackage() || fromPath();
  if (found) return found;
  const id = platformId();
  const prebuilt = Object.values(TARGETS).map((t) => platformId(t));
  const advice = prebuilt.includes(id)
    ? `${packageName(id)} should have come with concur-emulator as an optional dependency: ` +
      'reinstall without --omit=optional'
    : `there is no prebuilt program for ${id}: cargo install concur-emulator`;
  throw new Error(`concur-emulator: no program for ${id} (${advice}, or set ${BINARY_ENV})`);
}

module.exports = { BINARY_ENV, SCOPE, TARGETS, platformId, exeName, packageName, findBinary };
