'use strict';
// The current API (oauth2/v0) from Node: every Client method and both functions against the
// test server, each error class with Concur's code, code 16 followed, untrusted geolocations
// refused (nothing sent there), rotation, bad arguments refused before anything is sent, and
// no secret in any text (message, stack, inspect, JSON).

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const http = require('node:http');
const { after, before, describe, it } = require('node:test');
const util = require('node:util');

const {
  AbortError,
  Client,
  ConcurError,
  LegacyExchange,
  OAuth2Token,
  nativeToken,
  oauth2AuthorizeUrl,
  parseOauth2Callback,
} = require('..');
const { startServer } = require('./support/server.js');
const { startCounter } = require('./support/counter.js');

const REDIRECT = 'https://partner.example/callback?x=1';
const LONE = 'Hunter2-Secret\udc80';

let server;
let client;
let counter;
let app;
before(async () => {
  server = await startServer();
  counter = await startCounter();
  client = at(server.base_url);
  app = { clientId: server.oauth2_client_id, clientSecret: server.oauth2_client_secret };
});
after(async () => {
  await counter.close();
  await server.stop();
});

/** A client whose every call goes to `baseUrl` (a scenario, say). */
function at(baseUrl, extra = {}) {
  return new Client({ baseUrl, caFile: server.ca_file, timeoutMs: 10000, ...extra });
}

const password = (c = client, extra = {}) =>
  c.passwordGrant({ ...app, username: server.login_id, password: server.password, ...extra });

/** Every text a value shows: message, stack, inspect, JSON, String. */
function textsOf(value) {
  const texts = [String(value), util.inspect(value, { depth: 5, showHidden: true }), JSON.stringify(value) ?? ''];
  if (value instanceof Error) texts.push(value.stack, JSON.stringify({ ...value }));
  return texts;
}

function assertQuotesNone(value, ...secrets) {
  for (const text of textsOf(value)) {
    for (const secret of secrets) {
      assert.ok(!text.includes(secret), `a secret in: ${text}`);
    }
  }
}

/** Resolves to the ConcurError the promise rejected with; fails if it resolved. */
async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof ConcurError, `not a ConcurError: ${e}`);
    return e;
  }
  assert.fail('the promise resolved');
}

/** A user of this test's own (revocation is per user, server-wide): an OTP grant. */
async function otpUser(c = client) {
  const email = `node-${crypto.randomUUID().slice(0, 12)}@example.com`;
  assert.equal(await c.sendOtp({ ...app, email }), undefined);
  return [email, await c.otpGrant({ ...app, email, otp: server.otp })];
}

/** The callback URL the server's /oauth2/v0/authorize sends the browser to. */
function approve(query) {
  return new Promise((resolve, reject) => {
    http
      .get(`${server.plain_base_url}/oauth2/v0/authorize?${query}`, (res) => {
        res.resume();
        assert.equal(res.statusCode, 302);
        resolve(res.headers.location);
      })
      .on('error', reject);
  });
}

function assertUserToken(token) {
  assert.ok(token instanceof OAuth2Token);
  assert.equal(token.tokenType, 'Bearer');
  assert.ok(token.accessToken && token.refreshToken && token.idToken);
  const now = Date.now();
  assert.ok(token.expiresAt instanceof Date);
  assert.ok(token.expiresAt > now && token.expiresAt <= now + 3601_000, `${token.expiresAt}`);
  assert.ok(token.refreshExpiresAt > now + 170 * 86400_000);
  assert.equal(token.principalType, 'user');
  assert.ok(token.subject && token.correlationId);
  assert.ok(token.scope.split(' ').includes('openid'));
}

describe('each method, succeeding', () => {
  it('passwordGrant returns a masked, immutable OAuth2Token', async () => {
    const token = await password();
    assertUserToken(token);
    assert.equal(token.geolocation, server.base_url);
    const shown = util.inspect(token);
    assert.ok(shown.startsWith('OAuth2Token {') && shown.includes("accessToken: '***'"), shown);
    assert.ok(shown.includes(server.base_url) && shown.includes(token.subject), shown);
    const json = JSON.parse(JSON.stringify(token));
    assert.equal(json.accessToken, '***');
    assert.equal(json.refreshToken, '***');
    assert.equal(json.idToken, '***');
    assertQuotesNone(token, token.accessToken, token.refreshToken, token.idToken, server.password);
    assert.throws(() => {
      'use strict';
      token.accessToken = 'x';
    }, TypeError);
    token.expiresAt.setTime(0); // a fresh Date each time
    assert.ok(token.expiresAt.getTime() > 0);
  });

  it('passwordGrant takes a scope and a per-call baseUrl', async () => {
    const token = await password(at('https://127.0.0.1:1'), { scope: 'openid user.read', baseUrl: server.base_url });
    assert.equal(token.scope, 'openid user.read');
  });

  it('companyGrant', async () => {
    const token = await client.companyGrant({ ...app, companyId: server.company_id, requestToken: server.request_token });
    assert.equal(token.principalType, 'company');
    assert.ok(token.refreshToken);
    assert.equal(token.geolocation, server.base_url);
    const e = await rejection(client.companyGrant({ ...app, companyId: server.company_id, requestToken: '0'.repeat(36) }));
    assert.equal(e.code, 'UNAUTHORIZED');
    assert.equal(e.concurCode, 5);
    assertQuotesNone(e, server.oauth2_client_secret, '0'.repeat(36));
  });

  it('clientCredentialsGrant has no refresh token', async () => {
    const token = await client.clientCredentialsGrant(app);
    assert.ok(token.accessToken && token.expiresAt);
    assert.equal(token.refreshToken, null);
    assert.equal(token.idToken, null);
    assert.equal(token.subject, null);
    assert.equal(JSON.parse(JSON.stringify(token)).refreshToken, null);
  });

  it('refreshGrant rotates, and the old refresh token dies with code 108', async () => {
    const first = await password();
    const second = await client.refreshGrant({ ...app, refreshToken: first.refreshToken, baseUrl: first.geolocation });
    assert.notEqual(second.refreshToken, first.refreshToken);
    assert.notEqual(second.accessToken, first.accessToken);
    assert.equal(second.subject, first.subject);
    const e = await rejection(client.refreshGrant({ ...app, refreshToken: first.refreshToken }));
    assert.deepEqual([e.code, e.concurCode, e.oauthError, e.statusCode], ['UNAUTHORIZED', 108, 'invalid_grant', 400]);
    assert.ok(e.correlationId);
    assertQuotesNone(e, first.refreshToken, server.oauth2_client_secret);
    const third = await client.refreshGrant({ ...app, refreshToken: second.refreshToken, scope: 'openid' });
    assert.equal(third.scope, 'openid');
  });

  it('the authorization-code flow: URL, callback, single-use code', async () => {
    const { url, state } = oauth2AuthorizeUrl({
      clientId: app.clientId,
      redirectUri: REDIRECT,
      scopes: ['openid', 'user.read'],
      baseUrl: server.plain_base_url,
    });
    assert.equal(state.length, 32);
    assert.ok(url.startsWith(`${server.plain_base_url}/oauth2/v0/authorize?`), url);
    assert.ok(url.includes('scope=openid%20user.read') && url.includes('redirect_uri=https%3A%2F%2Fpartner.example'));
    const callback = await approve(url.split('?')[1]);
    const { code, geolocation } = parseOauth2Callback(callback, state);
    assert.equal(geolocation, server.base_url);
    const token = await client.authorizationCodeGrant({ ...app, code, redirectUri: REDIRECT });
    assert.equal(token.scope, 'openid user.read');
    assert.equal(token.principalType, 'user');
    const e = await rejection(client.authorizationCodeGrant({ ...app, code, redirectUri: REDIRECT }));
    assert.equal(e.concurCode, 103);
    assertQuotesNone(e, code, server.oauth2_client_secret);
  });

  it('authorize URL defaults and callback refusals', async () => {
    const { url, state } = oauth2AuthorizeUrl({ clientId: 'cid', redirectUri: 'https://a/cb', state: 'mine' });
    assert.equal(state, 'mine');
    assert.ok(url.startsWith('https://www-us2.api.concursolutions.com/oauth2/v0/authorize?'), url);
    assert.ok(!url.includes('scope='));
    assert.throws(() => parseOauth2Callback('https://a/cb?code=abc&state=other', 'mine'), (e) => e.code === 'INVALID_ARGUMENT');
    const callback = await approve(
      `client_id=${app.clientId}&redirect_uri=https%3A%2F%2Fa%2Fcb&response_type=code&state=s1` +
        `&username=${encodeURIComponent(server.locked_username)}`,
    );
    assert.throws(() => parseOauth2Callback(callback, 's1'), (e) => e.code === 'UNAUTHORIZED' && e.concurCode === 14);
    assert.deepEqual(parseOauth2Callback('https://a/cb?code=abc'), { code: 'abc', geolocation: null });
    assert.throws(
      () => parseOauth2Callback('https://a/cb?code=abc&geolocation=http%3A%2F%2Fevil.example'),
      (e) => e instanceof ConcurError && e.code === 'INVALID_ARGUMENT',
    );
  });

  it('sendOtp and otpGrant', async () => {
    const [email, token] = await otpUser();
    assertUserToken(token);
    let e = await rejection(client.otpGrant({ ...app, email, otp: server.otp }));
    assert.equal(e.concurCode, 83);
    await client.sendOtp({ ...app, email, name: 'Node Test', company: 'Example Ltd', link: 'https://partner.example/otp' });
    e = await rejection(client.otpGrant({ ...app, email, otp: '000000' }));
    assert.equal(e.concurCode, 85);
    assertQuotesNone(e, '000000', server.oauth2_client_secret);
    e = await rejection(client.sendOtp({ ...app, email: 'no-at-sign' }));
    assert.equal(e.concurCode, 81);
  });

  it("revokeConnections kills the user's refresh tokens, nobody else's", async () => {
    const [, mine] = await otpUser();
    const [, other] = await otpUser();
    assert.equal(await client.revokeConnections({ accessToken: mine.accessToken, baseUrl: mine.geolocation }), undefined);
    let e = await rejection(client.refreshGrant({ ...app, refreshToken: mine.refreshToken }));
    assert.equal(e.concurCode, 108);
    await client.refreshGrant({ ...app, refreshToken: other.refreshToken });
    const appToken = await client.clientCredentialsGrant(app);
    e = await rejection(client.revokeConnections({ accessToken: appToken.accessToken }));
    assert.equal(e.statusCode, 401);
    assert.equal(e.oauthError, 'invalid_token');
    assertQuotesNone(e, appToken.accessToken);
  });

  it('exchangeLegacyRefreshToken', async () => {
    const legacy = await nativeToken(server.options());
    const appToken = await client.clientCredentialsGrant(app);
    const exchange = await client.exchangeLegacyRefreshToken({
      appAccessToken: appToken.accessToken,
      oldConsumerKey: server.consumer_key,
      oldRefreshToken: legacy.refreshToken,
      clientSecret: app.clientSecret,
    });
    assert.ok(exchange instanceof LegacyExchange);
    assert.equal(exchange.expiresAt - exchange.createdAt, 180 * 86400_000);
    assert.ok(exchange.scopes.includes('openid'));
    assert.equal(JSON.parse(exchange.context).ptype, 'user');
    assert.ok(exchange.correlationId);
    assert.ok(util.inspect(exchange).startsWith("LegacyExchange {\n  refreshToken: '***'"), util.inspect(exchange));
    assertQuotesNone(exchange, exchange.refreshToken, legacy.refreshToken);
    const token = await client.refreshGrant({ ...app, refreshToken: exchange.refreshToken });
    assert.equal(token.principalType, 'user');
    const company = await client.exchangeLegacyRefreshToken({
      appAccessToken: appToken.accessToken,
      oldConsumerKey: server.consumer_key,
      oldRefreshToken: legacy.refreshToken,
      clientSecret: app.clientSecret,
      company: true,
    });
    assert.equal(JSON.parse(company.context).ptype, 'company');
    const user = await password();
    let e = await rejection(
      client.exchangeLegacyRefreshToken({
        appAccessToken: user.accessToken,
        oldConsumerKey: server.consumer_key,
        oldRefreshToken: legacy.refreshToken,
        clientSecret: app.clientSecret,
      }),
    );
    assert.equal(e.statusCode, 401);
    assertQuotesNone(e, user.accessToken, legacy.refreshToken, app.clientSecret);
    e = await rejection(
      client.exchangeLegacyRefreshToken({
        appAccessToken: appToken.accessToken,
        oldConsumerKey: server.consumer_key,
        oldRefreshToken: 'R_dead',
        clientSecret: app.clientSecret,
      }),
    );
    assert.equal(e.statusCode, 400);
  });
});

describe('data centres', () => {
  it("code 16 is followed to the user's data centre", async () => {
    const token = await client.passwordGrant({ ...app, username: server.eu_username, password: server.eu_password });
    assert.equal(token.geolocation, server.second_base_url);
    const refreshed = await client.refreshGrant({ ...app, refreshToken: token.refreshToken });
    assert.equal(refreshed.geolocation, server.second_base_url);
    await client.sendOtp({ ...app, email: server.eu_username });
    const byOtp = await client.otpGrant({ ...app, email: server.eu_username, otp: server.otp });
    assert.equal(byOtp.geolocation, server.second_base_url);
  });

  it('an untrusted data centre is refused and nothing is sent there', async () => {
    for (const scenario of [`geo16-http-${counter.port}`, `geo-token-http-${counter.port}`]) {
      const e = await rejection(password(at(server.scenario(scenario))));
      assert.equal(e.code, 'PROTOCOL');
      assert.ok(e.message.includes(`127.0.0.1:${counter.port}`), e.message);
      assert.ok(e.correlationId);
      assertQuotesNone(e, server.password, server.oauth2_client_secret);
    }
    for (const name of ['evil.example', 'concursolutions.com.evil.example']) {
      const e = await rejection(password(at(server.scenario(`geo16-name-${name}`))));
      assert.equal(e.code, 'PROTOCOL');
      assert.ok(e.message.includes('evil.example'), e.message);
    }
    assert.equal(await counter.seen(), 0);
  });

  it('trustedHosts extend the list', async () => {
    const scenario = server.scenario('geo-token-name-concur.partner.example');
    const e = await rejection(password(at(scenario)));
    assert.ok(e.message.includes('concur.partner.example'));
    const token = await password(at(scenario, { trustedHosts: ['Concur.Partner.Example'] }));
    assert.equal(token.geolocation, 'https://concur.partner.example');
  });
});

describe('errors', () => {
  const table = [
    ['error-5', 'UNAUTHORIZED', 400, 5, 'invalid_grant'],
    ['error-14', 'UNAUTHORIZED', 400, 14, 'invalid_grant'],
    ['error-59', 'UNAUTHORIZED', 403, 59, 'access_denied'],
    ['error-61', 'UNAUTHORIZED', 401, 61, 'invalid_client'],
    ['error-108', 'UNAUTHORIZED', 400, 108, 'invalid_grant'],
    ['error-51', 'HTTP_STATUS', 400, 51, 'invalid_request'],
    ['status-503', 'HTTP_STATUS', 503, null, 'server_error'],
    ['json-500', 'HTTP_STATUS', 500, null, null],
    ['html', 'PROTOCOL', null, null, null],
    ['garbage', 'PROTOCOL', null, null, null],
  ];
  for (const [scenario, code, status, concurCode, oauthError] of table) {
    it(`${scenario} is ${code} with concurCode ${concurCode}`, async () => {
      const e = await rejection(password(at(server.scenario(scenario), { retries: 0 })));
      assert.equal(e.code, code);
      if (status !== null) assert.equal(e.statusCode, status);
      assert.equal(e.concurCode, concurCode);
      assert.equal(e.oauthError, oauthError);
      assert.ok(e.correlationId);
      assertQuotesNone(e, server.password, server.oauth2_client_secret);
    });
  }

  it('wrong credentials are UNAUTHORIZED with codes 5 and 64', async () => {
    let e = await rejection(client.passwordGrant({ ...app, username: server.login_id, password: 'Wrong-Pw-71' }));
    assert.equal(e.concurCode, 5);
    assert.equal(e.concurMessage, 'Incorrect Credentials. Please Retry');
    assertQuotesNone(e, 'Wrong-Pw-71');
    e = await rejection(client.clientCredentialsGrant({ clientId: app.clientId, clientSecret: 'Wrong-Secret-72' }));
    assert.equal(e.concurCode, 64);
    assert.equal(e.statusCode, 401);
    assertQuotesNone(e, 'Wrong-Secret-72');
  });

  it('transport errors: TIMEOUT, CONNECT, TLS', async () => {
    let e = await rejection(password(at(server.scenario('slow-headers-3000'), { timeoutMs: 300 })));
    assert.equal(e.code, 'TIMEOUT');
    e = await rejection(password(at('https://127.0.0.1:1')));
    assert.equal(e.code, 'CONNECT');
    e = await rejection(password(new Client({ baseUrl: server.base_url, timeoutMs: 10000 })));
    assert.equal(e.code, 'TLS');
  });

  it('retries and correlationId reach the core', async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const e = await rejection(password(at(server.scenario(`retry-503-1-0-a${tag}`), { retries: 0 })));
    assert.equal(e.statusCode, 503);
    assert.ok((await password(at(server.scenario(`retry-503-1-0-b${tag}`)))).accessToken);
    const fixed = at(server.base_url, { correlationId: 'node-corr-0001' });
    assert.equal((await password(fixed)).correlationId, 'node-corr-0001');
    const refused = await rejection(password(fixed, { password: 'nope' }));
    assert.equal(refused.correlationId, 'node-corr-0001');
  });
});

describe('bad arguments: typed errors, nothing sent', () => {
  const methods = {
    passwordGrant: { username: 'user@example.com', password: 'pw', scope: 'openid' },
    companyGrant: { companyId: 'company', requestToken: 'request-token' },
    refreshGrant: { refreshToken: 'refresh-token', scope: 'openid' },
    clientCredentialsGrant: {},
    authorizationCodeGrant: { code: 'code', redirectUri: 'https://a/cb' },
    sendOtp: { email: 'user@example.com', name: 'n', company: 'c', link: 'https://l' },
    otpGrant: { email: 'user@example.com', otp: '123456' },
    revokeConnections: { accessToken: 'access-token' },
    exchangeLegacyRefreshToken: {
      appAccessToken: 'app-token',
      oldConsumerKey: 'old-key',
      oldRefreshToken: 'old-refresh',
      clientSecret: 's',
    },
  };
  const base = (name) => (name === 'revokeConnections' || name === 'exchangeLegacyRefreshToken' ? {} : { ...app });

  it('every field of every method: wrong type -> TypeError at once; NUL, lone surrogate, empty -> INVALID_ARGUMENT', async () => {
    const c = new Client({ baseUrl: counter.url, timeoutMs: 5000 });
    let count = 0;
    for (const [name, fields] of Object.entries(methods)) {
      const good = { ...base(name), ...fields, baseUrl: counter.url };
      for (const field of Object.keys(good)) {
        for (const bad of [42, {}, ['x'], true, 'nul\0inside', LONE, '', null]) {
          const options = { ...good, [field]: bad };
          const optional = ['scope', 'name', 'company', 'link', 'baseUrl'].includes(field);
          if (bad === null && optional) continue; // null means "not given"
          if (bad === '' && ['scope', 'name', 'company', 'link'].includes(field)) continue;
          const what = `${name}.${field} = ${JSON.stringify(bad)}`;
          if (typeof bad !== 'string') {
            assert.throws(() => c[name](options), TypeError, what);
          } else {
            const e = await rejection(c[name](options));
            assert.equal(e.code, 'INVALID_ARGUMENT', `${what}: ${e.message}`);
            assertQuotesNone(e, 'Hunter2', app.clientSecret);
          }
          count += 1;
        }
      }
      assert.throws(() => c[name](), TypeError);
      assert.throws(() => c[name](null), TypeError);
      assert.throws(() => c[name]('clientId'), TypeError);
    }
    assert.ok(count > 150, `${count}`);
    assert.throws(() => c.exchangeLegacyRefreshToken({ ...methods.exchangeLegacyRefreshToken, company: 'yes' }), TypeError);
    let e = await rejection(c.passwordGrant({ ...app, username: 'u@x', password: 'p', scope: 'a\nb' }));
    assert.equal(e.code, 'INVALID_ARGUMENT');
    e = await rejection(c.passwordGrant({ ...app, username: 'u@x', password: 'p', baseUrl: 'http://example.com' }));
    assert.equal(e.code, 'INVALID_ARGUMENT');
    assert.throws(() => oauth2AuthorizeUrl({ clientId: 'cid', redirectUri: 'https://a/cb', scopes: 'openid' }), TypeError);
    for (const bad of [LONE, 'a b', '']) {
      assert.throws(
        () => oauth2AuthorizeUrl({ clientId: 'cid', redirectUri: 'https://a/cb', scopes: ['openid', bad] }),
        (x) => x instanceof ConcurError && x.code === 'INVALID_ARGUMENT',
      );
    }
    assert.throws(() => oauth2AuthorizeUrl({ clientId: 'cid', redirectUri: 'https://a/cb', scopes: [null] }), TypeError);
    assert.throws(() => oauth2AuthorizeUrl(null), TypeError);
    assert.throws(() => parseOauth2Callback(42), TypeError);
    assert.throws(() => parseOauth2Callback(`https://a/cb?code=${LONE}`), (x) => {
      assertQuotesNone(x, 'Hunter2');
      return x.code === 'INVALID_ARGUMENT';
    });
    // An aborted signal: nothing is sent either.
    const aborted = AbortSignal.abort();
    await assert.rejects(password(c, { signal: aborted, baseUrl: counter.url }), AbortError);
    assert.throws(() => password(c, { signal: 'stop' }), TypeError);
    assert.equal(await counter.seen(), 0);
  });

  it('client options are checked', () => {
    const invalid = (e) => e instanceof ConcurError && e.code === 'INVALID_ARGUMENT';
    assert.throws(() => new Client({ retries: -1 }), invalid);
    assert.throws(() => new Client({ retries: 11 }), invalid);
    assert.throws(() => new Client({ retries: 1.5 }), invalid);
    assert.throws(() => new Client({ retries: '2' }), TypeError);
    assert.throws(() => new Client({ correlationId: 'not\nprintable' }), invalid);
    assert.throws(() => new Client({ correlationId: 7 }), TypeError);
    assert.throws(() => new Client({ trustedHosts: 'concur.example.com' }), TypeError);
    assert.throws(() => new Client({ trustedHosts: [LONE] }), invalid);
    new Client({ trustedHosts: ['concur.example.com'], retries: 0, correlationId: 'abc' });
  });
});

describe('abort', () => {
  it('every method takes { signal }: already aborted, it rejects with an AbortError and sends nothing', async () => {
    const c = new Client({ baseUrl: counter.url, timeoutMs: 5000 });
    const signal = AbortSignal.abort();
    const calls = [
      c.passwordGrant({ ...app, username: 'u', password: 'p', signal }),
      c.companyGrant({ ...app, companyId: 'c', requestToken: 'r', signal }),
      c.refreshGrant({ ...app, refreshToken: 'r', signal }),
      c.clientCredentialsGrant({ ...app, signal }),
      c.authorizationCodeGrant({ ...app, code: 'c', redirectUri: 'https://a/cb', signal }),
      c.sendOtp({ ...app, email: 'u@x', signal }),
      c.otpGrant({ ...app, email: 'u@x', otp: '1', signal }),
      c.revokeConnections({ accessToken: 'a', signal }),
      c.exchangeLegacyRefreshToken({ appAccessToken: 'a', oldConsumerKey: 'k', oldRefreshToken: 'r', clientSecret: 's', signal }),
    ];
    for (const pending of calls) {
      await assert.rejects(pending, (e) => e instanceof AbortError && e.code === 'ABORT_ERR');
    }
    assert.equal(await counter.seen(), 0);
  });
});

describe('the examples', () => {
  const { execFile } = require('node:child_process');
  const path = require('node:path');
  const examples = path.resolve(__dirname, '..', '..', '..', 'examples');

  function run(name, extra = {}) {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONCUR_')));
    Object.assign(env, {
      CONCUR_CLIENT_ID: app.clientId,
      CONCUR_CLIENT_SECRET: app.clientSecret,
      CONCUR_USERNAME: server.login_id,
      CONCUR_PASSWORD: server.password,
      CONCUR_BASE_URL: server.base_url,
      CONCUR_CA_FILE: server.ca_file,
      ...extra,
    });
    return new Promise((resolve) => {
      execFile(process.execPath, [path.join(examples, name)], { env, timeout: 60000 }, (error, stdout, stderr) =>
        resolve({ code: error ? error.code : 0, stdout, stderr }),
      );
    });
  }

  it('oauth2_password.mjs: grant, rotation, authorize URL; a refusal explained without the password', async () => {
    let out = await run('oauth2_password.mjs');
    assert.equal(out.code, 0, out.stderr);
    assert.ok(out.stdout.includes(`Geolocation:     ${server.base_url}`), out.stdout);
    assert.ok(out.stdout.includes('rotated: true') && out.stdout.includes('dead now: code 108'), out.stdout);
    assert.ok(out.stdout.includes('/oauth2/v0/authorize?client_id='), out.stdout);
    assert.ok(out.stdout.includes("accessToken: '***'"), out.stdout);
    out = await run('oauth2_password.mjs', { CONCUR_PASSWORD: 'Wrong-Pw-93' });
    assert.equal(out.code, 1);
    assert.ok(out.stderr.includes('code 5'), out.stderr);
    assert.ok(!(out.stdout + out.stderr).includes('Wrong-Pw-93'));
  });

  it('token_manager.mjs: ten callers, one token, saved owner-only', async () => {
    const out = await run('token_manager.mjs');
    assert.equal(out.code, 0, out.stderr);
    assert.ok(out.stdout.includes('10 callers, 1 token'), out.stdout);
    assert.ok(out.stdout.includes('(mode 600)'), out.stdout);
  });
});
