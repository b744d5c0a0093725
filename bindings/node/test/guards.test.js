'use strict';
// The addon's own threads and AbortSignal (audit #4), the panic guards (#1) and the refusal of
// strings that are not well-formed Unicode (#13).

const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const { performance } = require('node:perf_hooks');
const { after, before, describe, it } = require('node:test');

const concur = require('..');
const { AbortError, Client, ConcurError, authorizationUrl, nativeToken, parseCallback } = concur;
const { startServer } = require('./support/server.js');

/** Each call's deadline against the server that never answers in time. */
const DEADLINE_MS = 3000;

let server;
let counter;
let connections = 0;
before(async () => {
  server = await startServer();
  // A plain-HTTP loopback peer that counts connections and drops them: proof of "nothing sent".
  counter = net.createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise((resolve) => counter.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  await new Promise((resolve) => counter.close(resolve));
  await server.stop();
});

const counterUrl = () => `http://127.0.0.1:${counter.address().port}`;

/** A client of a server that answers only after the deadline has long passed. */
function slowClient() {
  return new Client({
    baseUrl: server.scenario('slow-headers-20000'),
    caFile: server.ca_file,
    timeoutMs: DEADLINE_MS,
  });
}

/** Resolves to the error the promise rejected with; fails if it resolved. */
async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail('the promise resolved');
}

/**
 * One call to the counting peer that must reach it: after it, every earlier call has too.
 * A POST (a password grant), which makes exactly one connection: the transport sends a GET
 * once more on a fresh connection when the first closes before any answer, as this peer's do.
 */
async function countedCall() {
  const client = new Client({ baseUrl: counterUrl(), timeoutMs: 5000 });
  const e = await rejection(client.passwordGrant({ clientId: 'i', clientSecret: 's', username: 'u', password: 'p' }));
  assert.ok(e instanceof ConcurError, `${e}`);
}

describe('blocking calls run on the addon\'s own threads', () => {
  it('8 pending calls do not delay fs.readFile', async () => {
    const client = slowClient();
    const started = performance.now();
    const calls = Array.from({ length: 8 }, () =>
      rejection(client.nativeToken(server.consumer_key, server.login_id, server.password)),
    );
    const before = performance.now();
    await fs.promises.readFile(__filename);
    const readMs = performance.now() - before;
    // With libuv's pool of 4 held by the calls, the read waited for the deadline (~3000 ms).
    assert.ok(readMs < DEADLINE_MS / 3, `fs.readFile took ${readMs.toFixed(0)} ms`);
    for (const e of await Promise.all(calls)) {
      assert.ok(e instanceof ConcurError && e.code === 'TIMEOUT', `${e}`);
    }
    assert.ok(performance.now() - started >= DEADLINE_MS * 0.9, 'the calls really were pending');
  });
});

describe('AbortSignal', () => {
  it('an abort at 100 ms rejects with AbortError at once', async () => {
    const client = slowClient();
    for (const start of [
      (signal) => client.nativeToken(server.consumer_key, server.login_id, server.password, { signal }),
      (signal) => nativeToken(server.options({ baseUrl: server.scenario('slow-headers-20000'), timeoutMs: DEADLINE_MS, signal })),
      (signal) => client.refreshToken(server.consumer_key, server.client_secret, 'R_x', { signal }),
      (signal) => client.exchangeCode(server.consumer_key, server.client_secret, 'C_x', { signal }),
      (signal) => client.revokeToken('admin', 'victim', { signal }),
      (signal) => client.revokeUserTokens('admin', server.consumer_key, 'user', { signal }),
    ]) {
      const controller = new AbortController();
      const began = performance.now();
      setTimeout(() => controller.abort(), 100);
      const e = await rejection(start(controller.signal));
      const ms = performance.now() - began;
      assert.ok(e instanceof AbortError, `${e}`);
      assert.equal(e.name, 'AbortError');
      assert.equal(e.code, 'ABORT_ERR');
      assert.ok(e.cause instanceof Error, 'the signal\'s reason is the cause');
      assert.ok(ms >= 90 && ms < DEADLINE_MS / 3, `rejected after ${ms.toFixed(0)} ms`);
    }
  });

  it('an already-aborted signal rejects without sending anything', async () => {
    const client = new Client({ baseUrl: counterUrl(), timeoutMs: 5000 });
    const signal = AbortSignal.abort(new Error('stop'));
    const before = connections;
    for (const pending of [
      client.nativeToken('k', 'u', 'p', { signal }),
      client.refreshToken('k', 's', 'r', { signal }),
      client.exchangeCode('k', 's', 'c', { signal }),
      client.revokeToken('a', 't', { signal }),
      client.revokeUserTokens('a', 'k', 'u', { signal }),
      nativeToken({ consumerKey: 'k', loginId: 'u', baseUrl: counterUrl(), signal }),
    ]) {
      const e = await rejection(pending);
      assert.ok(e instanceof AbortError && e.cause.message === 'stop', `${e}`);
    }
    await countedCall();
    assert.equal(connections - before, 1, 'only the counted call connected');
  });

  it('a call aborted while it waits for a thread is never sent', async () => {
    // Fill every one of the addon's threads (MAX_THREADS in src/pool.rs) with a stuck call.
    const slow = slowClient();
    const stuck = Array.from({ length: 32 }, () =>
      rejection(slow.nativeToken(server.consumer_key, server.login_id, server.password)),
    );
    const before = connections;
    const controller = new AbortController();
    const queued = new Client({ baseUrl: counterUrl(), timeoutMs: 5000 }).nativeToken('k', 'u', 'p', {
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 50);
    const began = performance.now();
    assert.ok((await rejection(queued)) instanceof AbortError);
    assert.ok(performance.now() - began < DEADLINE_MS / 3, 'rejected at once');
    for (const e of await Promise.all(stuck)) assert.equal(e.code, 'TIMEOUT');
    // The threads are free again: had the aborted call stayed queued, it would run now.
    await countedCall();
    assert.equal(connections - before, 1, 'only the counted call connected');
  });

  it('a call that ends before the abort is unaffected, and signals are type-checked', async () => {
    const client = new Client({ baseUrl: server.base_url, caFile: server.ca_file, timeoutMs: 10000 });
    const controller = new AbortController();
    const token = await client.nativeToken(server.consumer_key, server.login_id, server.password, {
      signal: controller.signal,
    });
    controller.abort();
    assert.match(token.token, /^0_/);
    assert.throws(() => client.nativeToken('k', 'u', 'p', { signal: 'stop' }), TypeError);
    assert.throws(() => client.revokeToken('a', 't', 42), TypeError);
    assert.throws(() => nativeToken({ consumerKey: 'k', loginId: 'u', signal: {} }), TypeError);
  });
});

describe('panics', () => {
  it('a panic on a worker thread rejects with code INTERNAL', async () => {
    const e = await rejection(concur._panicForTests(false));
    assert.ok(e instanceof ConcurError, `${e}`);
    assert.equal(e.code, 'INTERNAL');
    assert.doesNotMatch(e.message, /tests ask for/);
  });

  it('a panic in a synchronous export throws code INTERNAL', () => {
    assert.throws(
      () => concur._panicForTests(true),
      (e) => e instanceof ConcurError && e.code === 'INTERNAL',
    );
    assert.ok(concur.CODES.includes('INTERNAL'));
  });
});

describe('strings that are not well-formed Unicode', () => {
  const bad = 'Hunter2-Secret\uD800x';
  const refused = (e) => {
    assert.ok(e instanceof ConcurError, `${e}`);
    assert.equal(e.code, 'INVALID_ARGUMENT');
    assert.doesNotMatch(e.message, /Hunter2/);
    assert.match(e.message, /well-formed/);
    return true;
  };

  it('are refused before anything is sent', async () => {
    const client = new Client({ baseUrl: counterUrl(), timeoutMs: 5000 });
    const before = connections;
    for (const pending of [
      nativeToken({ consumerKey: 'k', loginId: 'u', password: bad, baseUrl: counterUrl() }),
      nativeToken({ consumerKey: 'k', loginId: bad, password: 'p', baseUrl: counterUrl() }),
      client.nativeToken('k', 'u', bad),
      client.refreshToken('k', bad, 'r'),
      client.exchangeCode('k', 's', bad),
      client.revokeToken(bad, 't'),
      client.revokeUserTokens('a', 'k', bad),
    ]) {
      refused(await rejection(pending));
    }
    await countedCall();
    assert.equal(connections - before, 1, 'only the counted call connected');
  });

  it('throw at once from the synchronous functions and the constructor', () => {
    assert.throws(() => new Client({ proxy: `http://u:${bad}@127.0.0.1:1` }), refused);
    assert.throws(() => parseCallback(`https://p/cb?code=${bad}`), refused);
    assert.throws(() => authorizationUrl({ clientId: 'k', redirectUri: 'https://p/cb', state: bad }), refused);
    assert.throws(
      () => authorizationUrl({ clientId: 'k', redirectUri: 'https://p/cb', scopes: ['A', bad] }),
      refused,
    );
  });
});
