'use strict';
// concur-native against the project's loopback HTTPS test server.

const assert = require('node:assert/strict');
const net = require('node:net');
const { after, before, describe, it } = require('node:test');
const util = require('node:util');

const concur = require('..');
const { nativeToken, ConcurError, Token } = concur;
const { startServer } = require('./support/server.js');

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
});

async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof ConcurError, `not a ConcurError: ${e}`);
    assert.ok(e instanceof Error);
    return e;
  }
  assert.fail('the promise resolved');
}

describe('success', () => {
  it('returns every field of the XML answer', async () => {
    const token = await nativeToken(server.options());
    assert.ok(token instanceof Token);
    assert.match(token.token, /^0_[0-9a-f]{16}\d{6}$/);
    assert.match(token.refreshToken, /^R_/);
    assert.equal(token.instanceUrl, `${server.base_url}/`);
    assert.ok(token.expiresAt instanceof Date);
    const days = (token.expiresAt - Date.now()) / 86400e3;
    assert.ok(days > 364 && days < 366, `expires in ${days} days`);
    assert.match(token.expirationDate, /^\d{1,2}\/\d{1,2}\/\d{4} \d{1,2}:\d{2}:\d{2} [AP]M$/);
  });

  it('accepts JSON, other letter cases, gzip and chunked answers', async () => {
    for (const name of ['json', 'casing', 'gzip', 'chunked']) {
      const token = await nativeToken(server.options({ baseUrl: server.scenario(name) }));
      assert.match(token.token, /^0_/, name);
      assert.ok(token.expiresAt instanceof Date, name);
    }
  });

  it('serves every account, the one without a password too', async () => {
    for (const account of server.accounts) {
      const token = await nativeToken(
        server.options({ loginId: account.login_id, password: account.password || null }),
      );
      assert.ok(token.token.length > 0);
    }
  });

  it('reports an unreadable date as null', async () => {
    const token = await nativeToken(server.options({ baseUrl: server.scenario('bad-date') }));
    assert.equal(token.expirationDate, 'sometime next year');
    assert.equal(token.expiresAt, null);
  });

  it('accepts plain HTTP to loopback', async () => {
    const token = await nativeToken(server.options({ baseUrl: server.plain_base_url }));
    assert.ok(token.token);
  });
});

describe('errors', () => {
  it('UNAUTHORIZED with Concur message and id', async () => {
    const e = await rejection(nativeToken(server.options({ password: 'wrong-xyzzy' })));
    assert.equal(e.code, 'UNAUTHORIZED');
    assert.equal(e.statusCode, 401);
    assert.equal(e.concurMessage, 'Invalid login ID or password.');
    assert.equal(e.errorId, 'ERR-401-0001');
    assert.equal(e.name, 'ConcurError');
    assert.ok(!e.message.includes('xyzzy'));
  });

  it('HTTP_STATUS', async () => {
    const e = await rejection(nativeToken(server.options({ baseUrl: server.scenario('status-503') })));
    assert.equal(e.code, 'HTTP_STATUS');
    assert.equal(e.statusCode, 503);
    const r = await rejection(nativeToken(server.options({ baseUrl: server.scenario('redirect-1') })));
    assert.equal(r.statusCode, 302);
  });

  it('TIMEOUT', async () => {
    const started = Date.now();
    const e = await rejection(
      nativeToken(server.options({ baseUrl: server.scenario('slow-headers-3000'), timeoutMs: 300 })),
    );
    assert.equal(e.code, 'TIMEOUT');
    assert.equal(e.statusCode, null);
    assert.ok(Date.now() - started < 2500);
  });

  it('CONNECT', async () => {
    const port = await new Promise((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address();
        s.close(() => resolve(port));
      });
    });
    const e = await rejection(nativeToken(server.options({ baseUrl: `https://127.0.0.1:${port}` })));
    assert.equal(e.code, 'CONNECT');
  });

  it('TLS', async () => {
    const e = await rejection(nativeToken(server.options({ caFile: undefined })));
    assert.equal(e.code, 'TLS');
    assert.match(e.message, /certificate/);
  });

  // The last three: faults real networks make (a reset or a TLS close without close_notify in
  // the middle of the body, a truncated gzip body).
  for (const scenario of ['html', 'garbage', 'empty', 'no-token', 'entity-bomb', 'huge',
    'reset-mid-body', 'cut-no-close-notify', 'gzip-truncated']) {
    it(`PROTOCOL: ${scenario}`, async () => {
      const e = await rejection(nativeToken(server.options({ baseUrl: server.scenario(scenario) })));
      assert.equal(e.code, 'PROTOCOL');
    });
  }

  it('covers every code it declares', () => {
    assert.deepEqual([...concur.CODES].sort(), [
      'CONNECT', 'HTTP_STATUS', 'INTERNAL', 'INVALID_ARGUMENT', 'NOT_BUILT_IN', 'PROTOCOL', 'STORE', 'TIMEOUT', 'TLS', 'UNAUTHORIZED', 'UNKNOWN_CONNECTION',
    ]);
  });
});

describe('bad arguments', () => {
  const invalidValues = [
    { consumerKey: '' },
    { loginId: '' },
    { loginId: 'a:b' },
    { loginId: 'nul\0byte' },
    { password: 'nul\0byte' },
    { baseUrl: 'http://example.com' },
    { baseUrl: 'not a url' },
    { timeoutMs: 0 },
    { timeoutMs: -5 },
    { timeoutMs: Number.NaN },
    { timeoutMs: Number.POSITIVE_INFINITY },
    { caFile: '/nonexistent.pem' },
    { proxy: '::not a url::' },
  ];
  for (const extra of invalidValues) {
    it(`rejects ${JSON.stringify(extra)} with INVALID_ARGUMENT`, async () => {
      const e = await rejection(nativeToken(server.options(extra)));
      assert.equal(e.code, 'INVALID_ARGUMENT');
      assert.ok(!e.message.includes(server.password));
    });
  }

  const wrongTypes = [
    undefined,
    null,
    'options',
    42,
    { loginId: 'u', password: 'p' },
    { consumerKey: 1, loginId: 'u' },
    { consumerKey: 'k', loginId: null },
    { consumerKey: 'k', loginId: 'u', password: 12 },
    { consumerKey: 'k', loginId: 'u', timeoutMs: '10' },
    { consumerKey: 'k', loginId: 'u', baseUrl: 5 },
    { consumerKey: 'k', loginId: 'u', caFile: {} },
  ];
  for (const options of wrongTypes) {
    it(`throws a TypeError at once for ${util.inspect(options)}`, () => {
      assert.throws(() => nativeToken(options), TypeError);
    });
  }
});

describe('concurrency', () => {
  it('keeps the event loop ticking during a slow call', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    const token = await nativeToken(server.options({ baseUrl: server.scenario('slow-headers-600') }));
    clearInterval(timer);
    assert.ok(token.token);
    assert.ok(ticks >= 10, `only ${ticks} timer ticks during a 600 ms call`);
  });

  it('serves many promises at once', async () => {
    const tokens = await Promise.all(
      Array.from({ length: 40 }, () => nativeToken(server.options())),
    );
    assert.equal(new Set(tokens.map((t) => t.token)).size, 40);
  });
});

describe('secrets', () => {
  it('are masked in inspect and JSON', async () => {
    const token = await nativeToken(server.options());
    for (const text of [util.inspect(token), JSON.stringify(token), String(Object.keys(token))]) {
      assert.ok(!text.includes(token.token), text);
      assert.ok(!text.includes(token.refreshToken), text);
    }
    assert.match(util.inspect(token), /token: '\*\*\*'/);
    assert.equal(JSON.parse(JSON.stringify(token)).expirationDate, token.expirationDate);
  });

  it('never appear in errors', async () => {
    for (const name of ['status-500', 'html', 'error-200', 'close']) {
      const e = await rejection(
        nativeToken(server.options({ baseUrl: server.scenario(name), password: 'hunter2-secret' })),
      );
      for (const text of [e.message, util.inspect(e), JSON.stringify(e)]) {
        assert.ok(!text.includes('hunter2-secret'), text);
      }
    }
  });

  it('tokens are immutable', async () => {
    const token = await nativeToken(server.options());
    assert.throws(() => {
      'use strict';
      token.token = 'x';
    }, TypeError);
    token.expiresAt.setFullYear(1999);
    assert.notEqual(token.expiresAt.getFullYear(), 1999);
  });
});

it('exports the version', () => {
  assert.match(concur.version, /^\d+\.\d+\.\d+/);
  assert.equal(concur.version, require('../package.json').version);
  assert.equal(concur.DEFAULT_BASE_URL, 'https://www.concursolutions.com');
});
