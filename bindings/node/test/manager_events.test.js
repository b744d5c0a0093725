'use strict';
// The token manager's second round from Node: refresh ahead (callers keep the current token
// while one refresh runs), an outage ridden through with backoff, Concur's verdict reported
// once, the events and status() (every field, no secret), listeners that throw, a process
// with a manager that exits by itself, sealed file stores (storeKey) and the new options' checks.
//
// Requests are counted as in manager.test.js, through rotation: every refresh kills the
// refresh token it used (code 108 when sent again). A refresh is held where the Rust tests use
// a latch by holding the file store's lock (flock(1) on `{store}.lock`): the refresh waits for
// it, so nothing here depends on how fast the server answers.

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { after, before, describe, it } = require('node:test');
const util = require('node:util');

const { Client, ConcurError, TokenManager } = require('..');
const { startServer } = require('./support/server.js');

/** A bound for waits that only a broken run reaches. */
const DEADLINE_MS = 60000;

const EVENT_FIELDS = [
  'outcome',
  'trigger',
  'grant',
  'durationMs',
  'at',
  'expiresAt',
  'refreshExpiresAt',
  'error',
  'failures',
  'retryAt',
  'connection',
  'horizon',
];

const STATUS_FIELDS = [
  'state',
  'expiresAt',
  'refreshExpiresAt',
  'lastRefresh',
  'lastError',
  'failures',
  'nextAttempt',
  'refreshCount',
  'refreshing',
];

let server;
let client;
let app;
let tmp;
let tags = 0;
before(async () => {
  server = await startServer();
  client = new Client({ baseUrl: server.base_url, caFile: server.ca_file, timeoutMs: 10000 });
  app = { clientId: server.oauth2_client_id, clientSecret: server.oauth2_client_secret };
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-node-events-'));
});
after(async () => {
  fs.rmSync(tmp, { recursive: true, force: true });
  await server.stop();
});

function tag(name) {
  tags += 1;
  return `node-events-${name}-${process.pid}-${tags}`;
}

/** A fresh refresh token of a user of the test server. */
async function refreshToken() {
  const t = await client.passwordGrant({ ...app, username: server.login_id, password: server.password });
  return t.refreshToken;
}

/** Whether the refresh token was used (rotated away): Concur answers 108. Uses it if not. */
async function isDead(refresh) {
  try {
    await client.refreshGrant({ ...app, refreshToken: refresh });
    return false;
  } catch (e) {
    assert.ok(e instanceof ConcurError);
    assert.equal(e.concurCode, 108, e.message);
    return true;
  }
}

const unixNow = () => Math.floor(Date.now() / 1000);

/** A plain file store holding `refresh` and the access token `access` expiring at `expiresAt`. */
function seededStore(name, refresh, access, expiresAt) {
  const file = path.join(tmp, name);
  const document = { version: 1, refresh_token: refresh, access_token: access, expires_at: expiresAt };
  fs.writeFileSync(file, JSON.stringify(document), { mode: 0o600 });
  return file;
}

/** Waits (bounded) until `done()` holds; the bound only stops a broken run. */
async function until(what, done) {
  const started = Date.now();
  while (!(await done())) {
    assert.ok(Date.now() - started < DEADLINE_MS, `never: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Records every event of a manager, in order, as [name, event]. */
function record(manager) {
  const events = [];
  for (const name of ['refresh', 'refreshFailed', 'dead']) manager.on(name, (e) => events.push([name, e]));
  return events;
}

/** Holds `{file}.lock` (the file store's flock) until release() is called. */
async function holdLock(file) {
  const child = spawn('flock', ['-x', `${file}.lock`, '-c', 'echo held; cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = readline.createInterface({ input: child.stdout });
  const line = await new Promise((resolve, reject) => {
    lines.once('line', resolve);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`flock exited with ${code}`)));
  });
  lines.close();
  assert.equal(line, 'held');
  return {
    release: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.stdin.end();
      }),
  };
}

/** Asserts that no secret shows in `values` (JSON.stringify and util.inspect, deeply). */
function assertNoSecret(values, secrets) {
  for (const value of values) {
    const texts = [JSON.stringify(value), util.inspect(value, { depth: 8, showHidden: true })];
    if (value?.error) texts.push(value.error.message, value.error.stack);
    if (value?.lastError) texts.push(value.lastError.message, value.lastError.stack);
    for (const text of texts) {
      for (const secret of secrets.filter(Boolean)) assert.ok(!text.includes(secret), `a secret in ${text}`);
    }
  }
}

/** Every field an event has, of the right type. */
function assertEventShape(event) {
  assert.deepEqual(Object.keys(event), EVENT_FIELDS);
  assert.ok(Object.isFrozen(event));
  assert.ok(event.at instanceof Date && !Number.isNaN(event.at.getTime()));
  assert.equal(typeof event.durationMs, 'number');
  assert.equal(typeof event.failures, 'number');
  for (const name of ['expiresAt', 'refreshExpiresAt', 'retryAt']) {
    assert.ok(event[name] === null || event[name] instanceof Date, name);
  }
  assert.ok(event.error === null || event.error instanceof ConcurError);
  assert.equal(event.connection, null);
}

describe('TokenManager: refresh ahead, stale if error, events', () => {
  it('inside the window, callers keep the current token while one refresh runs ahead', async () => {
    const file = path.join(tmp, 'ahead.json');
    // A window above the hour: every token is inside it at once, far above the floor.
    const m = new TokenManager({ client, ...app, refreshToken: await refreshToken(), store: file, margin: 3660, floor: 10 });
    const events = record(m);
    const first = await m.accessToken();
    const firstRefresh = JSON.parse(fs.readFileSync(file, 'utf8')).refresh_token;
    await until('the first event', () => events.length === 1);
    assert.deepEqual([events[0][0], events[0][1].outcome, events[0][1].trigger], ['refresh', 'refreshed', 'absent']);

    // The refresh ahead cannot finish while the store's lock is held: a call that waited for
    // it would never return.
    const lock = await holdLock(file);
    const tokens = await Promise.all(Array.from({ length: 200 }, () => m.accessToken()));
    assert.ok(tokens.every((t) => t === first), 'every caller got the current token');
    assert.equal(m.status().refreshing, true, 'one refresh ahead started');
    assert.equal((await m.token()).accessToken, first);
    await lock.release();

    await until('the refresh ahead', () => events.length === 2);
    const [name, ahead] = events[1];
    assert.equal(name, 'refresh');
    assertEventShape(ahead);
    assert.deepEqual([ahead.outcome, ahead.trigger, ahead.grant], ['refreshed', 'ahead', 'refresh_token']);
    assert.ok(ahead.expiresAt.getTime() > Date.now() + 3500 * 1000);
    assert.ok(ahead.refreshExpiresAt instanceof Date);
    assert.deepEqual([ahead.error, ahead.failures, ahead.retryAt], [null, 0, null]);
    const status = m.status();
    assert.deepEqual([status.state, status.refreshCount, status.refreshing], ['active', 2, false]);
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')).refresh_token;
    assert.notEqual(saved, firstRefresh);
    assert.equal(await isDead(firstRefresh), true, 'the refresh ahead used the stored refresh token');
    assert.equal(await isDead(saved), false, 'exactly one refresh ahead');
  });

  it('an outage is ridden through: the current token, refreshFailed twice with backoff, then refresh', async () => {
    const c = tag('outage');
    // Concur answers the first two refreshes 503, then recovers.
    const outage = new Client({ baseUrl: server.scenario(`retry-503-2-0-${c}`), caFile: server.ca_file, timeoutMs: 10000, retries: 0, correlationId: c });
    const seed = await refreshToken();
    const file = seededStore('outage.json', seed, 'seeded-access', unixNow() + 3000);
    const m = new TokenManager({ client: outage, ...app, refreshToken: 'unused-start', store: file, margin: 3500, floor: 10 });
    const events = record(m);
    const warnings = [];
    const onWarning = (w) => warnings.push(w);
    process.on('warning', onWarning);
    // A throwing listener, first in line, changes nothing.
    m.prependListener('refreshFailed', () => {
      throw new Error('a listener bug');
    });
    const started = Date.now();
    const tokens = new Set();
    // Calls drive the attempts (each after its backoff); none of them fails.
    while (events.length < 4) {
      assert.ok(Date.now() - started < DEADLINE_MS, 'never recovered');
      tokens.add(await m.accessToken());
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    process.off('warning', onWarning);
    assert.deepEqual(
      events.map(([name, e]) => [name, e.outcome]),
      [['refresh', 'from_store'], ['refreshFailed', 'failed'], ['refreshFailed', 'failed'], ['refresh', 'refreshed']],
    );
    for (const [, e] of events) assertEventShape(e);
    for (const [[, e], failures] of [[events[1], 1], [events[2], 2]]) {
      assert.equal(e.failures, failures);
      assert.ok(e.error instanceof ConcurError);
      assert.deepEqual([e.error.statusCode, e.error.correlationId], [503, c]);
      assert.ok(e.retryAt instanceof Date && e.retryAt > e.at);
      assert.equal(e.trigger, 'ahead');
    }
    const gap = (a, b) => b[1].at.getTime() - a[1].at.getTime();
    assert.ok(gap(events[1], events[2]) >= 800, `first backoff ${gap(events[1], events[2])} ms`);
    assert.ok(gap(events[2], events[3]) >= 1600, `second backoff ${gap(events[2], events[3])} ms`);
    await until('the throwing listener reported twice', () => warnings.filter((w) => w.code === 'CONCUR_NATIVE_LISTENER').length === 2);
    const status = m.status();
    assert.deepEqual(Object.keys(status), STATUS_FIELDS);
    assert.deepEqual([status.state, status.failures, status.lastError, status.nextAttempt], ['active', 0, null, null]);
    const fresh = await m.token();
    assert.notEqual(fresh.accessToken, 'seeded-access');
    // The seeded token until the refresh landed, then the new one (outside the window).
    tokens.delete('seeded-access');
    tokens.delete(fresh.accessToken);
    assert.equal(tokens.size, 0, 'only the seeded token and the refreshed one');
    assert.equal(await isDead(seed), true);
    const secrets = [app.clientSecret, server.password, seed, 'seeded-access', fresh.accessToken, fresh.refreshToken];
    assertNoSecret([...events.map(([, e]) => e), status, m], secrets);
  });

  it("Concur's verdict (108) is one 'dead' event, and nothing is sent again", async () => {
    const dead = await refreshToken();
    await client.refreshGrant({ ...app, refreshToken: dead }); // kills it
    const file = seededStore('verdict.json', dead, 'seeded-access', unixNow() + 3000);
    const m = new TokenManager({ client, ...app, refreshToken: 'unused-start', store: file, margin: 3500, floor: 10 });
    const events = record(m);
    assert.equal(await m.accessToken(), 'seeded-access'); // read from the store
    assert.equal(await m.accessToken(), 'seeded-access'); // starts the refresh ahead
    await until('the dead event', () => events.length === 2);
    for (let i = 0; i < 200; i += 1) assert.equal(await m.accessToken(), 'seeded-access');
    // A new attempt would be flagged at once by the call that started it.
    assert.equal(m.status().refreshing, false, 'no attempt after the verdict');
    const [name, e] = events[1];
    assert.equal(name, 'dead');
    assertEventShape(e);
    assert.deepEqual([e.outcome, e.trigger, e.grant, e.failures, e.retryAt], ['dead', 'ahead', 'refresh_token', 1, null]);
    assert.deepEqual([e.error.code, e.error.concurCode], ['UNAUTHORIZED', 108]);
    const status = m.status();
    assert.deepEqual([status.state, status.failures, status.refreshing, status.nextAttempt], ['dead', 1, false, null]);
    assert.ok(status.lastError instanceof ConcurError);
    assert.equal(status.lastError.concurCode, 108);
    assert.ok(status.expiresAt instanceof Date && status.lastRefresh instanceof Date);
    assert.equal(events.length, 2, 'one dead event');
    assertNoSecret([e, status], [app.clientSecret, dead, 'seeded-access']);
  });

  it('listeners that throw or reject are reported and ignored; refreshes go on', async () => {
    // A floor above the hour: every call refreshes.
    const m = new TokenManager({ client, ...app, refreshToken: await refreshToken(), margin: 7300, floor: 3700 });
    const warnings = [];
    const onWarning = (w) => warnings.push(w);
    process.on('warning', onWarning);
    m.on('refresh', () => {
      throw new TypeError('a listener bug');
    });
    m.on('refresh', async () => {
      throw new RangeError('an async listener bug');
    });
    const seen = [];
    m.on('refresh', (e) => seen.push(e));
    const a = await m.accessToken();
    const b = await m.accessToken();
    assert.notEqual(a, b, 'refreshed twice despite the listeners');
    await until('both events', () => seen.length === 2);
    await until('four warnings', () => warnings.filter((w) => w.code === 'CONCUR_NATIVE_LISTENER').length === 4);
    process.off('warning', onWarning);
    const texts = warnings.map((w) => w.message).join('\n');
    assert.match(texts, /'refresh' listener failed and was ignored \(TypeError: a listener bug\)/);
    assert.match(texts, /RangeError: an async listener bug/);
    assert.equal(m.listenerCount('error'), 0);
    assertNoSecret([...seen, m.status(), ...warnings], [app.clientSecret, a, b]);
  });

  it('a process with a manager (and a refresh ahead running) exits by itself', async () => {
    const script = `
      const { Client, TokenManager } = require(${JSON.stringify(path.resolve(__dirname, '..'))});
      const o = JSON.parse(process.env.CONCUR_CHILD);
      const client = new Client({ baseUrl: o.base, caFile: o.ca, timeoutMs: 10000 });
      const m = new TokenManager({ client, clientId: o.id, clientSecret: o.secret, refreshToken: o.refresh, margin: 3660, floor: 10 });
      m.on('refresh', () => {});
      m.accessToken().then(() => { m.accessToken(); console.log('got a token'); });
    `;
    const env = {
      ...process.env,
      CONCUR_CHILD: JSON.stringify({
        base: server.base_url,
        ca: server.ca_file,
        id: app.clientId,
        secret: app.clientSecret,
        refresh: await refreshToken(),
      }),
    };
    const child = spawn(process.execPath, ['-e', script], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), DEADLINE_MS);
    const [code, signal] = await new Promise((resolve) => child.once('exit', (c, s) => resolve([c, s])));
    clearTimeout(killer);
    assert.deepEqual([code, signal], [0, null], 'exited by itself');
    assert.equal(out.trim(), 'got a token');
  });
});

/** A sealed document's key id: the public fingerprint of a key (see the core's StoreKey::id). */
function keyId(key) {
  const digest = crypto.createHash('sha256').update(Buffer.concat([Buffer.from('concur-native key id\0'), key])).digest();
  return digest.subarray(0, 8).toString('hex');
}

/** Every way a token could show in a file: as is, base64, base64url, hex. */
function assertHoldsNoneOf(text, secrets) {
  for (const secret of secrets) {
    const bytes = Buffer.from(secret);
    for (const form of [secret, bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex')]) {
      assert.ok(!text.includes(form), `${form} in the file`);
    }
  }
}

describe('TokenManager: sealed stores (storeKey) and the new options', () => {
  const oldKey = crypto.randomBytes(32);
  const newKey = crypto.randomBytes(32);

  it('a sealed file holds no token; a wrong key is STORE and leaves the file as it was', async () => {
    const file = path.join(tmp, 'sealed.json');
    const m = new TokenManager({ client, ...app, refreshToken: await refreshToken(), store: file, storeKey: oldKey });
    const token = await m.token();
    const sealed = fs.readFileSync(file);
    assert.ok(sealed.toString().startsWith('{"sealed":1'), sealed.toString());
    assert.ok(sealed.toString().includes(keyId(oldKey)));
    assertHoldsNoneOf(sealed.toString(), [token.accessToken, token.refreshToken]);
    // The same key as base64 text opens it: the token is taken from the store.
    const again = new TokenManager({ client, ...app, refreshToken: 'unused', store: file, storeKey: oldKey.toString('base64') });
    assert.equal(await again.accessToken(), token.accessToken);

    const wrong = new TokenManager({ client, ...app, refreshToken: 'unused', store: file, storeKey: newKey });
    const e = await wrong.accessToken().catch((x) => x);
    assert.ok(e instanceof ConcurError);
    assert.equal(e.code, 'STORE', e.message);
    assertHoldsNoneOf(`${e.message} ${e.stack}`, [token.accessToken, token.refreshToken]);
    for (const key of [oldKey, newKey]) assert.ok(!e.message.includes(key.toString('base64')));
    assert.deepEqual(fs.readFileSync(file), sealed, 'the file is unchanged');
    assert.equal(await isDead(token.refreshToken), false, 'nothing was refreshed');
  });

  it('rotation: [new, old] opens the old document and seals the next save with the new key', async () => {
    const file = path.join(tmp, 'rotate.json');
    const first = new TokenManager({ client, ...app, refreshToken: await refreshToken(), store: file, storeKey: [oldKey] });
    await first.accessToken();
    // A floor above the hour: the next call refreshes, and saves.
    const rotated = new TokenManager({
      client,
      ...app,
      refreshToken: 'unused',
      store: file,
      storeKey: [newKey.toString('base64url'), oldKey],
      margin: 7300,
      floor: 3700,
    });
    const token = await rotated.accessToken();
    const text = fs.readFileSync(file, 'utf8');
    assert.ok(text.includes(keyId(newKey)) && !text.includes(keyId(oldKey)), text);
    const oldOnly = new TokenManager({ client, ...app, refreshToken: 'unused', store: file, storeKey: oldKey });
    await assert.rejects(oldOnly.accessToken(), (e) => e instanceof ConcurError && e.code === 'STORE');
    const newOnly = new TokenManager({ client, ...app, refreshToken: 'unused', store: file, storeKey: new Uint8Array(newKey) });
    assert.equal(await newOnly.accessToken(), token);
  });

  it('requireSealed refuses a plain-text document (STORE) and leaves it as it was', async () => {
    const seed = await refreshToken();
    const file = seededStore('plain.json', seed, 'expired-access-token', 1);
    const before = fs.readFileSync(file);
    const strict = new TokenManager({ client, ...app, refreshToken: 'unused', store: file, storeKey: oldKey, requireSealed: true });
    await assert.rejects(strict.accessToken(), (e) => e instanceof ConcurError && e.code === 'STORE');
    assert.deepEqual(fs.readFileSync(file), before);
    assert.equal(await isDead(seed), false, 'nothing was sent');
  });

  it('bad floor, storeKey and requireSealed are typed errors naming the option, never quoting a key', () => {
    const good = { client, ...app, refreshToken: 'r' };
    const invalid = (name) => (e) => {
      assert.ok(e instanceof ConcurError, String(e));
      assert.equal(e.code, 'INVALID_ARGUMENT');
      assert.match(e.message, name);
      return true;
    };
    for (const floor of [300, 400, -1, Number.NaN, Number.POSITIVE_INFINITY, 100000]) {
      assert.throws(() => new TokenManager({ ...good, floor }), invalid(/floor/), String(floor));
    }
    assert.throws(() => new TokenManager({ ...good, margin: 20, floor: 20 }), invalid(/floor/));
    assert.throws(() => new TokenManager({ ...good, margin: 100000, floor: 10 }), invalid(/margin/));
    assert.throws(() => new TokenManager({ ...good, floor: '30' }), TypeError);
    // Today's meanings stand: a margin alone (even one below the default floor) is accepted.
    new TokenManager({ ...good, margin: 20 });
    new TokenManager({ ...good, margin: 0 });
    new TokenManager({ ...good, margin: 600, floor: 599.5 });

    const short = crypto.randomBytes(31).toString('base64');
    const long = crypto.randomBytes(33);
    const notBase64 = `${crypto.randomBytes(32).toString('hex')}!*`;
    for (const storeKey of [[], short, long, Buffer.alloc(0), notBase64, [newKey, short]]) {
      assert.throws(
        () => new TokenManager({ ...good, storeKey }),
        (e) => {
          invalid(/storeKey/)(e);
          for (const text of [short, long.toString('base64'), notBase64]) assert.ok(!e.message.includes(text), e.message);
          return true;
        },
      );
    }
    assert.throws(() => new TokenManager({ ...good, storeKey: [newKey, short] }), invalid(/storeKey\[1\]/));
    assert.throws(() => new TokenManager({ ...good, storeKey: 42 }), TypeError);
    assert.throws(() => new TokenManager({ ...good, storeKey: [newKey, {}] }), TypeError);
    assert.throws(() => new TokenManager({ ...good, requireSealed: 'yes' }), TypeError);
    assert.throws(() => new TokenManager({ ...good, requireSealed: true }), invalid(/requireSealed/));
    new TokenManager({ ...good, storeKey: [newKey.toString('base64').replace(/=+$/, ''), oldKey], requireSealed: false });
  });
});
