'use strict';
// `npm pack` support. In the repository the addon's Cargo.toml points at the core two folders
// up; a tarball installed elsewhere has no such folder. Before packing (`pack`), this copies
// the core crate, as `cargo package` normalises it, into vendor/concur-native, points
// Cargo.toml at it, makes the package its own cargo workspace, and adds the repository's
// Cargo.lock. After packing (`unpack`), it puts everything back.

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const here = path.resolve(__dirname, '..');
const root = path.resolve(here, '..', '..');
const manifest = path.join(here, 'Cargo.toml');
const backup = path.join(here, '.Cargo.toml.workspace');
const vendor = path.join(here, 'vendor');

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

  const original = fs.readFileSync(manifest, 'utf8');
  fs.writeFileSync(backup, original);
  const packed = original
    .replace('version.workspace = true', `version = "${core.version}"`)
    .replace('path = "../.."', 'path = "vendor/concur-native"')
    .concat('\n# Packed by scripts/vendor-core.js: a workspace of its own.\n[workspace]\n');
  fs.writeFileSync(manifest, packed);
  fs.copyFileSync(path.join(root, 'Cargo.lock'), path.join(here, 'Cargo.lock'));
}

function unpack() {
  if (fs.existsSync(backup)) fs.renameSync(backup, manifest);
  fs.rmSync(vendor, { recursive: true, force: true });
  fs.rmSync(path.join(here, 'Cargo.lock'), { force: true });
}

const action = process.argv[2];
if (action === 'pack') pack();
else if (action === 'unpack') unpack();
else {
  console.error('usage: node scripts/vendor-core.js pack|unpack');
  process.exit(2);
}
