'use strict';
// Client, refresh, code exchange, revocation and the Web-flow helpers.

const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const path = require('node:path');
const http = require('node:http');
const { after, before, describe, it } = require('node:test');
const util = require('node:util');

const { Client, ConcurError, authorizationUrl, parseCallback } = require('..');
const { startServer } = require('./support/server.js');

let server;
let client;
before(async () => {
  server = await startServer();
  client = new Client({ baseUrl: server.base_url, caFile: server.ca_file, timeoutMs: 10000 });
});
after(async () => {
  await server.stop();
});

function account(index) {
  const a = server.accounts[index];
  return [a.login_id, a.password || null];
}

const login = (index = 0) => client.nativeToken(server.consumer_key, ...account(index));

/** The callback URL the server's Login.aspx sends the browser to. */
function approve(query) {
  return new Promise((resolve, reject) => {
    http
      .get(`${server.plain_base_url}/net2/oauth2/Login.aspx?${query}`, (res) => {
        res.resume();
        assert.equal(res.statusCode, 302);
        resolve(res.headers.location);
      })
      .on('error', reject);
  });
}

async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof ConcurError, `not a ConcurError: ${e}`);
    return e;
  }
  assert.fail('the promise resolved');
}

describe('Client', () => {
  it('fetches tokens and hides its insides', async () => {
    const token = await login();
    assert.match(token.token, /^0_/);
    assert.equal(util.inspect(client), 'Client {}');
  });

  it('refuses bad options at once with a ConcurError, wrong types with a TypeError', () => {
    assert.throws(() => new Client({ baseUrl: 'http://example.com' }), (e) => e.code === 'INVALID_ARGUMENT');
    assert.throws(() => new Client({ timeoutMs: -1 }), ConcurError);
    assert.throws(() => new Client({ baseUrl: 5 }), TypeError);
    assert.throws(() => client.refreshToken('k', null, 'r'), TypeError);
  });

  it('shares one client between many concurrent calls', async () => {
    const tokens = await Promise.all(Array.from({ length: 32 }, () => login()));
    assert.equal(new Set(tokens.map((t) => t.token)).size, 32);
  });

  it('replaces a kept-alive connection the server closed while idle', async () => {
    // A load balancer closes the pooled connection: the next GET, then a POST (revocation),
    // go out on fresh connections and succeed. The server says when it has closed one.
    const idle = new Client({ baseUrl: server.scenario('idle-close-100'), caFile: server.ca_file });
    const afterIdleClose = async (call) => {
      const before = await idleCloses();
      const result = await call();
      const deadline = Date.now() + 5000;
      while ((await idleCloses()) === before) {
        assert.ok(Date.now() < deadline, 'the server kept the idle connection open');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return result;
    };
    const args = [server.consumer_key, ...account(0)];
    await afterIdleClose(() => idle.nativeToken(...args));
    const token = await afterIdleClose(() => idle.nativeToken(...args));
    assert.match(token.token, /^0_/);
    assert.equal(await idle.revokeToken(token.token, token.token), undefined);
  });
});

/** How many kept-alive connections the server has closed for idling so far. */
function idleCloses() {
  return new Promise((resolve, reject) => {
    http
      .get(`${server.plain_base_url}/s/idle-closes/net2/oauth2/accesstoken.ashx`, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve(Number(body)));
      })
      .on('error', reject);
  });
}

describe('refresh', () => {
  it('keeps the refresh token and follows the instance URL', async () => {
    const first = await login();
    const atInstance = new Client({ baseUrl: first.instanceUrl, caFile: server.ca_file });
    const refreshed = await atInstance.refreshToken(server.consumer_key, server.client_secret, first.refreshToken);
    assert.notEqual(refreshed.token, first.token);
    assert.equal(refreshed.refreshToken, first.refreshToken);
  });

  it('reports each error class without secrets', async () => {
    const first = await login();
    const e = await rejection(client.refreshToken(server.consumer_key, 'wrong-secret-yy', first.refreshToken));
    assert.equal(e.code, 'UNAUTHORIZED');
    assert.equal(e.statusCode, 401);
    assert.ok(!e.message.includes('wrong-secret-yy') && !e.message.includes(first.refreshToken));
    const at = (name, extra = {}) => new Client({ baseUrl: server.scenario(name), caFile: server.ca_file, ...extra });
    const args = [server.consumer_key, server.client_secret, first.refreshToken];
    assert.equal((await rejection(at('status-503').refreshToken(...args))).code, 'HTTP_STATUS');
    assert.equal((await rejection(at('slow-headers-3000', { timeoutMs: 300 }).refreshToken(...args))).code, 'TIMEOUT');
    assert.equal((await rejection(at('html').refreshToken(...args))).code, 'PROTOCOL');
    assert.equal((await rejection(client.refreshToken(server.consumer_key, '', first.refreshToken))).code, 'INVALID_ARGUMENT');
  });
});

describe('web flow', () => {
  it('goes from the Login URL to a token', async () => {
    const { url, state } = authorizationUrl({
      clientId: server.consumer_key,
      redirectUri: 'https://partner.example/callback',
      scopes: ['EXPRPT', 'LIST'],
      baseUrl: server.base_url,
    });
    assert.ok(url.startsWith(`${server.base_url}/net2/oauth2/Login.aspx?client_id=`));
    assert.match(url, /scope=EXPRPT%2CLIST/);
    assert.match(state, /^[0-9a-f]{32}$/);
    const callback = await approve(new URL(url).search.slice(1));
    const code = parseCallback(callback, state);
    const token = await client.exchangeCode(server.consumer_key, server.client_secret, code);
    assert.ok(token.refreshToken);
    const again = await rejection(client.exchangeCode(server.consumer_key, server.client_secret, code));
    assert.equal(again.code, 'UNAUTHORIZED');
  });

  it('throws for refusals, forged states and bad input', async () => {
    const { url, state } = authorizationUrl({
      clientId: server.consumer_key,
      redirectUri: 'https://p.example/cb',
      baseUrl: server.base_url,
      state: 'mine',
    });
    assert.equal(state, 'mine');
    const denied = await approve(`${new URL(url).search.slice(1)}&deny=1`);
    assert.throws(() => parseCallback(denied, state), (e) => e.code === 'UNAUTHORIZED' && e.concurMessage === 'The user denied access.');
    assert.throws(() => parseCallback('https://p/cb?code=x&state=evil', state), (e) => e.code === 'INVALID_ARGUMENT');
    assert.equal(parseCallback('https://p/listen?code=abc'), 'abc');
    assert.throws(() => authorizationUrl({ clientId: 'k', redirectUri: 'relative' }), ConcurError);
    assert.throws(() => authorizationUrl({ clientId: 'k', redirectUri: 'https://p', scopes: 'LIST' }), TypeError);
  });
});

describe('revocation', () => {
  it('revokes one token and all of a user', async () => {
    const admin = await login(0);
    const victim = await login(2);
    const refused = await rejection(client.revokeToken(victim.token, admin.token));
    assert.equal(refused.statusCode, 403);
    assert.equal(await client.revokeToken(admin.token, victim.token), undefined);
    const e = await rejection(client.refreshToken(server.consumer_key, server.client_secret, victim.refreshToken));
    assert.equal(e.code, 'UNAUTHORIZED');
    const other = await login(1);
    await client.revokeUserTokens(admin.token, server.consumer_key, server.accounts[1].login_id);
    await rejection(client.refreshToken(server.consumer_key, server.client_secret, other.refreshToken));
    assert.equal((await rejection(client.revokeToken(admin.token, ''))).code, 'INVALID_ARGUMENT');
  });
});

describe('examples', () => {
  it('token_lifecycle.mjs refreshes, exchanges and revokes', async () => {
    const callback = await approve(
      `client_id=${server.consumer_key}&redirect_uri=https%3A%2F%2Fp.example%2Fcb&state=ex`,
    );
    const example = path.join(__dirname, '..', '..', '..', 'examples', 'token_lifecycle.mjs');
    const env = {
      ...process.env,
      CONCUR_CONSUMER_KEY: server.consumer_key,
      CONCUR_LOGIN_ID: server.login_id,
      CONCUR_PASSWORD: server.password,
      CONCUR_CLIENT_SECRET: server.client_secret,
      CONCUR_CALLBACK_URL: callback,
      CONCUR_CALLBACK_STATE: 'ex',
      CONCUR_BASE_URL: server.base_url,
      CONCUR_CA_FILE: server.ca_file,
    };
    const stdout = await new Promise((resolve, reject) => {
      execFile(process.execPath, [example], { env, timeout: 60000 }, (error, out, err) =>
        error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out),
      );
    });
    assert.match(stdout, /same refresh token: true/);
    assert.match(stdout, /Exchanged code: {2}0_/);
    assert.match(stdout, /Revoke: {10}done/);
  });
});
