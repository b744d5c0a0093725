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

void example;
void classify;
void lifecycle;
void cancellable;
