'use strict';
// The token manager from Node: a cached token costs no request, 64 callers at expiry share one
// refresh, a file store and a Redis store are shared by two managers (one refresh), a failed
// save is a STORE error, bad options are typed errors, and no secret shows in any text.
//
// The standalone test server keeps no request log a test could read, so "one refresh" is
// proved through rotation: every refresh kills the refresh token it used (code 108 when sent
// again). The seeded refresh token being dead proves at least one refresh; the refresh token
// the manager ended with still working proves no second one (a second refresh would have used
// and killed it); two refreshes racing on the seeded token would have failed one caller with 108.

const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { after, before, describe, it } = require('node:test');
const util = require('node:util');

const { AbortError, Client, ConcurError, OAuth2Token, TokenManager } = require('..');
const { startServer } = require('./support/server.js');
const { startRedis } = require('./support/redis.js');

let server;
let client;
let app;
let tmp;
before(async () => {
  server = await startServer();
  client = new Client({ baseUrl: server.base_url, caFile: server.ca_file, timeoutMs: 10000 });
  app = { clientId: server.oauth2_client_id, clientSecret: server.oauth2_client_secret };
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-node-manager-'));
});
after(async () => {
  fs.rmSync(tmp, { recursive: true, force: true });
  await server.stop();
});

/** A fresh refresh token of a user of the test server. */
async function refreshToken() {
  const t = await client.passwordGrant({ ...app, username: server.login_id, password: server.password });
  return t.refreshToken;
}

/** Rejects with code 108 exactly when the refresh token was used (rotated away). */
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

/** A file store holding `refresh` and an access token that expired long ago. */
function seededStore(name, refresh) {
  const file = path.join(tmp, name);
  const document = { version: 1, refresh_token: refresh, access_token: 'expired-access-token', expires_at: 1 };
  fs.writeFileSync(file, JSON.stringify(document), { mode: 0o600 });
  return file;
}

function stored(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

describe('TokenManager', () => {
  it('a cached token costs no request', async () => {
    const seed = await refreshToken();
    const m = new TokenManager({ client, ...app, refreshToken: seed });
    const first = await m.token();
    assert.ok(first instanceof OAuth2Token);
    for (let i = 0; i < 200; i += 1) assert.equal(await m.accessToken(), first.accessToken);
    assert.equal((await m.token()).accessToken, first.accessToken);
    assert.equal(await isDead(seed), true, 'one refresh made the first token');
    // Any later refresh would have used (and killed) this one.
    assert.equal(await isDead(first.refreshToken), false, 'no refresh after the first');
  });

  it('a floor above the token lifetime refreshes on every call, following rotation', async () => {
    const m = new TokenManager({ client, ...app, refreshToken: await refreshToken(), margin: 7300, floor: 3700 });
    const a = await m.accessToken();
    const b = await m.accessToken();
    const c = await m.token();
    assert.equal(new Set([a, b, c.accessToken]).size, 3);
    assert.equal(await isDead(c.refreshToken), false);
  });

  it('64 concurrent accessToken() at expiry make one refresh', async () => {
    const seed = await refreshToken();
    const file = seededStore('sixty-four.json', seed);
    const m = new TokenManager({ client, ...app, refreshToken: 'unused-start-token', store: file });
    const tokens = await Promise.all(Array.from({ length: 64 }, () => m.accessToken()));
    assert.equal(new Set(tokens).size, 1, 'all 64 got the same token');
    assert.notEqual(tokens[0], 'expired-access-token');
    const saved = stored(file);
    assert.equal(saved.access_token, tokens[0]);
    assert.notEqual(saved.refresh_token, seed, 'rotated and saved');
    assert.equal(await isDead(seed), true);
    assert.equal(await isDead(saved.refresh_token), false, 'exactly one refresh');
  });

  it('a file store shared by two managers refreshes once', async () => {
    const seed = await refreshToken();
    const file = seededStore('shared.json', seed);
    const one = new TokenManager({ client, ...app, refreshToken: 'unused', store: file });
    const two = new TokenManager({ client, ...app, refreshToken: 'unused', store: file });
    const tokens = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? one : two).accessToken()));
    assert.equal(new Set(tokens).size, 1);
    assert.equal(await isDead(seed), true);
    assert.equal(await isDead(stored(file).refresh_token), false, 'one refresh between the two');
  });

  it('a save that fails (a read-only directory) is a STORE error and the token is not handed out', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'read-only-'));
    const file = path.join(dir, 'token.json');
    fs.writeFileSync(`${file}.lock`, ''); // the lock opens; the save cannot write beside it
    const root = process.getuid() === 0;
    if (root) execFileSync('chattr', ['+i', dir]); // root ignores permission bits
    else fs.chmodSync(dir, 0o555);
    try {
      const m = new TokenManager({ client, ...app, refreshToken: await refreshToken(), store: file });
      await assert.rejects(m.accessToken(), (e) => {
        assert.ok(e instanceof ConcurError);
        assert.equal(e.code, 'STORE', e.message);
        return true;
      });
      assert.equal(fs.existsSync(file), false);
    } finally {
      if (root) execFileSync('chattr', ['-i', dir]);
      else fs.chmodSync(dir, 0o755);
    }
  });

  it('starts from a password, company or client-credentials grant', async () => {
    const byPassword = new TokenManager({
      client,
      ...app,
      grant: 'password',
      username: server.login_id,
      password: server.password,
      margin: 7300, floor: 3700,
    });
    const p1 = await byPassword.token();
    const p2 = await byPassword.token(); // then refreshes with the refresh token it got
    assert.equal(p1.principalType, 'user');
    assert.equal(await isDead(p1.refreshToken), true);
    assert.equal(await isDead(p2.refreshToken), false);
    const byCompany = new TokenManager({
      client,
      ...app,
      grant: 'company',
      companyId: server.company_id,
      requestToken: server.request_token,
    });
    assert.equal((await byCompany.token()).principalType, 'company');
    const byApp = new TokenManager({ client, ...app, grant: 'clientCredentials', margin: 7300, floor: 3700 });
    const a1 = await byApp.token();
    assert.equal(a1.refreshToken, null);
    assert.notEqual(await byApp.accessToken(), a1.accessToken, 'asked again, no refresh token');
  });

  it('a dead refresh token is UNAUTHORIZED 108, and secrets show nowhere', async () => {
    const seed = await refreshToken();
    await client.refreshGrant({ ...app, refreshToken: seed }); // kills the seed
    const m = new TokenManager({ client, ...app, refreshToken: seed });
    const e = await m.accessToken().catch((x) => x);
    assert.ok(e instanceof ConcurError);
    assert.deepEqual([e.code, e.concurCode], ['UNAUTHORIZED', 108]);
    assert.equal(util.inspect(m), 'TokenManager {}');
    for (const text of [e.message, e.stack, util.inspect(e), JSON.stringify(e), util.inspect(m), JSON.stringify(m)]) {
      for (const secret of [seed, app.clientSecret]) assert.ok(!text.includes(secret), text);
    }
  });

  it('takes { signal }: already aborted, nothing is asked', async () => {
    const seed = await refreshToken();
    const m = new TokenManager({ client, ...app, refreshToken: seed });
    await assert.rejects(m.accessToken({ signal: AbortSignal.abort() }), AbortError);
    await assert.rejects(m.token({ signal: AbortSignal.abort() }), AbortError);
    assert.throws(() => m.accessToken({ signal: 'stop' }), TypeError);
    assert.equal(await isDead(seed), false, 'no refresh was sent');
  });

  it('bad options are typed errors', () => {
    const invalid = (e) => e instanceof ConcurError && e.code === 'INVALID_ARGUMENT';
    const good = { client, ...app, refreshToken: 'r' };
    assert.throws(() => new TokenManager(), TypeError);
    assert.throws(() => new TokenManager(null), TypeError);
    assert.throws(() => new TokenManager({ ...good, client: {} }), TypeError);
    assert.throws(() => new TokenManager({ ...good, clientSecret: 42 }), TypeError);
    assert.throws(() => new TokenManager({ ...good, refreshToken: undefined }), TypeError);
    assert.throws(() => new TokenManager({ ...good, grant: 'password', username: 'u', password: 'p' }), TypeError);
    assert.throws(() => new TokenManager({ client, ...app, grant: 'magic' }), TypeError);
    assert.throws(() => new TokenManager({ client, ...app, grant: 'clientCredentials', geolocation: 'https://a.concursolutions.com' }), TypeError);
    assert.throws(() => new TokenManager({ client, ...app, grant: 'password', username: 'u' }), TypeError);
    assert.throws(() => new TokenManager({ ...good, margin: '300' }), TypeError);
    assert.throws(() => new TokenManager({ ...good, margin: -1 }), invalid);
    assert.throws(() => new TokenManager({ ...good, refreshToken: 'nul\0inside' }), invalid);
    assert.throws(() => new TokenManager({ ...good, refreshToken: 'Hunter2\udc80' }), (e) => {
      assert.ok(!e.message.includes('Hunter2'));
      return invalid(e);
    });
    assert.throws(() => new TokenManager({ ...good, clientSecret: '' }), invalid);
    assert.throws(() => new TokenManager({ ...good, geolocation: 'http://evil.example' }), invalid);
    assert.throws(() => new TokenManager({ ...good, store: 'redis://127.0.0.1:1/' }), invalid);
    assert.throws(() => new TokenManager({ ...good, store: '/tmp/x.json', redisKey: 'k' }), invalid);
    assert.throws(() => new TokenManager({ ...good, store: 'redis://127.0.0.1:1/', redisKey: 'a\nb' }), invalid);
    new TokenManager({ ...good, store: 'redis://127.0.0.1:1/', redisKey: 'k', margin: 0 });
  });
});

describe('TokenManager with a Redis store', () => {
  let redis;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis.stop());

  it('two managers sharing a key refresh once', async () => {
    const seed = await refreshToken();
    const redisKey = `concur-node-test:${process.pid}:${Date.now()}`;
    const one = new TokenManager({ client, ...app, refreshToken: seed, store: redis.url, redisKey });
    const two = new TokenManager({ client, ...app, refreshToken: seed, store: redis.url, redisKey });
    const tokens = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? one : two).accessToken()));
    assert.equal(new Set(tokens).size, 1);
    const token = await two.token();
    assert.equal(token.accessToken, tokens[0]);
    assert.equal(await isDead(seed), true);
    assert.equal(await isDead(token.refreshToken), false, 'one refresh between the two');
  });

  it('an unreachable Redis is a STORE error', async () => {
    const m = new TokenManager({ client, ...app, refreshToken: 'r', store: 'redis://127.0.0.1:1/', redisKey: 'k' });
    await assert.rejects(m.accessToken(), (e) => e instanceof ConcurError && e.code === 'STORE');
  });
});
