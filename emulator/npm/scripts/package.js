#!/usr/bin/env node
'use strict';
// Builds what `npm pack` publishes besides the main package. Node only.
//
//   node scripts/package.js licenses
//       copies the repository's license texts here (run by prepack)
//   node scripts/package.js platform --binary PATH [--target TRIPLE]
//       writes npm/<platform>/ (package.json, README.md, the licenses, bin/concur-emulator):
//       the prebuilt package npm installs beside concur-emulator on that platform. PATH is a
//       built program (cargo build --release -p concur-emulator); TRIPLE defaults to
//       $CARGO_BUILD_TARGET, else this machine's.

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { TARGETS, platformId, packageName, exeName } = require('../lib/binary.js');

const here = path.resolve(__dirname, '..');
const root = path.resolve(here, '..', '..');
const LICENSES = ['LICENSE-MIT', 'LICENSE-APACHE'];
const SHARED = ['keywords', 'homepage', 'bugs', 'license', 'repository', 'engines'];

function copyLicenses(dir) {
  for (const name of LICENSES) fs.copyFileSync(path.join(root, name), path.join(dir, name));
}

function hostTriple() {
  return process.env.CARGO_BUILD_TARGET || execFileSync('rustc', ['-vV'], { encoding: 'utf8' }).match(/^host: (.*)$/m)[1];
}

/** Writes npm/<platform>/ for a Rust target with the program at `binary`; returns the folder. */
function platformPackage(binary, triple = hostTriple()) {
  const target = TARGETS[triple];
  if (!target) throw new Error(`no platform package for ${triple} (there are: ${Object.keys(TARGETS).join(', ')})`);
  const main = JSON.parse(fs.readFileSync(path.join(here, 'package.json'), 'utf8'));
  const id = platformId(target);
  const dir = path.join(here, 'npm', id);
  const exe = exeName(target.os);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
  const manifest = {
    name: packageName(id),
    version: main.version,
    description: `The ${triple} program of concur-emulator (installed by concur-emulator, not on its own)`,
  };
  for (const field of SHARED) if (main[field] !== undefined) manifest[field] = main[field];
  Object.assign(manifest, { os: [target.os], cpu: [target.cpu] });
  if (target.libc) manifest.libc = [target.libc];
  manifest.files = [`bin/${exe}`, ...LICENSES];
  manifest.publishConfig = { access: 'public' };
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  fs.writeFileSync(
    path.join(dir, 'README.md'),
    `# ${manifest.name}\n\nThe prebuilt \`concur-emulator\` program ${main.version} for \`${triple}\`. ` +
      'Install `concur-emulator`: npm picks this package when it fits the machine.\n',
  );
  fs.copyFileSync(binary, path.join(dir, 'bin', exe));
  fs.chmodSync(path.join(dir, 'bin', exe), 0o755);
  copyLicenses(dir);
  return dir;
}

function main(argv) {
  const [command, ...rest] = argv;
  const option = (name) => {
    const at = rest.indexOf(name);
    return at >= 0 ? rest[at + 1] : undefined;
  };
  if (command === 'licenses') return copyLicenses(here);
  if (command === 'platform' && option('--binary')) {
    return console.log(platformPackage(option('--binary'), option('--target')));
  }
  console.error('usage: node scripts/package.js licenses | platform --binary PATH [--target TRIPLE]');
  process.exit(2);
}

if (require.main === module) main(process.argv.slice(2));
module.exports = { platformPackage, copyLicenses };
