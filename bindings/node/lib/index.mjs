// The ES module entry of concur-native: the CommonJS API of ./index.js as named exports,
// listed one by one (Node cannot find computed CommonJS exports by itself). The names are
// exactly the values lib/index.d.ts declares: test/esm.test.mjs fails when they drift apart.
import concur from './index.js';

export const {
  nativeToken,
  Client,
  TokenManager,
  TokenVault,
  authorizationUrl,
  parseCallback,
  oauth2AuthorizeUrl,
  parseOauth2Callback,
  Token,
  OAuth2Token,
  LegacyExchange,
  ConcurError,
  AbortError,
  CODES,
  version,
  DEFAULT_BASE_URL,
} = concur;

/** The whole CommonJS module, for `import concur from 'concur-native'`. */
export default concur;
