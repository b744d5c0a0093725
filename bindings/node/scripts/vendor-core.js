'use strict';
// `npm pack` support. In the repository the addon's Cargo.toml points at the core two folders
// up; a tarball installed elsewhere has no such folder. Before packing (`pack`), this copies
// the core crate, as `cargo package` normalises it, into vendor/concur-native, points
// Cargo.toml at it, makes the package its own cargo workspace with the repository's release
// profile, and adds the repository's Cargo.lock pruned to this package (no version changes)
// and its license texts.
// After packing (`unpack`), it puts everything back.

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const here = path.resolve(__dirname, '..');
const root = path.resolve(here, '..', '..');
const manifest = path.join(here, 'Cargo.toml');
const backup = path.join(here, '.Cargo.toml.workspace');
const vendor = path.join(here, 'vendor');
/** The license texts at the repository's root, packed with the package. */
const LICENSES = ['LICENSE-MIT', 'LICENSE-APACHE'];
/** A Cargo.toml's [profile.release] table, up to the next table. */
const PROFILE = /^\[profile\.release\]\n(?:[^[\n].*\n|\n)*/m;

function pack() {
  if (fs.existsSync(backup)) unpack(); // a previous pack was interrupted
  const metadata = JSON.parse(
    execFileSync('cargo', ['metadata', '--format-version', '1', '--no-deps'], { cwd: root }),
  );
  const core = metadata.packages.find((p) => p.name === 'concur-native');
  if (!core) throw new Error('vendor-core: the concur-native crate is not at ../..');
  execFileSync(
    'cargo',
    ['package', '-p', 'concur-native', '--no-verify', '--allow-dirty', '--quiet'],
    { cwd: root, stdio: 'inherit' },
  );
  const crate = path.join(
    metadata.target_directory,
    'package',
    `concur-native-${core.version}.crate`,
  );
  fs.rmSync(vendor, { recursive: true, force: true });
  fs.mkdirSync(vendor);
  execFileSync('tar', ['-xzf', crate, '-C', vendor]);
  fs.renameSync(path.join(vendor, `concur-native-${core.version}`), path.join(vendor, 'concur-native'));
  // Profiles count only at a workspace's root (the packed Cargo.toml gets them below): cargo
  // would warn about the vendored copy's at every source build.
  const vendored = path.join(vendor, 'concur-native', 'Cargo.toml');
  fs.writeFileSync(vendored, fs.readFileSync(vendored, 'utf8').replace(PROFILE, ''));

  const original = fs.readFileSync(manifest, 'utf8');
  fs.writeFileSync(backup, original);
  // The release profile of the repository's workspace, so a source build from the tarball
  // is optimised as the prebuilt addons are.
  const profile = fs.readFileSync(path.join(root, 'Cargo.toml'), 'utf8').match(PROFILE);
  const packed = original
    .replace('version.workspace = true', `version = "${core.version}"`)
    .replace('path = "../.."', 'path = "vendor/concur-native"')
    .concat('\n# Packed by scripts/vendor-core.js: a workspace of its own.\n[workspace]\n')
    .concat(profile ? `\n${profile[0].trimEnd()}\n` : '');
  fs.writeFileSync(manifest, packed);
  // The repository's lock file, pruned to this package's dependencies (no version changes),
  // so the install script's `cargo build --locked` builds exactly what the repository tests.
  for (const license of LICENSES) fs.copyFileSync(path.join(root, license), path.join(here, license));
  const lock = path.join(here, 'Cargo.lock');
  fs.copyFileSync(path.join(root, 'Cargo.lock'), lock);
  execFileSync('cargo', ['metadata', '--format-version', '1', '--manifest-path', manifest], {
    cwd: here,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const repository = new Set(lockedPackages(path.join(root, 'Cargo.lock')));
  const changed = lockedPackages(lock).filter((p) => !repository.has(p) && !p.startsWith('concur-native'));
  if (changed.length > 0) throw new Error(`vendor-core: the packed Cargo.lock differs: ${changed.join(', ')}`);
}

/** The `name version` of every package a Cargo.lock pins. */
function lockedPackages(file) {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/^name = "([^"]+)"\nversion = "([^"]+)"/gm)].map((m) => `${m[1]} ${m[2]}`);
}

function unpack() {
  if (fs.existsSync(backup)) fs.renameSync(backup, manifest);
  fs.rmSync(vendor, { recursive: true, force: true });
  fs.rmSync(path.join(here, 'Cargo.lock'), { force: true });
  for (const license of LICENSES) fs.rmSync(path.join(here, license), { force: true });
}

const action = process.argv[2];
if (action === 'pack') pack();
else if (action === 'unpack') unpack();
else {
  console.error('usage: node scripts/vendor-core.js pack|unpack');
  process.exit(2);
}
