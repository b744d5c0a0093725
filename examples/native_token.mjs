// Print a Concur access token obtained with the Native Flow, from Node.
//
//   CONCUR_CONSUMER_KEY=... CONCUR_LOGIN_ID=... CONCUR_PASSWORD=... node examples/native_token.mjs
//
// The password comes from the environment, never the command line. CONCUR_BASE_URL and
// CONCUR_CA_FILE are optional (a regional host, a test server). Run it with `concur-native`
// installed in your project (`npm install concur-native`); in this repository,
// `bash examples/demo.sh node` installs it first.
import { nativeToken, ConcurError } from 'concur-native';

const { CONCUR_CONSUMER_KEY, CONCUR_LOGIN_ID, CONCUR_PASSWORD, CONCUR_BASE_URL, CONCUR_CA_FILE } =
  process.env;
if (!CONCUR_CONSUMER_KEY || !CONCUR_LOGIN_ID) {
  console.error('set CONCUR_CONSUMER_KEY, CONCUR_LOGIN_ID and CONCUR_PASSWORD');
  process.exit(2);
}

try {
  const token = await nativeToken({
    consumerKey: CONCUR_CONSUMER_KEY,
    loginId: CONCUR_LOGIN_ID,
    password: CONCUR_PASSWORD ?? null,
    baseUrl: CONCUR_BASE_URL,
    caFile: CONCUR_CA_FILE,
    userAgentSuffix: 'native_token.mjs',
  });
  console.log('Token:          ', token.token);
  console.log('Expires at:     ', token.expiresAt?.toISOString() ?? '(unknown)');
  console.log('Instance URL:   ', token.instanceUrl ?? '(none)');
  console.log('Use it as:       Authorization: OAuth ' + token.token);
} catch (e) {
  if (!(e instanceof ConcurError)) throw e;
  console.error(`${e.code}: ${e.message}`);
  process.exit(1);
}
