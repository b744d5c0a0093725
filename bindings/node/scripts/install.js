'use strict';
// npm's install step: nothing when an addon already fits (the prebuilt platform package, or a
// source build beside lib/), else a source build with `cargo build --release`. Forced with
// CONCUR_NATIVE_BUILD_FROM_SOURCE=1 (or npm's --build-from-source, which npm 11 warns is not
// its own option), and in a checkout of the repository (its addon may predate the sources;
// cargo rebuilds only what changed).

const fs = require('node:fs');
const path = require('node:path');
const { load } = require('../lib/addon.js');
const { platformId, prebuiltIds } = require('../lib/platform.js');
const { buildLocal, haveCargo } = require('./build-prebuilt.js');

const here = path.resolve(__dirname, '..');
const { version } = require('../package.json');

/** True when the user asked for a source build. */
function fromSourceRequested() {
  const flag = (name) => ['1', 'true'].includes(String(process.env[name] ?? '').toLowerCase());
  return flag('npm_config_build_from_source') || flag('CONCUR_NATIVE_BUILD_FROM_SOURCE');
}

/** True in a checkout: the crate belongs to the repository's workspace, no core vendored. */
function inCheckout() {
  return !fs.existsSync(path.join(here, 'vendor')) && fs.existsSync(path.join(here, '..', '..', 'Cargo.toml'));
}

/** The addon that would be loaded, checked to load and to be this version; null when none fits. */
function fittingAddon() {
  try {
    const { addon, path: where, kind } = load();
    if (addon.version() !== version) return null;
    return { where, kind };
  } catch {
    return null;
  }
}

function main() {
  const id = platformId();
  const force = fromSourceRequested() || (inCheckout() && haveCargo());
  if (!force) {
    const found = fittingAddon();
    if (found) {
      const what = found.kind === 'package' ? 'prebuilt' : 'built';
      console.log(`concur-native: using the ${what} addon ${path.relative(here, found.where)}`);
      return;
    }
  }
  if (!haveCargo()) {
    const why = force
      ? 'a source build was asked for'
      : prebuiltIds().includes(id)
        ? `the prebuilt package for ${id} is not installed or does not load`
        : `there is no prebuilt addon for ${id}`;
    console.error(
      `concur-native: ${why}, and building from source needs cargo, which is not on PATH.\n` +
        'Install a Rust toolchain (https://rustup.rs) and a C compiler, then run ' +
        '`npm rebuild concur-native`.',
    );
    process.exitCode = 1;
    return;
  }
  console.log(`concur-native: building the addon for ${id} from source (cargo build --release)`);
  const ownTarget = path.join(here, 'target');
  const cleanUp = !process.env.CARGO_TARGET_DIR && !fs.existsSync(ownTarget);
  try {
    const written = buildLocal({ release: true });
    console.log(`concur-native: built ${path.relative(here, written)}`);
  } finally {
    // A tarball's own target dir holds hundreds of MB of intermediate files nobody reuses.
    if (cleanUp) fs.rmSync(ownTarget, { recursive: true, force: true });
  }
}

try {
  main();
} catch (e) {
  console.error(`concur-native: ${e.message}`);
  process.exitCode = 1;
}
