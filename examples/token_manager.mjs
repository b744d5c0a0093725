// One valid access token for a whole program (or every process sharing the file), from the
// token manager: cached in memory, refreshed once shortly before expiry, the rotated refresh
// token saved to the file before the new access token is used.
//
//   CONCUR_CLIENT_ID=... CONCUR_CLIENT_SECRET=... CONCUR_USERNAME=... CONCUR_PASSWORD=... \
//     [CONCUR_TOKEN_FILE=/var/lib/app/concur-token.json] node examples/token_manager.mjs
//
// The first run signs the user in with a password grant; later runs find the refresh token in
// the file. Give `store: 'redis://host:6379/'` and `redisKey` to share it between machines.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);
let concur;
try {
  concur = require('concur-native');
} catch {
  concur = require('../bindings/node');
}
const { Client, ConcurError, TokenManager } = concur;
const env = process.env;

for (const name of ['CONCUR_CLIENT_ID', 'CONCUR_CLIENT_SECRET', 'CONCUR_USERNAME', 'CONCUR_PASSWORD']) {
  if (!env[name]) {
    console.error(`set ${name}`);
    process.exit(2);
  }
}
const dir = env.CONCUR_TOKEN_FILE ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'concur-example-'));
const store = env.CONCUR_TOKEN_FILE ?? path.join(dir, 'concur-token.json');
try {
  const client = new Client({ baseUrl: env.CONCUR_BASE_URL, caFile: env.CONCUR_CA_FILE, timeoutMs: 10000 });
  const manager = new TokenManager({
    client,
    clientId: env.CONCUR_CLIENT_ID,
    clientSecret: env.CONCUR_CLIENT_SECRET,
    grant: 'password',
    username: env.CONCUR_USERNAME,
    password: env.CONCUR_PASSWORD,
    store,
  });
  // Many concurrent callers, one grant; later calls come from memory.
  const bearers = await Promise.all(Array.from({ length: 10 }, () => manager.accessToken()));
  console.log(`10 callers, ${new Set(bearers).size} token: Bearer ${bearers[0].slice(0, 24)}…`);
  const token = await manager.token();
  console.log(`Send API calls to ${token.geolocation}; refreshed after ${token.expiresAt?.toISOString()} less 5 min`);
  console.log(`Saved to ${store} (mode ${(fs.statSync(store).mode & 0o777).toString(8)})`);
} catch (e) {
  if (!(e instanceof ConcurError)) throw e;
  console.error(`${e.code}: ${e.message} (code ${e.concurCode})`);
  process.exitCode = 1;
} finally {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
