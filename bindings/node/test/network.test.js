'use strict';
// proxyFromEnv and trustStore: the environment's proxy carries a call to a name only it knows,
// a SOCKS proxy there is refused by name unless proxyFromEnv is false, and the OS trust store is
// read from SSL_CERT_FILE. Each client that reads the environment runs in a child Node, so this
// process's environment is never changed.

const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const path = require('node:path');
const { after, before, describe, it } = require('node:test');

const { Client, ConcurError } = require('..');
const { startServer } = require('./support/server.js');

const STEERING = [
  'https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY', 'http_proxy', 'HTTP_PROXY',
  'no_proxy', 'NO_PROXY', 'SSL_CERT_FILE', 'SSL_CERT_DIR',
];

const CHILD = `
const { Client, nativeToken } = require(process.argv[1]);
const [options, account] = [JSON.parse(process.argv[2]), JSON.parse(process.argv[3])];
(async () => {
  try {
    if (options.oneShot) {
      const [consumerKey, loginId, password] = account;
      delete options.oneShot;
      await nativeToken({ ...options, consumerKey, loginId, password });
    } else {
      const client = new Client(options);
      if (account) await client.nativeToken(...account);
    }
    console.log('RESULT ok');
  } catch (e) {
    console.log('RESULT ' + (e.code || e.name) + ' ' + e.message);
  }
})();
`;

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
});

/** Runs CHILD with `env` on top of this process's environment less the steering variables. */
function child(env, options, account) {
  const childEnv = { ...process.env };
  for (const name of STEERING) delete childEnv[name];
  Object.assign(childEnv, env);
  const args = ['-e', CHILD, path.join(__dirname, '..'), JSON.stringify(options), JSON.stringify(account)];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { env: childEnv, timeout: 60000 }, (error, stdout, stderr) => {
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (line) resolve(line.slice('RESULT '.length));
      else reject(new Error(`no result: ${error} ${stdout} ${stderr}`));
    });
  });
}

const account = () => [server.consumer_key, server.login_id, server.password];
// concur.test resolves nowhere but in the test server's CONNECT proxy.
const proxyOnlyBase = () => `https://concur.test:${server.port}/s/legacy`;

describe('proxyFromEnv', () => {
  it('lets HTTPS_PROXY carry the call to a name only the proxy knows', async () => {
    const options = { baseUrl: proxyOnlyBase(), caFile: server.ca_file, timeoutMs: 10000 };
    assert.equal(await child({ HTTPS_PROXY: server.proxy_url }, options, account()), 'ok');
  });

  it('false reads no variable; a SOCKS proxy there is refused by name', async () => {
    const env = { HTTPS_PROXY: 'socks5://me:Socks-Secret-9@127.0.0.1:1080' };
    const options = { baseUrl: proxyOnlyBase(), caFile: server.ca_file };
    const refused = await child(env, options, null);
    assert.match(refused, /^INVALID_ARGUMENT .*HTTPS_PROXY.*SOCKS/);
    assert.doesNotMatch(refused, /Socks-Secret-9/);
    assert.equal(await child(env, { ...options, proxyFromEnv: false }, null), 'ok');
  });

  it('must be a boolean', () => {
    assert.throws(() => new Client({ proxyFromEnv: 'no' }), TypeError);
  });
});

describe('trustStore', () => {
  for (const [store, expected] of [['os', 'ok'], ['both', 'ok'], ['mozilla', 'TLS']]) {
    it(`${store} with the test CA only in SSL_CERT_FILE: ${expected}`, async () => {
      const options = { baseUrl: server.base_url, trustStore: store, timeoutMs: 10000 };
      const result = await child({ SSL_CERT_FILE: server.ca_file }, options, account());
      assert.equal(result.split(' ')[0], expected, result);
    });
  }

  it('an unknown name is INVALID_ARGUMENT', () => {
    for (const bad of ['system', '', 'OS ']) {
      assert.throws(
        () => new Client({ trustStore: bad }),
        (e) => e instanceof ConcurError && e.code === 'INVALID_ARGUMENT' && /trust store/.test(e.message),
      );
    }
    assert.throws(() => new Client({ trustStore: 1 }), TypeError);
  });
});

describe('nativeToken()', () => {
  it('takes proxyFromEnv and trustStore like a Client', async () => {
    const base = { baseUrl: proxyOnlyBase(), caFile: server.ca_file, timeoutMs: 10000, oneShot: true };
    assert.equal(await child({ HTTPS_PROXY: server.proxy_url }, base, account()), 'ok');
    const socks = { HTTPS_PROXY: 'socks5://127.0.0.1:1080' };
    assert.match(await child(socks, base, account()), /^INVALID_ARGUMENT .*HTTPS_PROXY/);
    const direct = { ...base, proxyFromEnv: false, proxy: server.proxy_url };
    assert.equal(await child(socks, direct, account()), 'ok');
    const trusting = { baseUrl: server.base_url, timeoutMs: 10000, oneShot: true };
    const env = { SSL_CERT_FILE: server.ca_file };
    assert.equal(await child(env, { ...trusting, trustStore: 'os' }, account()), 'ok');
    const refused = await child(env, { ...trusting, trustStore: 'mozilla' }, account());
    assert.equal(refused.split(' ')[0], 'TLS', refused);
  });

  it('checks their types', async () => {
    const { nativeToken } = require('..');
    const credentials = { consumerKey: 'k', loginId: 'u', password: 'p' };
    assert.throws(() => nativeToken({ ...credentials, proxyFromEnv: 'no' }), TypeError);
    assert.throws(() => nativeToken({ ...credentials, trustStore: 1 }), TypeError);
  });
});
