'use strict';
// A tiny npm registry on 127.0.0.1 for the packaging check: it serves the packuments and
// tarballs of the `npm pack` files named on its command line, and 404 for every other name,
// so `npm install --registry` sees the layout of the public registry and nothing else.
//
//   node tests/packaging/registry.js LOG FILE.tgz...   prints its URL, serves until stdin closes
//
// Each request's path is appended to LOG (one a line) so the check can say what npm asked for.

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const zlib = require('node:zlib');

/** package/package.json out of an npm pack tarball (gzip'd ustar). */
function manifestOf(tarball) {
  const tar = zlib.gunzipSync(fs.readFileSync(tarball));
  for (let at = 0; at + 512 <= tar.length; ) {
    const field = (from, to) => tar.subarray(at + from, at + to).toString('utf8').replace(/\0.*$/s, '');
    const name = field(0, 100);
    if (name === '') break;
    const prefix = field(345, 500);
    const size = parseInt(field(124, 136).trim() || '0', 8);
    const full = prefix ? `${prefix}/${name}` : name;
    if (full === 'package/package.json') {
      return JSON.parse(tar.subarray(at + 512, at + 512 + size).toString('utf8'));
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${tarball}: no package/package.json`);
}

const [log, ...tarballs] = process.argv.slice(2);
if (!log || tarballs.length === 0) {
  console.error('usage: node tests/packaging/registry.js LOG FILE.tgz...');
  process.exit(2);
}

const packuments = new Map(); // name -> packument (without the base URL filled in)
const files = new Map(); // tarball file name -> its bytes
for (const tarball of tarballs) {
  const bytes = fs.readFileSync(tarball);
  const manifest = manifestOf(tarball);
  const file = `${manifest.name.replace('/', '-').replace(/^@/, '')}-${manifest.version}.tgz`;
  files.set(file, bytes);
  const dist = {
    tarball: `/-/${file}`,
    shasum: crypto.createHash('sha1').update(bytes).digest('hex'),
    integrity: `sha512-${crypto.createHash('sha512').update(bytes).digest('base64')}`,
  };
  const packument = packuments.get(manifest.name) ?? { name: manifest.name, 'dist-tags': {}, versions: {} };
  packument.versions[manifest.version] = { ...manifest, _id: `${manifest.name}@${manifest.version}`, dist };
  packument['dist-tags'].latest = manifest.version;
  packuments.set(manifest.name, packument);
}

const server = http.createServer((req, res) => {
  fs.appendFileSync(log, `${req.method} ${req.url}\n`);
  const base = `http://${req.headers.host}`;
  const url = decodeURIComponent(new URL(req.url, base).pathname);
  if (req.method === 'GET' && url.startsWith('/-/') && files.has(url.slice(3))) {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(files.get(url.slice(3)));
    return;
  }
  const packument = req.method === 'GET' ? packuments.get(url.slice(1)) : undefined;
  if (packument) {
    const versions = {};
    for (const [v, m] of Object.entries(packument.versions)) {
      versions[v] = { ...m, dist: { ...m.dist, tarball: base + m.dist.tarball } };
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ...packument, versions }));
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: 'Not found' }));
});

server.listen(0, '127.0.0.1', () => {
  console.log(`http://127.0.0.1:${server.address().port}`);
});
process.stdin.resume();
process.stdin.on('end', () => server.close(() => process.exit(0)));
