'use strict';
// Starts a redis-server for a test file (manager.test.js, vault.test.js).

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const net = require('node:net');

/** A redis-server of the calling test file's own on a free loopback port, without persistence (the Rust tests do the same). */
async function startRedis() {
  const port = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = s.address();
      s.close(() => resolve(p));
    });
  });
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const failed = new Promise((_, reject) => child.once('error', reject));
  const deadline = Date.now() + 20000;
  for (;;) {
    const up = await Promise.race([
      failed,
      new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => {
          s.write('PING\r\n');
          s.once('data', (d) => {
            s.destroy();
            resolve(d.toString().startsWith('+PONG'));
          });
        });
        s.once('error', () => resolve(false));
      }),
    ]);
    if (up) break;
    assert.ok(Date.now() < deadline, 'redis-server did not start');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { url: `redis://127.0.0.1:${port}/`, stop: () => child.kill() };
}

module.exports = { startRedis };
