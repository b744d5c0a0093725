'use strict';
// concur-emulator's Node helper as a user's node:test file meets it: useEmulator() (one
// emulator for this file, reset before each test), plain node:https calls to the emulator (no
// library of ours), startEmulator() with flags and a seed, and the bin launcher.
// The program: $CONCUR_EMULATOR_BINARY (tests/run.sh points it at the cargo-built one).

const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const https = require('node:https');
const net = require('node:net');
const path = require('node:path');
const { test } = require('node:test');
const { promisify } = require('node:util');
const { useEmulator, startEmulator, EmulatorError } = require('..');
const { platformId, packageName, TARGETS } = require('../lib/binary.js');

const emulator = useEmulator();

/** A request with node:https trusting only the emulator's CA: { status, body (JSON or null) }. */
function request(method, url, { form, token } = {}) {
  const data = form ? Buffer.from(new URLSearchParams(form).toString()) : null;
  const headers = {};
  if (data) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    headers['content-length'] = data.length;
  }
  if (token) headers.authorization = `Bearer ${token}`;
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, ca: emulator.ca, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let body = null;
        try {
          body = JSON.parse(text);
        } catch {
          body = null;
        }
        resolve({ status: res.statusCode, body });
      });
    });
    req.on('error', reject);
    req.end(data ?? undefined);
  });
}

const tokenUrl = () => `${emulator.baseUrl}/oauth2/v0/token`;
const identity = () => `${emulator.baseUrl}/profile/identity/v4.1/Users`;
const app = () => ({ client_id: emulator.clientId, client_secret: emulator.clientSecret });

function companyGrant(company) {
  return request('POST', tokenUrl(), {
    form: { grant_type: 'password', credtype: 'authtoken', ...app(), username: company.id, password: company.request_token },
  });
}

function refreshGrant(refreshToken) {
  return request('POST', tokenUrl(), { form: { grant_type: 'refresh_token', refresh_token: refreshToken, ...app() } });
}

test('useEmulator gives a started emulator with its URLs and CA', async () => {
  assert.ok(emulator.running);
  assert.match(emulator.baseUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(emulator.adminUrl, `${emulator.baseUrl}/_emulator`);
  assert.match(emulator.ca.toString(), /BEGIN CERTIFICATE/);
  const health = await emulator.health();
  assert.equal(health.status, 'ok');
});

test('a company connects with plain https, expires on the virtual clock, rotates and is revoked', async () => {
  const company = await emulator.addCompany({ name: 'Test Company' });
  assert.equal(company.name, 'Test Company');
  const granted = await companyGrant(company);
  assert.equal(granted.status, 200, JSON.stringify(granted.body));
  const token = granted.body;
  assert.equal(token.token_type, 'Bearer');
  assert.equal(Number(token.expires_in), 3600); // a string, as Concur sends it
  assert.equal((await request('GET', identity(), { token: token.access_token })).status, 200);

  await emulator.advance(3600);
  assert.equal((await request('GET', identity(), { token: token.access_token })).status, 401);
  const refreshed = await refreshGrant(token.refresh_token);
  assert.equal(refreshed.status, 200);
  assert.notEqual(refreshed.body.refresh_token, token.refresh_token);
  const reused = await refreshGrant(token.refresh_token);
  assert.deepEqual([reused.status, reused.body.code], [400, 108]);

  await emulator.revoke({ refresh_token: refreshed.body.refresh_token });
  const revoked = await refreshGrant(refreshed.body.refresh_token);
  assert.deepEqual([revoked.status, revoked.body.code], [400, 108]);
  assert.deepEqual((await emulator.refreshTokens()).map((t) => t.state), ['rotated', 'revoked']);
});

test('the journal lists the requests with every secret digested', async () => {
  const company = await emulator.addCompany();
  assert.equal((await companyGrant(company)).status, 200);
  const journal = await emulator.journal();
  assert.deepEqual(
    journal.map((e) => [e.method, e.path, e.grant, e.status]),
    [['POST', '/oauth2/v0/token', 'password', 200]],
  );
  const text = JSON.stringify(journal);
  assert.ok(!text.includes(company.request_token));
  assert.ok(!text.includes(emulator.clientSecret));
  assert.match(journal[0].form.password, /^sha256:/);
  assert.deepEqual(await emulator.journal(journal.at(-1).seq), []);
  await emulator.clearJournal();
  assert.deepEqual(await emulator.journal(), []);
});

test('each test starts from a reset emulator', async () => {
  assert.deepEqual(await emulator.journal(), []);
  assert.deepEqual(await emulator.refreshTokens(), []);
  assert.equal((await emulator.clock()).offset, 0);
});

test('faults hit exactly the next N requests', async () => {
  const company = await emulator.addCompany();
  await emulator.fault({ endpoint: 'token', kind: 'rate-limit', count: 2, retry_after: 3 });
  assert.equal((await companyGrant(company)).status, 429);
  assert.equal((await companyGrant(company)).status, 429);
  assert.equal((await companyGrant(company)).status, 200);
  assert.deepEqual(await emulator.faults(), []);
});

test('expire() makes an access token answer 401 now', async () => {
  const token = (await companyGrant(await emulator.addCompany())).body;
  await emulator.expire({ access_token: token.access_token });
  assert.equal((await request('GET', identity(), { token: token.access_token })).status, 401);
});

test('bad control input rejects with the emulator\'s message and status', async () => {
  await assert.rejects(emulator.advance('soon'), (e) => e instanceof EmulatorError && e.status === 400 && /seconds/.test(e.detail));
  await assert.rejects(emulator.setRotation('often'), (e) => e instanceof EmulatorError && e.status === 400);
  await assert.rejects(emulator.revoke({ refresh_token: 'never-issued' }), (e) => e.status === 404);
  assert.equal((await emulator.health()).status, 'ok');
});

test('startEmulator takes flags and a seed object; stop() ends the process', async () => {
  const id = '6f0d8e4c-0000-4000-8000-000000000002';
  const own = await startEmulator({ rotate: 'never', accessLifetime: 120, seed: { companies: [{ id, name: 'Seeded' }] } });
  try {
    assert.equal(await own.rotation(), 'never');
    assert.equal((await own.lifetimes()).access, 120);
    assert.ok((await own.companies()).some((c) => c.id === id));
  } finally {
    await own.stop();
  }
  assert.equal(own.running, false);
});

test('a port in use and a bad flag reject with the program\'s message', async () => {
  const busy = net.createServer();
  await new Promise((resolve) => busy.listen(0, '127.0.0.1', resolve));
  try {
    await assert.rejects(startEmulator({ port: busy.address().port }), (e) => e instanceof EmulatorError && /in use/.test(e.message));
  } finally {
    busy.close();
  }
  await assert.rejects(startEmulator({ args: ['--no-such-flag'] }), /--no-such-flag/);
});

test('the bin launcher runs the program with its arguments and exit status', async () => {
  const bin = path.join(__dirname, '..', 'bin', 'concur-emulator.js');
  const { stdout } = await promisify(execFile)(process.execPath, [bin, '--help']);
  assert.match(stdout, /\/_emulator\//);
  await assert.rejects(promisify(execFile)(process.execPath, [bin, '--no-such-flag']), (e) => e.code === 2);
});

test('the platform packages named in package.json are the launcher\'s', () => {
  const manifest = require('../package.json');
  const names = Object.values(TARGETS).map((t) => packageName(platformId(t)));
  assert.deepEqual(Object.keys(manifest.optionalDependencies).sort(), names.sort());
  for (const version of Object.values(manifest.optionalDependencies)) assert.equal(version, manifest.version);
  assert.deepEqual(manifest.dependencies ?? {}, {});
});
