// The current Authentication API (oauth2/v0) from Node: a user's token from their password,
// a refresh (the refresh token rotates: store the new one), and the authorization-code URL.
//
//   CONCUR_CLIENT_ID=... CONCUR_CLIENT_SECRET=... CONCUR_USERNAME=... CONCUR_PASSWORD=... \
//     node examples/oauth2_password.mjs
//
// Secrets come from the environment, never the command line. CONCUR_BASE_URL and CONCUR_CA_FILE
// are optional (a test server); without a base URL the grant goes to Concur's production host,
// and a user who lives in another data centre is followed there. Refreshes and later API calls
// go to the token's geolocation.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let concur;
try {
  concur = require('concur-native');
} catch {
  concur = require('../bindings/node');
}
const { Client, ConcurError, oauth2AuthorizeUrl } = concur;
const env = process.env;

for (const name of ['CONCUR_CLIENT_ID', 'CONCUR_CLIENT_SECRET', 'CONCUR_USERNAME', 'CONCUR_PASSWORD']) {
  if (!env[name]) {
    console.error(`set ${name}`);
    process.exit(2);
  }
}
const app = { clientId: env.CONCUR_CLIENT_ID, clientSecret: env.CONCUR_CLIENT_SECRET };

try {
  const client = new Client({ baseUrl: env.CONCUR_BASE_URL, caFile: env.CONCUR_CA_FILE, timeoutMs: 10000 });
  const token = await client.passwordGrant({ ...app, username: env.CONCUR_USERNAME, password: env.CONCUR_PASSWORD });
  console.log(`Access token:    ${token.accessToken.slice(0, 24)}…`);
  console.log(`Expires at:      ${token.expiresAt?.toISOString()}`);
  console.log(`Geolocation:     ${token.geolocation}`);
  console.log(`User (sub):      ${token.subject} (${token.principalType})`);
  console.log(`Refresh until:   ${token.refreshExpiresAt?.toISOString()}`);

  const refreshed = await client.refreshGrant({ ...app, refreshToken: token.refreshToken, baseUrl: token.geolocation });
  console.log(`Refreshed:       rotated: ${refreshed.refreshToken !== token.refreshToken}`);
  try {
    await client.refreshGrant({ ...app, refreshToken: token.refreshToken, baseUrl: token.geolocation });
  } catch (e) {
    if (!(e instanceof ConcurError)) throw e;
    console.log(`Old one:         dead now: code ${e.concurCode}`);
  }
  console.log(refreshed); // secrets masked

  const { url, state } = oauth2AuthorizeUrl({
    clientId: app.clientId,
    redirectUri: 'https://partner.example/callback',
    scopes: ['openid', 'user.read'],
  });
  console.log(`Authorize URL:   ${url}`);
  console.log(`(keep the state ${state} for parseOauth2Callback)`);
} catch (e) {
  if (!(e instanceof ConcurError)) throw e;
  if (e.code === 'UNAUTHORIZED') console.error(`Concur refused: ${e.concurMessage ?? e.message} (code ${e.concurCode})`);
  else console.error(`${e.code}: ${e.message} (correlation id ${e.correlationId})`);
  process.exit(1);
}
