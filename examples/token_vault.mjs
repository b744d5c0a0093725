// Many Concur connections kept alive in one vault (an App Center partner's companies, a Web
// flow's users): onboard them, hand out their access tokens, list them, and run the daily
// keep-alive a cron would.
//
//   CONCUR_CLIENT_ID=... CONCUR_CLIENT_SECRET=... CONCUR_USERNAME=... CONCUR_PASSWORD=... \
//     [CONCUR_COMPANY_ID=... CONCUR_REQUEST_TOKEN=...] \
//     [CONCUR_VAULT=sqlite:///var/lib/app/vault.db] node examples/token_vault.mjs
//
// The SQLite file is shared by every process of the machine; a postgres:// or redis:// URL
// shares the vault between machines.
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
const { Client, ConcurError, TokenVault } = concur;
const env = process.env;

for (const name of ['CONCUR_CLIENT_ID', 'CONCUR_CLIENT_SECRET', 'CONCUR_USERNAME', 'CONCUR_PASSWORD']) {
  if (!env[name]) {
    console.error(`set ${name}`);
    process.exit(2);
  }
}
const dir = env.CONCUR_VAULT ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'concur-vault-'));
const store = env.CONCUR_VAULT ?? `sqlite:///${path.join(dir, 'vault.db')}`;
try {
  const client = new Client({ baseUrl: env.CONCUR_BASE_URL, caFile: env.CONCUR_CA_FILE, timeoutMs: 10000 });
  const vault = new TokenVault(client, { clientId: env.CONCUR_CLIENT_ID, clientSecret: env.CONCUR_CLIENT_SECRET, store });
  vault.on('expiring', (e) => console.warn(`${e.connection}: refresh token within ${e.horizon / 86400} days of expiry`));
  const user = `user:${env.CONCUR_USERNAME}`;
  await vault.add(user, { username: env.CONCUR_USERNAME, password: env.CONCUR_PASSWORD }, { replace: true });
  if (env.CONCUR_COMPANY_ID && env.CONCUR_REQUEST_TOKEN) {
    const start = { companyId: env.CONCUR_COMPANY_ID, requestToken: env.CONCUR_REQUEST_TOKEN };
    await vault.add(`company:${env.CONCUR_COMPANY_ID}`, start, { replace: true });
  }
  // Many concurrent callers for one connection, one token; later calls come from memory.
  const bearers = await Promise.all(Array.from({ length: 10 }, () => vault.accessToken(user)));
  console.log(`${user}: 10 callers, ${new Set(bearers).size} token`);
  for await (const c of vault.connections()) {
    console.log(`${c.id.padEnd(40)} ${c.kind.padEnd(8)} ${c.state.padEnd(9)} refresh token expires ${c.refreshExpiresAt?.toISOString()}`);
  }
  const report = await vault.keepAlive(); // the daily cron
  console.log(
    `keep-alive: ${report.checked} due, ${report.refreshed} refreshed, ${report.fresh} fresh, ` +
      `${report.dead.length} dead, ${report.failed.length} failed`,
  );
  for (const { id, concurCode } of report.dead) console.error(`dead: ${id} (Concur code ${concurCode}): onboard it again`);
  if (report.dead.length + report.failed.length > 0) process.exitCode = 1;
} catch (e) {
  if (!(e instanceof ConcurError)) throw e;
  console.error(`${e.code}: ${e.message}`);
  process.exitCode = 1;
} finally {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
