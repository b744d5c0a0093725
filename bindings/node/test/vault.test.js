'use strict';
// The token vault from Node against the test server: every start kind of add(), replacing,
// accessToken/token (cached, from a second vault and a second process over one SQLite file),
// invalidate, remove (and revoke), connection and connections() (an async iterator that pages),
// status, keepAlive's report (refreshed, fresh, dead with 108), events naming the connection,
// vault.manager(id); bad input refused with typed errors (invalid and unknown IDs, a bad store
// URL, a wrong mix of start fields); no secret in any text.
//
// One refresh is proved through rotation, as in manager.test.js: the test server refuses (108)
// any refresh token but its family's newest, so a refresh token that still works proves that
// nothing refreshed after it was issued.

const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { after, before, describe, it } = require('node:test');
const util = require('node:util');

const { Client, ConcurError, OAuth2Token, TokenVault, oauth2AuthorizeUrl, parseOauth2Callback } = require('..');
const { startServer } = require('./support/server.js');
const { startRedis } = require('./support/redis.js');

const REDIRECT = 'https://partner.example/callback';
const YEARS = 10 * 365 * 86400;

let server;
let client;
let app;
let tmp;
before(async () => {
  server = await startServer();
  client = new Client({ baseUrl: server.base_url, caFile: server.ca_file, timeoutMs: 10000 });
  app = { clientId: server.oauth2_client_id, clientSecret: server.oauth2_client_secret };
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-node-vault-'));
});
after(async () => {
  fs.rmSync(tmp, { recursive: true, force: true });
  await server.stop();
});

const vaultOf = (options = {}) => new TokenVault(client, { ...app, ...options });

/** A user of the test server with a password (the demo account). */
const user = () => ({ username: server.login_id, password: server.password });

async function refreshToken() {
  return (await client.passwordGrant({ ...app, ...user() })).refreshToken;
}

/** Whether `refresh` is its family's newest (spends it). */
async function stillRefreshes(refresh) {
  try {
    await client.refreshGrant({ ...app, refreshToken: refresh });
    return true;
  } catch (e) {
    assert.equal(e.concurCode, 108, e.message);
    return false;
  }
}

/** (family, refreshes) of a test-server refresh token. */
function generation(refresh) {
  const claims = JSON.parse(Buffer.from(refresh.split('.')[1], 'base64url').toString());
  return [claims.f, claims.n];
}

function approve(query) {
  return new Promise((resolve, reject) => {
    http
      .get(`${server.plain_base_url}/oauth2/v0/authorize?${query}`, (res) => {
        res.resume();
        resolve(res.headers.location);
      })
      .on('error', reject);
  });
}

async function authorizationCode() {
  const { url, state } = oauth2AuthorizeUrl({ clientId: app.clientId, redirectUri: REDIRECT, baseUrl: server.plain_base_url });
  return parseOauth2Callback(await approve(url.split('?')[1]), state).code;
}

async function rejectsWith(promise, code) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof ConcurError, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

async function list(vault) {
  const all = [];
  for await (const c of vault.connections()) all.push(c);
  return all;
}

/** Waits until `done()` holds: events reach JS on the event loop after the call that made them. A bound only a broken run reaches. */
async function until(done) {
  const deadline = Date.now() + 60000;
  while (!done()) {
    assert.ok(Date.now() < deadline, 'the event never came');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function textsOf(value) {
  return [String(value), util.inspect(value, { depth: 5, showHidden: true }), JSON.stringify(value) ?? ''];
}

describe('TokenVault', () => {
  it('adds from a refresh token (refreshed once) and serves it from memory', async () => {
    const vault = vaultOf();
    const token = await vault.add('user-1', { refreshToken: await refreshToken(), geolocation: server.base_url });
    assert.ok(token instanceof OAuth2Token);
    assert.equal(generation(token.refreshToken)[1], 1);
    for (let i = 0; i < 100; i += 1) assert.equal(await vault.accessToken('user-1'), token.accessToken);
    assert.equal((await vault.token('user-1')).accessToken, token.accessToken);
    assert.equal(await stillRefreshes(token.refreshToken), true, 'nothing refreshed since the add');
  });

  for (const [name, kind] of [
    ['company', 'company'],
    ['password', 'user'],
    ['authorizationCode', 'user'],
    ['clientCredentials', 'app'],
  ]) {
    it(`adds a ${kind} connection from ${name}`, async () => {
      const vault = vaultOf();
      const start = {
        company: () => ({ companyId: server.company_id, requestToken: server.request_token }),
        password: async () => user(),
        authorizationCode: async () => ({ code: await authorizationCode(), redirectUri: REDIRECT }),
        clientCredentials: () => ({ clientCredentials: true }),
      }[name];
      const token = await vault.add('c', await start());
      assert.equal(await vault.accessToken('c'), token.accessToken);
      const info = await vault.connection('c');
      assert.ok(Object.isFrozen(info));
      assert.equal(info.id, 'c');
      assert.equal(info.kind, kind);
      assert.equal(info.state, 'active');
      assert.ok(info.expiresAt instanceof Date && info.addedAt instanceof Date && info.lastRefresh instanceof Date);
      assert.equal(info.concurCode, null);
      assert.equal(info.subject, token.subject ?? null);
    });
  }

  it('refuses an ID present unless replacing', async () => {
    const vault = vaultOf();
    const first = await vault.add('dup', { clientCredentials: true });
    await rejectsWith(vault.add('dup', { clientCredentials: true }), 'INVALID_ARGUMENT');
    assert.equal(await vault.accessToken('dup'), first.accessToken);
    const second = await vault.add('dup', { clientCredentials: true }, { replace: true });
    assert.notEqual(second.accessToken, first.accessToken);
    assert.equal(await vault.accessToken('dup'), second.accessToken);
  });

  it('refuses a wrong mix of start fields, quoting no value', async () => {
    const vault = vaultOf();
    const mixes = [
      {},
      { geolocation: 'https://x.example' },
      { refreshToken: 'secret-rt-1', username: 'u' },
      { companyId: 'c' },
      { requestToken: 'secret-rt-2' },
      { username: 'u' },
      { password: 'secret-pw-3' },
      { code: 'secret-code-4' },
      { redirectUri: REDIRECT },
      { companyId: 'c', requestToken: 'secret-rt-5', password: 'secret-pw-6' },
      { clientCredentials: true, refreshToken: 'secret-rt-7' },
    ];
    for (const start of mixes) {
      await assert.rejects(vault.add('x', start), (e) => {
        assert.equal(e.code, 'INVALID_ARGUMENT', JSON.stringify(Object.keys(start)));
        assert.ok(!/secret-/.test(e.message), e.message);
        return true;
      });
    }
    await assert.rejects(vault.add('x', { clientCredentials: 'yes' }), TypeError);
    assert.throws(() => vault.add(42, { clientCredentials: true }), TypeError);
    assert.deepEqual(await list(vault), []);
  });

  it('refuses invalid IDs (INVALID_ARGUMENT) and unknown ones (UNKNOWN_CONNECTION)', async () => {
    const vault = vaultOf();
    for (const bad of ['', 'a\nb', 'tab\there', 'x'.repeat(257)]) {
      await rejectsWith(vault.add(bad, { clientCredentials: true }), 'INVALID_ARGUMENT');
      await rejectsWith(vault.accessToken(bad), 'INVALID_ARGUMENT');
      await rejectsWith(vault.connection(bad), 'INVALID_ARGUMENT');
      await rejectsWith(vault.remove(bad), 'INVALID_ARGUMENT');
      assert.throws(() => vault.manager(bad), (e) => e.code === 'INVALID_ARGUMENT');
    }
    assert.throws(() => vault.accessToken('lone \ud800'), (e) => e.code === 'INVALID_ARGUMENT');
    for (const call of [
      () => vault.accessToken('nobody'),
      () => vault.token('nobody'),
      () => vault.invalidate('nobody'),
      () => vault.remove('nobody'),
      () => vault.remove('nobody', { revoke: true }),
      () => vault.connection('nobody'),
      () => vault.status('nobody'),
      () => vault.manager('nobody').accessToken(),
    ]) {
      await rejectsWith(call(), 'UNKNOWN_CONNECTION');
    }
    assert.deepEqual(await list(vault), []);
  });

  it('refuses bad options and store URLs', () => {
    for (const store of ['', 'nonsense', 'ftp://host/x', 'memory', 'file:///tmp/x']) {
      assert.throws(() => vaultOf({ store }), (e) => e instanceof ConcurError && e.code === 'INVALID_ARGUMENT', store);
    }
    assert.throws(() => vaultOf({ store: `sqlite:///${tmp}/no/such/dir/v.db` }), ConcurError);
    for (const options of [
      { margin: -1 },
      { margin: 60, floor: 120 },
      { storeKey: Buffer.alloc(5) },
      { requireSealed: true },
      { cacheCapacity: 0 },
      { cacheCapacity: 1.5 },
      { horizons: [-1] },
    ]) {
      assert.throws(() => vaultOf(options), (e) => e.code === 'INVALID_ARGUMENT', JSON.stringify(options));
    }
    assert.throws(() => new TokenVault({}, app), TypeError);
    assert.throws(() => vaultOf({ margin: '5' }), TypeError);
    assert.throws(() => vaultOf({ horizons: 5 }), TypeError);
  });

  it('invalidate makes the next use refresh; remove forgets; revoke revokes at Concur', async () => {
    const vault = vaultOf();
    await vault.add('u', { refreshToken: await refreshToken() });
    const before = await vault.token('u');
    await vault.invalidate('u');
    const after = await vault.token('u');
    assert.notEqual(after.accessToken, before.accessToken);
    assert.deepEqual(generation(after.refreshToken), [generation(before.refreshToken)[0], 2]);

    await vault.add('gone', { clientCredentials: true });
    await vault.remove('gone');
    await rejectsWith(vault.accessToken('gone'), 'UNKNOWN_CONNECTION');
    assert.deepEqual((await list(vault)).map((c) => c.id), ['u']);

    const account = server.accounts.at(-1);
    await vault.add('revoked', { username: account.login_id, password: account.password });
    const refresh = (await vault.token('revoked')).refreshToken;
    await vault.remove('revoked', { revoke: true });
    await rejectsWith(vault.connection('revoked'), 'UNKNOWN_CONNECTION');
    assert.equal(await stillRefreshes(refresh), false);
  });

  it('connections() is an async iterator that pages past 500', async () => {
    const vault = vaultOf();
    const listing = vault.connections();
    assert.equal(typeof listing[Symbol.asyncIterator], 'function');
    assert.ok(!Array.isArray(listing));
    const ids = Array.from({ length: 1050 }, (_, n) => `app-${String(n).padStart(4, '0')}`);
    for (const id of ids) await vault.add(id, { clientCredentials: true });
    const seen = (await list(vault)).map((c) => c.id);
    assert.deepEqual(seen, [...ids].sort());
  });

  it('status(id) is the connection engine', async () => {
    const vault = vaultOf();
    await vault.add('s', { clientCredentials: true });
    const status = await vault.status('s');
    assert.equal(status.state, 'active');
    assert.ok(status.expiresAt instanceof Date);
  });

  it('keepAlive refreshes what is due, reports a 108 as dead, and the report adds up', async () => {
    const vault = vaultOf();
    const events = [];
    vault.on('dead', (e) => events.push(e));
    for (const n of [0, 1]) await vault.add(`k${n}`, { refreshToken: await refreshToken() });
    const quiet = await vault.keepAlive({ within: 1 });
    assert.deepEqual({ ...quiet, dead: [...quiet.dead], failed: [...quiet.failed] }, {
      checked: 0, refreshed: 0, fresh: 0, dead: [], failed: [],
    });
    const report = await vault.keepAlive({ within: YEARS, concurrency: 2 });
    assert.equal(report.checked, 2);
    assert.equal(report.refreshed, 2);
    // Someone else spends k0's refresh token: Concur refuses it from now on (108).
    assert.equal(await stillRefreshes((await vault.token('k0')).refreshToken), true);
    const swept = await vault.keepAlive({ within: YEARS });
    assert.deepEqual(swept.dead, [{ id: 'k0', concurCode: 108 }]);
    assert.equal(swept.checked, swept.refreshed + swept.fresh + swept.dead.length + swept.failed.length);
    const info = await vault.connection('k0');
    assert.equal(info.state, 'dead');
    assert.equal(info.concurCode, 108);
    await until(() => events.some((e) => e.connection === 'k0' && e.outcome === 'dead'));
    await assert.rejects(vaultOf().keepAlive({ within: -1 }), (e) => e.code === 'INVALID_ARGUMENT');
    await assert.rejects(vault.keepAlive({ concurrency: 0 }), (e) => e.code === 'INVALID_ARGUMENT');
    await assert.rejects(vault.keepAlive({ concurrency: 65 }), (e) => e.code === 'INVALID_ARGUMENT');
    assert.throws(() => vault.keepAlive({ within: '1d' }), TypeError);
  });

  it('events name their connection and hold no secret', async () => {
    const vault = vaultOf({ margin: 7200, floor: 3700 });
    const events = [];
    vault.on('refresh', (e) => events.push(e));
    const seed = await refreshToken();
    await vault.add('evented', { refreshToken: seed });
    await vault.accessToken('evented'); // below the floor: refreshed again
    await until(() => events.length >= 2);
    assert.deepEqual([...new Set(events.map((e) => e.connection))], ['evented']);
    const secrets = [seed, app.clientSecret, (await vault.token('evented')).refreshToken];
    for (const e of events) for (const text of textsOf(e)) for (const s of secrets) assert.ok(!text.includes(s));
  });

  it("emits 'expiring' once per horizon a refresh token comes within", async () => {
    // The test server's refresh tokens live six months: within both horizons given.
    const vault = vaultOf({ horizons: [365 * 86400, 200 * 86400] });
    const warned = [];
    vault.on('expiring', (e) => warned.push(e));
    await vault.add('h', user());
    const info = await vault.connection('h');
    assert.equal(info.state, 'expiring');
    assert.equal(info.horizon, 200 * 86400);
    await vault.invalidate('h');
    await vault.accessToken('h'); // a refresh: its new refresh token is within both horizons
    for (let i = 0; i < 10; i += 1) await vault.accessToken('h');
    await until(() => warned.length >= 2);
    assert.deepEqual(warned.map((e) => [e.connection, e.outcome, e.horizon]), [
      ['h', 'expiring', 365 * 86400],
      ['h', 'expiring', 200 * 86400],
    ]);
  });

  it('two vaults over one SQLite file share connections; a second process reads them', async () => {
    const url = `sqlite:///${tmp}/shared.db`;
    const first = vaultOf({ store: url });
    const second = vaultOf({ store: url });
    const token = await first.add('shared', { refreshToken: await refreshToken() });
    assert.equal(await second.accessToken('shared'), token.accessToken);
    const script = `
      const { Client, TokenVault } = require(${JSON.stringify(path.join(__dirname, '..'))});
      const [baseUrl, caFile, clientId, store] = process.argv.slice(1);
      const clientSecret = require('node:fs').readFileSync(0, 'utf8').trim();
      const client = new Client({ baseUrl, caFile, timeoutMs: 10000 });
      new TokenVault(client, { clientId, clientSecret, store }).accessToken('shared').then((t) => console.log(t));`;
    const out = execFileSync(process.execPath, ['-e', script, server.base_url, server.ca_file, app.clientId, url], {
      input: app.clientSecret,
      encoding: 'utf8',
    });
    assert.equal(out.trim(), token.accessToken);
    assert.equal(await stillRefreshes(token.refreshToken), true, 'nothing refreshed');
  });

  for (const kind of ['sqlite', 'redis']) {
    it(`two vaults sweeping one store at once never send a refresh token twice (${kind})`, async () => {
      const redis = kind === 'redis' ? await startRedis() : null;
      try {
        const url = redis ? redis.url : `sqlite:///${tmp}/race.db`;
        const first = vaultOf({ store: url });
        const second = vaultOf({ store: url });
        const ids = Array.from({ length: 12 }, (_, n) => `race-${n}`);
        for (const id of ids) await first.add(id, { refreshToken: await refreshToken() });
        const reports = await Promise.all([first, second].map((v) => v.keepAlive({ within: YEARS, concurrency: 4 })));
        for (const r of reports) {
          assert.equal(r.checked, r.refreshed + r.fresh + r.dead.length + r.failed.length);
          // A refresh token sent twice would have been refused (108) and reported dead.
          assert.deepEqual([r.dead, r.failed], [[], []]);
        }
        assert.ok(reports[0].refreshed + reports[1].refreshed >= ids.length);
        for (const id of ids) {
          await first.invalidate(id); // its memory may hold an earlier (still valid) access token
          const token = await first.token(id);
          assert.ok(generation(token.refreshToken)[1] >= 2);
          assert.equal(await stillRefreshes(token.refreshToken), true);
        }
      } finally {
        redis?.stop();
      }
    });
  }

  it('a sealed store opens only with its key', async () => {
    const url = `sqlite:///${tmp}/sealed.db`;
    const key = crypto.randomBytes(32);
    const sealed = vaultOf({ store: url, storeKey: key.toString('base64') });
    const token = await sealed.add('s', { clientCredentials: true });
    assert.ok(!fs.readFileSync(`${tmp}/sealed.db`).includes(token.accessToken));
    const rotated = vaultOf({ store: url, storeKey: [crypto.randomBytes(32), key] });
    assert.equal(await rotated.accessToken('s'), token.accessToken);
    const wrong = vaultOf({ store: url, storeKey: crypto.randomBytes(32) });
    await assert.rejects(wrong.accessToken('s'), (e) => e instanceof ConcurError && !e.message.includes(token.accessToken));
  });

  it('manager(id) is a per-connection view', async () => {
    const vault = vaultOf();
    const token = await vault.add('m', { clientCredentials: true });
    const m = vault.manager('m');
    assert.equal(m.id, 'm');
    assert.equal(m.vault, vault);
    assert.equal(await m.accessToken(), token.accessToken);
    assert.equal((await m.token()).accessToken, token.accessToken);
    await m.invalidate();
    assert.notEqual(await m.accessToken(), token.accessToken);
    assert.equal((await m.status()).state, 'active');
  });

  it("runs on the addon's own threads: 8 pending adds do not delay fs.readFile", async () => {
    const deadlineMs = 3000;
    const slow = new Client({ baseUrl: server.scenario('slow-headers-20000'), caFile: server.ca_file, timeoutMs: deadlineMs });
    const vault = new TokenVault(slow, app);
    const started = performance.now();
    const adds = Array.from({ length: 8 }, (_, n) => vault.add(`slow-${n}`, { clientCredentials: true }).catch((e) => e));
    const before = performance.now();
    await fs.promises.readFile(__filename);
    const readMs = performance.now() - before;
    // With libuv's pool of 4 held by the adds, the read would wait for their deadline.
    assert.ok(readMs < deadlineMs / 3, `fs.readFile took ${readMs.toFixed(0)} ms`);
    for (const e of await Promise.all(adds)) assert.equal(e.code, 'TIMEOUT', String(e));
    assert.ok(performance.now() - started >= deadlineMs * 0.9, 'the adds really were pending');
    assert.deepEqual(await list(vault), [], 'a failed add stores nothing');
  });

  it('an aborted call rejects with AbortError', async () => {
    const vault = vaultOf();
    await vault.add('a', { clientCredentials: true });
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(vault.accessToken('a', { signal: controller.signal }), (e) => e.name === 'AbortError');
  });

  it('shows no secret in any text', async () => {
    const key = crypto.randomBytes(32);
    const vault = vaultOf({ store: `sqlite:///${tmp}/nosecret.db`, storeKey: key });
    const token = await vault.add('who', user());
    const secrets = [app.clientSecret, server.password, token.accessToken, token.refreshToken, key.toString('base64')];
    const values = [vault, vault.manager('who'), await vault.connection('who'), await vault.keepAlive({ within: YEARS })];
    for (const call of [
      () => vault.add('who', user()),
      () => vault.add('x', { refreshToken: `${token.refreshToken}-bad` }),
    ]) {
      await assert.rejects(call(), (e) => {
        values.push(e);
        return true;
      });
    }
    assert.throws(() => vaultOf({ store: `redis://:${app.clientSecret}@`, storeKey: key }), (e) => {
      values.push(e);
      return true;
    });
    for (const value of values) {
      for (const text of textsOf(value)) for (const s of secrets) assert.ok(!text.includes(s), text);
    }
  });
});

describe('examples/token_vault.mjs', () => {
  it('runs', () => {
    const example = path.join(__dirname, '..', '..', '..', 'examples', 'token_vault.mjs');
    const env = {
      ...process.env,
      CONCUR_BASE_URL: server.base_url,
      CONCUR_CA_FILE: server.ca_file,
      CONCUR_CLIENT_ID: app.clientId,
      CONCUR_CLIENT_SECRET: app.clientSecret,
      CONCUR_USERNAME: server.login_id,
      CONCUR_PASSWORD: server.password,
      CONCUR_COMPANY_ID: server.company_id,
      CONCUR_REQUEST_TOKEN: server.request_token,
      CONCUR_VAULT: `sqlite:///${tmp}/example.db`,
    };
    const out = execFileSync(process.execPath, [example], { env, encoding: 'utf8' });
    assert.ok(out.includes(`company:${server.company_id}`) && out.includes(`user:${server.login_id}`), out);
    assert.ok(out.includes('10 callers, 1 token') && out.includes('keep-alive: 0 due'), out);
    assert.ok(!out.includes(server.password));
  });
});
