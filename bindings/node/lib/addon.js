'use strict';
// Finds and loads the native addon: a source build beside lib/ first (a checkout, or an
// install that compiled), then the prebuilt platform package; a clear error when neither fits.

const fs = require('node:fs');
const path = require('node:path');
const { binaryFile, packageName, platformId, prebuiltIds } = require('./platform.js');

const root = path.resolve(__dirname, '..');
const { version } = require('../package.json');

/**
 * Where this platform's addon may be, in the order tried: the local build, then the platform
 * package (resolved from this package, as npm installed it beside it).
 */
function candidates(id = platformId()) {
  return [
    { kind: 'local', where: path.join(root, binaryFile(id)) },
    { kind: 'package', where: packageName(id) },
  ];
}

/** The path a candidate resolves to, or null when it is absent. */
function resolveCandidate(candidate) {
  if (candidate.kind === 'local') return fs.existsSync(candidate.where) ? candidate.where : null;
  try {
    return require.resolve(candidate.where, { paths: [root] });
  } catch (e) {
    if (e.code === 'MODULE_NOT_FOUND') return null;
    throw e;
  }
}

/** The version in a platform package's package.json (next to the addon it resolved to). */
function packageVersion(resolved) {
  const manifest = path.join(path.dirname(resolved), 'package.json');
  return JSON.parse(fs.readFileSync(manifest, 'utf8')).version;
}

/**
 * Loads the first candidate that is present, loads and is this package's version. Returns
 * { addon, path, kind }; throws an Error saying what was tried and what to do.
 */
function load(id = platformId()) {
  const tried = [];
  for (const candidate of candidates(id)) {
    let resolved;
    try {
      resolved = resolveCandidate(candidate);
    } catch (e) {
      tried.push(`${candidate.where}: ${e.message}`);
      continue;
    }
    if (resolved == null) {
      tried.push(`${candidate.where}: ${candidate.kind === 'local' ? 'not built' : 'not installed'}`);
      continue;
    }
    if (candidate.kind === 'package') {
      const found = packageVersion(resolved);
      if (found !== version) {
        tried.push(`${candidate.where}: version ${found}, this package is ${version}`);
        continue;
      }
    }
    let addon;
    try {
      addon = require(resolved);
    } catch (e) {
      tried.push(`${resolved}: ${e.message.split('\n')[0]}`);
      continue;
    }
    return { addon, path: resolved, kind: candidate.kind };
  }
  const prebuilt = prebuiltIds();
  const advice = prebuilt.includes(id)
    ? `${packageName(id)} should have come with it as an optional dependency: reinstall without ` +
      '--omit=optional (or --no-optional), or build from source'
    : `no prebuilt addon exists for ${id} (there are: ${prebuilt.join(', ')}): build from source`;
  throw new Error(
    `concur-native ${version}: no native addon for ${id} (Node ${process.version}).\n` +
      `Tried:\n${tried.map((t) => `  - ${t}`).join('\n')}\n` +
      `${advice}: install a Rust toolchain (https://rustup.rs), then run ` +
      '`npm rebuild concur-native` (it runs cargo build --release).',
  );
}

module.exports = { candidates, resolveCandidate, load };
