'use strict';
// Node rows of benches/run.py: concur-native against global fetch + a regex (Native Flow) and
// fetch + a form POST + JSON parse (current API's password grant), same server; and the token
// manager's cached accessToken() calls per second.
// Reads the server from CONCUR_* variables (NODE_EXTRA_CA_CERTS lets fetch trust the test CA);
// prints one JSON object of seconds-per-token figures and the event-loop delay.

const path = require('node:path');
const { monitorEventLoopDelay, performance } = require('node:perf_hooks');

const { Client, TokenManager, nativeToken } = require(path.join(__dirname, '..', 'bindings', 'node'));

const env = process.env;
const url = `${env.CONCUR_BASE_URL}/net2/oauth2/accesstoken.ashx`;
const key = env.CONCUR_CONSUMER_KEY;
const login = env.CONCUR_LOGIN_ID;
const password = env.CONCUR_PASSWORD;
const COUNT = Number(env.BENCH_COUNT || 500);
const CACHED_COUNT = Number(env.BENCH_CACHED_COUNT || 200000);
const app = { clientId: env.CONCUR_OAUTH2_CLIENT_ID, clientSecret: env.CONCUR_OAUTH2_CLIENT_SECRET };
const REPEATS = Number(env.BENCH_REPEATS || 5);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function perToken(loop, count) {
  const times = [];
  for (let r = 0; r < REPEATS; r++) {
    const started = performance.now();
    await loop(count);
    times.push((performance.now() - started) / 1000 / count);
  }
  return median(times);
}

/** Like perToken, for several loops taken in turn each round: a noisy moment hits all alike. */
async function interleaved(loops, count) {
  const times = loops.map(() => []);
  for (let r = 0; r < REPEATS; r++) {
    for (const [i, loop] of loops.entries()) {
      const started = performance.now();
      await loop(count);
      times[i].push((performance.now() - started) / 1000 / count);
    }
  }
  return times.map(median);
}

async function main() {
  const client = new Client({ baseUrl: env.CONCUR_BASE_URL, caFile: env.CONCUR_CA_FILE });
  await client.nativeToken(key, login, password);
  const withClient = async (n) => {
    for (let i = 0; i < n; i++) await client.nativeToken(key, login, password);
  };
  const oneShot = async (n) => {
    for (let i = 0; i < n; i++) {
      await nativeToken({ consumerKey: key, loginId: login, password, baseUrl: env.CONCUR_BASE_URL, caFile: env.CONCUR_CA_FILE });
    }
  };
  const authorization = `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`;
  const withFetch = async (n) => {
    for (let i = 0; i < n; i++) {
      const response = await fetch(url, { headers: { Authorization: authorization, 'X-ConsumerKey': key } });
      const body = await response.text();
      if (!/<Token>([^<]+)<\/Token>/.exec(body)) throw new Error('no token');
    }
  };
  await withFetch(1);

  // The current API: the password grant through a client, and the same form POST with fetch.
  const grant = { ...app, username: login, password };
  const grantWithClient = async (n) => {
    for (let i = 0; i < n; i++) await client.passwordGrant(grant);
  };
  const tokenUrl = `${env.CONCUR_BASE_URL}/oauth2/v0/token`;
  const form = new URLSearchParams({
    client_id: app.clientId,
    client_secret: app.clientSecret,
    grant_type: 'password',
    username: login,
    password,
    credtype: 'password',
  }).toString();
  const grantWithFetch = async (n) => {
    for (let i = 0; i < n; i++) {
      const response = await fetch(tokenUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: form,
      });
      const answer = await response.json();
      if (!response.ok || typeof answer.access_token !== 'string') throw new Error('no token');
    }
  };
  await grantWithClient(1);
  await grantWithFetch(1);

  // The token manager: accessToken() answered from its cache, awaited one after another.
  const manager = new TokenManager({ client, ...app, grant: 'password', username: login, password });
  const first = await manager.accessToken();
  const cachedCalls = async (n) => {
    for (let i = 0; i < n; i++) {
      if ((await manager.accessToken()) !== first) throw new Error('the cached token changed');
    }
  };

  // Event-loop delay while 100 calls are in flight at once.
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  await Promise.all(Array.from({ length: 100 }, () => client.nativeToken(key, login, password)));
  histogram.disable();

  const [oauth2Client, oauth2Fetch] = await interleaved([grantWithClient, grantWithFetch], COUNT);
  console.log(
    JSON.stringify({
      client: await perToken(withClient, COUNT),
      one_shot: await perToken(oneShot, Math.max(Math.floor(COUNT / 5), 20)),
      fetch: await perToken(withFetch, COUNT),
      oauth2_client: oauth2Client,
      oauth2_fetch: oauth2Fetch,
      cached_per_s: 1 / (await perToken(cachedCalls, CACHED_COUNT)),
      loop_delay_p99_ms: histogram.percentile(99) / 1e6,
      loop_delay_max_ms: histogram.max / 1e6,
    }),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
