'use strict';
// The prebuilt packages and the loader: platform names, the committed platform packages
// against the main package, the order the loader tries, and its error when nothing fits.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { describe, it } = require('node:test');

const platform = require('../lib/platform.js');
const { candidates, load } = require('../lib/addon.js');
const {
  buildEnv,
  platformManifest,
  platformReadme,
  optionalDependencies,
  zigTarget,
} = require('../scripts/build-prebuilt.js');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const main = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

describe('platform names', () => {
  it('follow the napi-rs names, with Node’s os/cpu and the libc npm matches', () => {
    assert.equal(platform.platformId({ os: 'linux', cpu: 'x64', libc: 'glibc' }), 'linux-x64-gnu');
    assert.equal(platform.platformId({ os: 'linux', cpu: 'arm64', libc: 'musl' }), 'linux-arm64-musl');
    assert.equal(platform.platformId({ os: 'linux', cpu: 'arm', libc: 'glibc' }), 'linux-arm-gnueabihf');
    assert.equal(platform.platformId({ os: 'darwin', cpu: 'arm64' }), 'darwin-arm64');
    assert.equal(platform.platformId({ os: 'win32', cpu: 'x64' }), 'win32-x64-msvc');
    assert.equal(platform.targetId('x86_64-unknown-linux-musl'), 'linux-x64-musl');
    assert.equal(platform.targetId('riscv64gc-unknown-linux-gnu'), null);
  });

  it('read this Node’s libc from its report (Linux), none elsewhere', () => {
    if (process.platform !== 'linux') {
      assert.equal(platform.runtimeLibc(), null);
      return;
    }
    const expected = process.report.getReport().header.glibcVersionRuntime ? 'glibc' : 'musl';
    assert.equal(platform.runtimeLibc(), expected);
    assert.equal(platform.platformId(), `linux-${process.arch}-${expected === 'musl' ? 'musl' : 'gnu'}`);
  });
});

describe('the platform packages', () => {
  it('are every optional dependency, at exactly this version, and nothing else is a dependency', () => {
    assert.deepEqual(main.optionalDependencies, optionalDependencies(main));
    for (const version of Object.values(main.optionalDependencies)) assert.equal(version, main.version);
    assert.equal(main.dependencies, undefined, 'a runtime dependency crept in');
  });

  it('are committed as scripts/build-prebuilt.js writes them (run it with --sync after a change)', () => {
    const dirs = fs.readdirSync(path.join(root, 'npm')).sort();
    assert.deepEqual(dirs, platform.prebuiltIds().sort());
    for (const triple of Object.keys(platform.TARGETS)) {
      const dir = path.join(root, 'npm', platform.targetId(triple));
      const committed = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
      assert.deepEqual(committed, platformManifest(triple, main), triple);
      assert.equal(fs.readFileSync(path.join(dir, 'README.md'), 'utf8'), platformReadme(triple, main));
    }
  });

  it('name their one file, and the os, cpu and libc npm installs them on', () => {
    const gnu = platformManifest('x86_64-unknown-linux-gnu', main);
    assert.equal(gnu.name, '@concur-native/linux-x64-gnu');
    assert.deepEqual([gnu.os, gnu.cpu, gnu.libc], [['linux'], ['x64'], ['glibc']]);
    assert.equal(gnu.main, 'concur-native.linux-x64-gnu.node');
    assert.deepEqual(gnu.files, [gnu.main, 'LICENSE-MIT', 'LICENSE-APACHE']);
    const mac = platformManifest('aarch64-apple-darwin', main);
    assert.equal(mac.libc, undefined);
    assert.deepEqual([mac.os, mac.cpu], [['darwin'], ['arm64']]);
  });
});

// The environment for a child running the build script, which reads no CA: without
// NODE_EXTRA_CA_CERTS, for which a child Node prints a warning first on stderr when the file it
// names cannot be loaded, and the stderr assertions below would see that instead.
function scriptEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

describe('scripts/build-prebuilt.js', () => {
  it('links a musl addon to the C library dynamically, as Node loads it with dlopen', () => {
    const saved = process.env.RUSTFLAGS;
    delete process.env.RUSTFLAGS;
    try {
      const env = buildEnv('aarch64-unknown-linux-musl');
      assert.equal(env.CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS, '-C target-feature=-crt-static');
      assert.equal(buildEnv('x86_64-unknown-linux-gnu').CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS, undefined);
      process.env.RUSTFLAGS = '-C opt-level=3';
      assert.equal(buildEnv('x86_64-unknown-linux-musl').RUSTFLAGS, '-C opt-level=3 -C target-feature=-crt-static');
    } finally {
      if (saved === undefined) delete process.env.RUSTFLAGS;
      else process.env.RUSTFLAGS = saved;
    }
  });

  it('refuses unknown options and targets without a platform package, building nothing', () => {
    const script = path.join(root, 'scripts', 'build-prebuilt.js');
    const run = (...args) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', env: scriptEnv() });
    let result = run('--bogus');
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^usage: node scripts\/build-prebuilt\.js/);
    result = run('--local', '--target', 'x86_64-unknown-linux-gnu');
    assert.equal(result.status, 2);
    result = run('--target', 'riscv64gc-unknown-linux-gnu');
    assert.equal(result.status, 1);
    assert.match(result.stderr, /no platform package for riscv64gc-unknown-linux-gnu; known: x86_64-unknown-linux-gnu,/);
    assert.ok(!fs.existsSync(path.join(root, 'npm', 'linux-riscv64gc-gnu')));
  });

  it('links with zig against glibc 2.17 for the Linux glibc targets only', () => {
    assert.equal(zigTarget('x86_64-unknown-linux-gnu'), 'x86_64-unknown-linux-gnu.2.17');
    assert.equal(zigTarget('aarch64-unknown-linux-gnu'), 'aarch64-unknown-linux-gnu.2.17');
    for (const triple of ['x86_64-unknown-linux-musl', 'aarch64-apple-darwin', 'x86_64-pc-windows-msvc']) {
      assert.throws(() => zigTarget(triple), {
        message: `--zig builds Linux glibc addons only (x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu), not ${triple}`,
      });
    }
  });

  it('refuses --zig for other targets, with --local, and without cargo-zigbuild, building nothing', () => {
    const script = path.join(root, 'scripts', 'build-prebuilt.js');
    const run = (env, ...args) =>
      spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', env: scriptEnv(env) });
    let result = run({}, '--zig', '--target', 'aarch64-unknown-linux-musl');
    assert.equal(result.status, 1);
    assert.match(result.stderr, /--zig builds Linux glibc addons only .*, not aarch64-unknown-linux-musl/);
    result = run({}, '--zig', '--local');
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^--zig is for platform packages/);
    // A PATH with node alone: no cargo-zigbuild (nor cargo) to run.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'node-only-'));
    try {
      fs.symlinkSync(process.execPath, path.join(bin, 'node'));
      result = run({ PATH: bin }, '--zig', '--target', 'x86_64-unknown-linux-gnu');
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
    assert.equal(result.status, 1);
    assert.match(result.stderr, /--zig needs cargo-zigbuild on PATH .*pip install cargo-zigbuild ziglang/);
    result = run({}, '--help');
    assert.equal(result.status, 0);
    assert.match(result.stdout, /--zig {2,}with the above, for x86_64- or aarch64-unknown-linux-gnu only/);
  });
});

describe('the loader', () => {
  it('tries a source build beside lib/ first, then the platform package', () => {
    assert.deepEqual(candidates('linux-x64-gnu'), [
      { kind: 'local', where: path.join(root, 'concur-native.linux-x64-gnu.node') },
      { kind: 'package', where: '@concur-native/linux-x64-gnu' },
    ]);
  });

  it('loads this checkout’s build, which is this version', () => {
    const { addon, kind, path: where } = load();
    assert.equal(kind, 'local');
    assert.equal(where, path.join(root, platform.binaryFile(platform.platformId())));
    assert.equal(addon.version(), main.version);
  });

  it('names the platform, what it tried and what to do when nothing fits', () => {
    assert.throws(
      () => load('linux-riscv64-gnu'),
      (e) => {
        assert.match(e.message, /no native addon for linux-riscv64-gnu/);
        assert.match(e.message, /concur-native\.linux-riscv64-gnu\.node: not built/);
        assert.match(e.message, /@concur-native\/linux-riscv64-gnu: not installed/);
        assert.match(e.message, /no prebuilt addon exists for linux-riscv64-gnu \(there are: linux-x64-gnu,/);
        assert.match(e.message, /rustup\.rs.*npm rebuild concur-native/s);
        return true;
      },
    );
    assert.throws(() => load('darwin-arm64'), /@concur-native\/darwin-arm64 should have come with it/);
  });

  /**
   * A copy of the package's loader in a temporary folder, with a platform package of
   * `version` for linux-riscv64-gnu beside it (a JS stand-in for the addon); returns its load().
   */
  function fakeInstall(dir, version) {
    const pkg = path.join(dir, 'concur-native');
    fs.mkdirSync(path.join(pkg, 'lib'), { recursive: true });
    for (const file of ['lib/addon.js', 'lib/platform.js', 'package.json']) {
      fs.copyFileSync(path.join(root, file), path.join(pkg, file));
    }
    const prebuilt = path.join(dir, 'node_modules', '@concur-native', 'linux-riscv64-gnu');
    fs.mkdirSync(prebuilt, { recursive: true });
    fs.writeFileSync(path.join(prebuilt, 'package.json'), JSON.stringify({ version, main: 'addon.js' }));
    fs.writeFileSync(path.join(prebuilt, 'addon.js'), "exports.version = () => 'stand-in';\n");
    return require(path.join(pkg, 'lib', 'addon.js')).load;
  }

  it('loads the platform package installed beside the package when no source build exists', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-loader-'));
    try {
      const { addon, kind } = fakeInstall(dir, main.version)('linux-riscv64-gnu');
      assert.equal(kind, 'package');
      assert.equal(addon.version(), 'stand-in');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('skips a platform package of another version and says so', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-loader-'));
    try {
      const fakeLoad = fakeInstall(dir, '0.0.1');
      assert.throws(
        () => fakeLoad('linux-riscv64-gnu'),
        new RegExp(`linux-riscv64-gnu: version 0\\.0\\.1, this package is ${main.version.replace(/\./g, '\\.')}`),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
