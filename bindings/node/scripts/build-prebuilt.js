#!/usr/bin/env node
'use strict';
// Builds the addon with cargo (no napi CLI: napi-build's build.rs does the linking) and puts
// it where it is loaded from: a platform package folder npm/<platform>/ ready for `npm pack`
// (the default), or beside lib/ (`--local`, a source build). Node and cargo only.
//
// `--zig` links a Linux glibc prebuilt with zig against glibc 2.17 (cargo-zigbuild), so that
// it loads on every Linux of the last decade, not only on the build machine's glibc and newer.
// `node scripts/build-prebuilt.js --help` says how.

const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const platform = require('../lib/platform.js');

const here = path.resolve(__dirname, '..');
/** The license texts at the repository's root, copied into each package when it is built. */
const LICENSES = ['LICENSE-MIT', 'LICENSE-APACHE'];
const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
const writeJson = (file, value) => fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);

/** The glibc a `--zig` build links against: the oldest zig ships and manylinux2014's. */
const ZIG_GLIBC = '2.17';

/** How to use the script (`--help`). */
const HELP = `usage: node scripts/build-prebuilt.js [--target TRIPLE] [--zig] | --local [--debug] | --sync

  [--target TRIPLE]  release build into the platform package folder npm/<platform>/
                     (default target: $CARGO_BUILD_TARGET, else this machine's)
  --zig              with the above, for x86_64- or aarch64-unknown-linux-gnu only: link with
                     zig against glibc ${ZIG_GLIBC} (cargo-zigbuild build --target TRIPLE.${ZIG_GLIBC}), so
                     the addon loads on glibc ${ZIG_GLIBC} and newer rather than only on this
                     machine's glibc and newer. Needs cargo-zigbuild on PATH and zig for it
                     (zig on PATH, or python3 -m ziglang), both from PyPI:
                       python3 -m venv zig-venv
                       zig-venv/bin/pip install cargo-zigbuild ziglang
                       PATH="$PWD/zig-venv/bin:$PATH" node scripts/build-prebuilt.js --zig
                     It shares no build with plain cargo (another linker): give it its own
                     CARGO_TARGET_DIR to keep both builds warm.
  --local [--debug]  source build for this machine -> concur-native.<platform>.node beside lib/
  --sync             rewrite npm/*/package.json and the optionalDependencies from package.json
  --help             this text`;

/** The fields a platform package copies from the main package. */
const SHARED_FIELDS = ['description', 'keywords', 'homepage', 'bugs', 'license', 'repository', 'engines'];

/** The package.json of the platform package for a Rust target, from the main package's. */
function platformManifest(triple, main = readJson(path.join(here, 'package.json'))) {
  const target = platform.TARGETS[triple];
  const id = platform.targetId(triple);
  const file = platform.binaryFile(id);
  const manifest = {
    name: platform.packageName(id),
    version: main.version,
    description: `The ${triple} addon of concur-native (installed by concur-native, not on its own)`,
  };
  for (const field of SHARED_FIELDS) {
    if (field !== 'description' && main[field] !== undefined) manifest[field] = main[field];
  }
  Object.assign(manifest, { os: [target.os], cpu: [target.cpu] });
  if (target.libc) manifest.libc = [target.libc];
  Object.assign(manifest, { main: file, files: [file, ...LICENSES] });
  // A scoped package is private on its first publish unless it says otherwise.
  manifest.publishConfig = { access: 'public' };
  return manifest;
}

/** The platform package's README. */
function platformReadme(triple, main) {
  return (
    `# ${platform.packageName(platform.targetId(triple))}\n\n` +
    `The prebuilt native addon of [concur-native](${main.homepage}) ${main.version} for ` +
    `\`${triple}\`. Install \`concur-native\`: npm picks this package when it fits the machine.\n`
  );
}

/** Writes npm/<platform>/package.json and README.md for a target; returns the folder. */
function writePlatformPackage(triple, main = readJson(path.join(here, 'package.json'))) {
  const dir = path.join(here, 'npm', platform.targetId(triple));
  fs.mkdirSync(dir, { recursive: true });
  writeJson(path.join(dir, 'package.json'), platformManifest(triple, main));
  fs.writeFileSync(path.join(dir, 'README.md'), platformReadme(triple, main));
  return dir;
}

/** What optionalDependencies must be: every platform package, at exactly this version. */
function optionalDependencies(main) {
  const deps = {};
  for (const id of platform.prebuiltIds()) deps[platform.packageName(id)] = main.version;
  return deps;
}

/** Rewrites every platform package's files and the main package's optionalDependencies. */
function sync() {
  const mainFile = path.join(here, 'package.json');
  const main = readJson(mainFile);
  main.optionalDependencies = optionalDependencies(main);
  writeJson(mainFile, main);
  for (const triple of Object.keys(platform.TARGETS)) writePlatformPackage(triple, main);
}

/** The host's Rust target, as rustc (which comes with cargo) names it. */
function hostTriple() {
  const out = execFileSync('rustc', ['-vV'], { encoding: 'utf8' });
  return out.match(/^host: (.+)$/m)[1].trim();
}

/** True when `cargo` runs. */
function haveCargo() {
  return spawnSync('cargo', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * The environment of a build for `triple`: a musl addon must link libc dynamically (Node
 * loads it with dlopen), as napi-rs's CLI does it.
 */
function buildEnv(triple) {
  const env = { ...process.env };
  if (triple?.includes('musl')) {
    const flag = '-C target-feature=-crt-static';
    const key = env.RUSTFLAGS != null
      ? 'RUSTFLAGS'
      : `CARGO_TARGET_${triple.toUpperCase().replace(/[-.]/g, '_')}_RUSTFLAGS`;
    if (!(env[key] ?? '').includes('crt-static')) env[key] = `${env[key] ?? ''} ${flag}`.trim();
  }
  return env;
}

/**
 * The target cargo-zigbuild builds for a `--zig` build of `triple`: `<triple>.2.17`. Throws for
 * a target that is not Linux glibc (zig's glibc pinning applies only there).
 */
function zigTarget(triple) {
  if (!/^(x86_64|aarch64)-unknown-linux-gnu$/.test(triple)) {
    throw new Error(
      `--zig builds Linux glibc addons only (x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu), not ${triple}`,
    );
  }
  return `${triple}.${ZIG_GLIBC}`;
}

/** Throws, saying how to get it, when cargo-zigbuild does not run. */
function requireZigbuild() {
  const result = spawnSync('cargo-zigbuild', ['--version'], { stdio: 'ignore' });
  if (result.status !== 0) {
    throw new Error(
      '--zig needs cargo-zigbuild on PATH (and zig, or the ziglang Python package): ' +
        'python3 -m venv zig-venv && zig-venv/bin/pip install cargo-zigbuild ziglang, ' +
        'then put zig-venv/bin first on PATH (see --help)',
    );
  }
}

/**
 * Runs `cargo build` of this package's crate (the manifest beside package.json: in the
 * repository a workspace member, in a packed tarball a workspace of its own) and returns the
 * path of the cdylib cargo reports.
 */
function cargoBuild({ triple, release = true, zig = false } = {}) {
  const args = [
    'build',
    '--locked',
    '--manifest-path',
    path.join(here, 'Cargo.toml'),
    '-p',
    'concur-native-node',
    '--lib',
    '--message-format=json-render-diagnostics',
  ];
  if (release) args.push('--release');
  // cargo-zigbuild takes the glibc version as a suffix of the target and hands cargo the plain
  // triple, so the library lands in target/<triple>/ as with cargo.
  if (zig) args.push('--target', zigTarget(triple));
  else if (triple) args.push('--target', triple);
  const result = spawnSync(zig ? 'cargo-zigbuild' : 'cargo', args, {
    cwd: here,
    // The flags of the target actually built: --target's, else cargo's own default.
    env: buildEnv(triple ?? process.env.CARGO_BUILD_TARGET ?? hostTriple()),
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${zig ? 'cargo-zigbuild' : 'cargo'} build failed (exit ${result.status})`);
  }
  let library;
  for (const line of result.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const message = JSON.parse(line);
    if (message.reason === 'compiler-artifact' && message.target?.kind?.includes('cdylib')) {
      library = message.filenames.find((f) => /\.(so|dylib|dll)$/.test(f));
    }
  }
  if (!library) throw new Error('cargo build reported no cdylib for concur-native-node');
  return library;
}

/** Copies the library to `dest` through a temporary file, so a loaded addon is never overwritten in place. */
function install(library, dest) {
  const temp = `${dest}.${process.pid}.tmp`;
  fs.copyFileSync(library, temp);
  fs.renameSync(temp, dest);
  return dest;
}

/** A source build for this machine, beside lib/ where the loader looks first. */
function buildLocal({ release = true } = {}) {
  const library = cargoBuild({ release });
  return install(library, path.join(here, platform.binaryFile(platform.platformId())));
}

/**
 * A release build for `triple` (default: $CARGO_BUILD_TARGET, else the host) into its platform
 * package folder; with `zig`, linked by zig against glibc 2.17.
 */
function buildPrebuilt(triple, { zig = false } = {}) {
  const target = triple ?? process.env.CARGO_BUILD_TARGET ?? hostTriple();
  if (!platform.TARGETS[target]) {
    throw new Error(`no platform package for ${target}; known: ${Object.keys(platform.TARGETS).join(', ')}`);
  }
  if (zig) {
    zigTarget(target);
    requireZigbuild();
  }
  const library = zig
    ? cargoBuild({ triple: target, release: true, zig: true })
    : cargoBuild({ triple: triple ?? process.env.CARGO_BUILD_TARGET, release: true });
  const dir = writePlatformPackage(target);
  for (const license of LICENSES) {
    fs.copyFileSync(path.join(here, '..', '..', license), path.join(dir, license));
  }
  return install(library, path.join(dir, platform.binaryFile(platform.targetId(target))));
}

function main(argv) {
  const usage = HELP.split('\n')[0];
  const args = [...argv];
  let triple;
  let local = false;
  let debug = false;
  let zig = false;
  while (args.length > 0) {
    const arg = args.shift();
    if (arg === '--target' && args.length > 0) triple = args.shift();
    else if (arg.startsWith('--target=')) triple = arg.slice('--target='.length);
    else if (arg === '--local') local = true;
    else if (arg === '--debug') debug = true;
    else if (arg === '--zig') zig = true;
    else if (arg === '--help' || arg === '-h') {
      console.log(HELP);
      return undefined;
    } else if (arg === '--sync') return sync();
    else {
      console.error(usage);
      process.exitCode = 2;
      return undefined;
    }
  }
  if (debug && !local) {
    console.error(`--debug goes with --local (a prebuilt is always a release build)\n${usage}`);
    process.exitCode = 2;
    return undefined;
  }
  if (local && triple) {
    console.error(`--local builds for this machine; --target is for platform packages\n${usage}`);
    process.exitCode = 2;
    return undefined;
  }
  if (local && zig) {
    console.error(`--zig is for platform packages; --local builds for this machine with cargo\n${usage}`);
    process.exitCode = 2;
    return undefined;
  }
  const written = local ? buildLocal({ release: !debug }) : buildPrebuilt(triple, { zig });
  console.log(path.relative(process.cwd(), written) || written);
  return written;
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error(`build-prebuilt: ${e.message}`);
    process.exitCode = 1;
  }
}

module.exports = {
  LICENSES,
  ZIG_GLIBC,
  zigTarget,
  buildEnv,
  platformManifest,
  platformReadme,
  optionalDependencies,
  haveCargo,
  hostTriple,
  cargoBuild,
  buildLocal,
  buildPrebuilt,
};
