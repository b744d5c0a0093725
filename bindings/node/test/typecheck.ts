// Compiled (never run) by `npm run typecheck`: the shipped declarations must describe the API
// as users write it, and reject what they must not write.
import {
  nativeToken,
  Client,
  authorizationUrl,
  parseCallback,
  ConcurError,
  AbortError,
  Token,
  ConcurErrorCode,
  version,
  DEFAULT_BASE_URL,
  OAuth2Token,
  LegacyExchange,
  TokenManager,
  RefreshEvent,
  TokenManagerStatus,
  TokenVault,
  ConnectionInfo,
  KeepAliveReport,
  VaultConnection,
  oauth2AuthorizeUrl,
  parseOauth2Callback,
} from '..';

async function example(): Promise<string> {
  const token: Token = await nativeToken({
    consumerKey: 'key',
    loginId: 'user@example.com',
    password: process.env.CONCUR_PASSWORD ?? null,
    baseUrl: DEFAULT_BASE_URL,
    timeoutMs: 10_000,
  });
  const expires: Date | null = token.expiresAt;
  const refresh: string | null = token.refreshToken;
  void expires;
  void refresh;
  return `OAuth ${token.token} (${version})`;
}

function classify(e: unknown): ConcurErrorCode | undefined {
  if (e instanceof ConcurError) {
    const status: number | null = e.statusCode;
    void status;
    return e.code;
  }
  return undefined;
}

async function cancellable(): Promise<void> {
  const controller = new AbortController();
  const client = new Client();
  const pending = client.nativeToken('key', 'user', null, { signal: controller.signal });
  controller.abort();
  try {
    await pending;
  } catch (e) {
    if (e instanceof AbortError) {
      const code: 'ABORT_ERR' = e.code;
      void code;
    }
  }
  await nativeToken({ consumerKey: 'k', loginId: 'u', signal: AbortSignal.timeout(1000) });
  await client.refreshToken('k', 's', 'r', { signal: controller.signal });
  await client.exchangeCode('k', 's', 'c', {});
  await client.revokeToken('a', 't', { signal: controller.signal });
  await client.revokeUserTokens('a', 'k', 'u', { signal: controller.signal });
  const internal: ConcurErrorCode = 'INTERNAL';
  void internal;
}

async function lifecycle(callbackUrl: string): Promise<void> {
  const client = new Client({ timeoutMs: 5000 });
  const first: Token = await client.nativeToken('key', 'user', null);
  const refreshed: Token = await client.refreshToken('key', 'secret', first.refreshToken ?? '');
  const { url, state } = authorizationUrl({ clientId: 'key', redirectUri: 'https://p/cb', scopes: ['LIST'] });
  void url;
  const code: string = parseCallback(callbackUrl, state);
  await client.exchangeCode('key', 'secret', code);
  const nothing: void = await client.revokeToken(first.token, refreshed.token);
  void nothing;
}

async function currentApi(callbackUrl: string): Promise<string> {
  const client = new Client({ trustedHosts: ['concur.example.com'], retries: 0, correlationId: 'c-1' });
  const app = { clientId: 'id', clientSecret: 'secret' };
  const signal = new AbortController().signal;
  const token: OAuth2Token = await client.passwordGrant({ ...app, username: 'u', password: 'p', scope: 'openid' });
  const expires: Date | null = token.expiresAt;
  const where: string | null = token.geolocation;
  void expires;
  await client.companyGrant({ ...app, companyId: 'c', requestToken: 'r', signal });
  const refreshed = await client.refreshGrant({ ...app, refreshToken: token.refreshToken ?? '', baseUrl: where });
  await client.clientCredentialsGrant({ ...app, signal });
  const { url, state } = oauth2AuthorizeUrl({ clientId: 'id', redirectUri: 'https://p/cb', scopes: ['openid'] });
  void url;
  const { code, geolocation } = parseOauth2Callback(callbackUrl, state);
  await client.authorizationCodeGrant({ ...app, code, redirectUri: 'https://p/cb', baseUrl: geolocation });
  const sent: void = await client.sendOtp({ ...app, email: 'u@example.com', name: 'U' });
  void sent;
  await client.otpGrant({ ...app, email: 'u@example.com', otp: '123456' });
  await client.revokeConnections({ accessToken: refreshed.accessToken });
  const exchange: LegacyExchange = await client.exchangeLegacyRefreshToken({
    appAccessToken: 'a',
    oldConsumerKey: 'k',
    oldRefreshToken: 'r',
    clientSecret: 's',
    company: true,
  });
  const scopes: string[] = exchange.scopes;
  void scopes;
  const manager = new TokenManager({ client, ...app, refreshToken: 'r', store: '/var/lib/t.json', margin: 300 });
  new TokenManager({ client, ...app, grant: 'password', username: 'u', password: 'p', store: 'redis://h/', redisKey: 'k' });
  new TokenManager({ client, ...app, grant: 'clientCredentials' });
  const whole: OAuth2Token = await manager.token({ signal });
  void whole;
  return manager.accessToken({ signal });
}

function currentErrors(e: ConcurError): number | null {
  const store: ConcurErrorCode = 'STORE';
  void store;
  const id: string | null = e.correlationId;
  const oauth: string | null = e.oauthError;
  void id;
  void oauth;
  void e.geolocation;
  return e.concurCode;
}

// @ts-expect-error grants take one options object
void new Client().passwordGrant('id', 'secret', 'u', 'p');
// @ts-expect-error the password grant needs a password
void new Client().passwordGrant({ clientId: 'i', clientSecret: 's', username: 'u' });
// @ts-expect-error a manager starts from a refresh token or a grant
void new TokenManager({ client: new Client(), clientId: 'i', clientSecret: 's' });
// @ts-expect-error a password start needs the password
void new TokenManager({ client: new Client(), clientId: 'i', clientSecret: 's', grant: 'password', username: 'u' });
// @ts-expect-error OAuth2 tokens are read-only
declare const o: OAuth2Token; o.accessToken = 'x';

// @ts-expect-error a client takes no credentials
void new Client({ consumerKey: 'k' });
// @ts-expect-error consumerKey is required
void nativeToken({ loginId: 'u' });
// @ts-expect-error timeoutMs is a number
void nativeToken({ consumerKey: 'k', loginId: 'u', timeoutMs: '10' });
// @ts-expect-error a signal is an AbortSignal
void new Client().nativeToken('k', 'u', null, { signal: 'stop' });
// @ts-expect-error a client's options take no signal: each call does
void new Client({ signal: new AbortController().signal });
// @ts-expect-error tokens are read-only
declare const t: Token; t.token = 'x';

function observed(client: Client): TokenManagerStatus {
  const app = { client, clientId: 'i', clientSecret: 's', refreshToken: 'r' };
  const m = new TokenManager({ ...app, margin: 600, floor: 60, storeKey: Buffer.alloc(32), requireSealed: true });
  new TokenManager({ ...app, storeKey: ['bmV3', new Uint8Array(32)] });
  m.on('refresh', (e: RefreshEvent) => {
    const at: Date = e.at;
    const expires: Date | null = e.expiresAt;
    void [at, expires, e.trigger === 'ahead', e.grant, e.durationMs];
  })
    .once('refreshFailed', (e) => {
      const retry: Date | null = e.retryAt;
      const code: ConcurErrorCode | undefined = e.error?.code;
      void [retry, code, e.failures];
    })
    .on('dead', (e) => void e.error?.concurCode);
  const s = m.status();
  const state: 'active' | 'failing' | 'dead' = s.state;
  const next: Date | null = s.nextAttempt;
  const count: number = s.refreshCount;
  void [state, next, count, s.lastError?.correlationId, s.refreshing];
  // @ts-expect-error a manager emits no other event
  m.on('error', () => {});
  // @ts-expect-error a listener gets a RefreshEvent
  m.on('refresh', (e: string) => void e);
  // @ts-expect-error events are read-only
  m.on('dead', (e) => { e.failures = 0; });
  // @ts-expect-error floor is a number of seconds
  new TokenManager({ ...app, floor: '30' });
  // @ts-expect-error a store key is bytes or base64 text
  new TokenManager({ ...app, storeKey: 42 });
  return s;
}

void new Client({ proxyFromEnv: false, trustStore: 'os' });
// @ts-expect-error a trust store is one of three names
void new Client({ trustStore: 'system' });

void example;
void classify;
void lifecycle;
void cancellable;
void currentApi;
void currentErrors;
void observed;

async function vaultExample(client: Client): Promise<number> {
  const vault = new TokenVault(client, { clientId: 'i', clientSecret: 's', store: 'sqlite:///var/lib/v.db', cacheCapacity: 100 });
  vault.on('expiring', (e: RefreshEvent) => void e.horizon);
  const first: OAuth2Token = await vault.add('c1', { companyId: 'uuid', requestToken: 't' }, { replace: true });
  void first;
  await vault.add('u1', { refreshToken: 'r', geolocation: 'https://us.api.concursolutions.com' });
  await vault.add('app', { clientCredentials: true });
  const bearer: string = await vault.accessToken('c1');
  void bearer;
  const info: ConnectionInfo = await vault.connection('c1');
  const state: 'active' | 'expiring' | 'failing' | 'dead' = info.state;
  void state;
  for await (const c of vault.connections()) void c.refreshExpiresAt;
  const report: KeepAliveReport = await vault.keepAlive({ within: 30 * 86400, concurrency: 8 });
  const view: VaultConnection = vault.manager('c1');
  await view.invalidate();
  await vault.remove('c1', { revoke: true });
  return report.checked + report.dead.length;
}
void vaultExample;
// @ts-expect-error a start is one of the five shapes
void new TokenVault(new Client(), { clientId: 'i', clientSecret: 's' }).add('x', { companyId: 'c' });
