'use strict';
// Node rows of benches/run.py: concur-native against global fetch + a regex (Native Flow) and
// fetch + a form POST + JSON parse (current API's password grant), same server; and the token
// manager's cached accessToken() calls per second.
// Reads the server from CONCUR_* variables (NODE_EXTRA_CA_CERTS lets fetch trust the test CA);
// prints one JSON object of seconds-per-token figures and the event-loop delay.
// BENCH_PARTS (comma-separated: client, one_shot, fetch, oauth2, cached, loop_delay) measures
// only those parts (default: all); benches/run.py's --only uses it.

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
const PARTS = new Set((env.BENCH_PARTS || 'client,one_shot,fetch,oauth2,cached,loop_delay').split(','));
const BURSTS = Number(env.BENCH_BURSTS || 2 * REPEATS - 1);

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

  // Event-loop delay while 100 calls are in flight at once: BURSTS bursts (the first one cold:
  // the addon starts its threads, the client opens its connections), the histogram recording
  // only while one is in flight (idle samples between bursts would dilute it).
  const loopDelay = async () => {
    const bursts = [];
    for (let b = 0; b < BURSTS; b++) {
      // A histogram per burst: one enabled again would count the pause between bursts as delay.
      const histogram = monitorEventLoopDelay({ resolution: 1 });
      histogram.enable();
      await Promise.all(Array.from({ length: 100 }, () => client.nativeToken(key, login, password)));
      // One more timer tick, so that the histogram also records how late the loop was while
      // the last calls settled (disabled at once, that last delay would go unrecorded).
      await new Promise((resolve) => setTimeout(resolve, 1));
      histogram.disable();
      bursts.push({
        p99: histogram.count ? histogram.percentile(99) / 1e6 : 0,
        max: histogram.count ? histogram.max / 1e6 : 0,
        samples: histogram.count,
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return bursts;
  };

  const out = {};
  if (PARTS.has('loop_delay')) {
    // Per burst its p99 (Node cannot merge the bursts' histograms); the row is their median,
    // as every row is a median of repeats, and the worst burst and the first (cold) one are
    // reported beside it.
    // A short burst may record no sample at all (the loop's timer did not fire twice while it
    // ran): such a burst says nothing, and counts neither way.
    const bursts = await loopDelay();
    const measured = bursts.filter((b) => b.samples > 0);
    out.loop_delay_p99_ms = measured.length ? median(measured.map((b) => b.p99)) : null;
    out.loop_delay_bursts_measured = measured.length;
    out.loop_delay_worst_p99_ms = Math.max(...bursts.map((b) => b.p99));
    out.loop_delay_first_p99_ms = bursts[0].p99;
    out.loop_delay_max_ms = Math.max(...bursts.map((b) => b.max));
    out.loop_delay_bursts = bursts;
  }
  if (PARTS.has('oauth2')) {
    [out.oauth2_client, out.oauth2_fetch] = await interleaved([grantWithClient, grantWithFetch], COUNT);
  }
  if (PARTS.has('client')) out.client = await perToken(withClient, COUNT);
  if (PARTS.has('one_shot')) out.one_shot = await perToken(oneShot, Math.max(Math.floor(COUNT / 5), 20));
  if (PARTS.has('fetch')) out.fetch = await perToken(withFetch, COUNT);
  if (PARTS.has('cached')) out.cached_per_s = 1 / (await perToken(cachedCalls, CACHED_COUNT));
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
