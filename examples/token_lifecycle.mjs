// A token's life with a reusable client: Native Flow, refresh, Web-flow code exchange, revoke.
//
//   CONCUR_CONSUMER_KEY=... CONCUR_LOGIN_ID=... CONCUR_PASSWORD=... CONCUR_CLIENT_SECRET=... \
//   [CONCUR_CALLBACK_URL=... CONCUR_CALLBACK_STATE=...] node examples/token_lifecycle.mjs
//
// CONCUR_CALLBACK_URL is the URL Concur sent a user's browser back to after the Login page
// printed here (an App Center listener's URL works too, without a state).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let concur;
try {
  concur = require('concur-native');
} catch {
  concur = require('../bindings/node');
}
const { Client, ConcurError, authorizationUrl, parseCallback } = concur;
const env = process.env;
const key = env.CONCUR_CONSUMER_KEY;
const secret = env.CONCUR_CLIENT_SECRET;

try {
  const client = new Client({ baseUrl: env.CONCUR_BASE_URL, caFile: env.CONCUR_CA_FILE });
  const first = await client.nativeToken(key, env.CONCUR_LOGIN_ID, env.CONCUR_PASSWORD ?? null);
  console.log(`Native token:    ${first.token} (expires ${first.expiresAt?.toISOString()})`);

  const refreshed = await client.refreshToken(key, secret, first.refreshToken);
  console.log(`Refreshed token: ${refreshed.token} (same refresh token: ${refreshed.refreshToken === first.refreshToken})`);

  const { url } = authorizationUrl({
    clientId: key,
    redirectUri: 'https://partner.example/callback',
    scopes: ['EXPRPT', 'LIST'],
    baseUrl: env.CONCUR_BASE_URL,
  });
  console.log(`Web flow:        send the user to ${url}`);
  if (env.CONCUR_CALLBACK_URL) {
    const code = parseCallback(env.CONCUR_CALLBACK_URL, env.CONCUR_CALLBACK_STATE ?? null);
    console.log(`Exchanged code:  ${(await client.exchangeCode(key, secret, code)).token}`);
  }

  await client.revokeToken(first.token, refreshed.token); // needs an administrator's token
  console.log('Revoke:          done');
} catch (e) {
  if (!(e instanceof ConcurError)) throw e;
  console.error(`${e.code}: ${e.message}`);
  process.exit(1);
}
