import { EventEmitter } from 'node:events';

/** The class of a failure: the same names as the core's error classes. */
export type ConcurErrorCode =
  | 'UNAUTHORIZED'
  | 'HTTP_STATUS'
  | 'TIMEOUT'
  | 'CONNECT'
  | 'TLS'
  | 'PROTOCOL'
  | 'INVALID_ARGUMENT'
  /** A token store (file, Redis) could not be read or written; the stored token is left as it was. */
  | 'STORE'
  /** The call needs a part of the Rust core (a Cargo feature, named in the message) this build lacks; the published addon has them all. */
  | 'NOT_BUILT_IN'
  /** A token vault holds no connection by that ID (never added, or removed); nothing was sent. */
  | 'UNKNOWN_CONNECTION'
  /** A bug inside the addon was caught (a Rust panic); please report it. */
  | 'INTERNAL';

/** Every code, in a stable order. */
export declare const CODES: readonly ConcurErrorCode[];

export interface NativeTokenOptions {
  /** The application's consumer key, sent as X-ConsumerKey. */
  consumerKey: string;
  /** The user's login ID; must not contain ':'. */
  loginId: string;
  /** The user's password; null or absent for an account without one. */
  password?: string | null;
  /** Base URL; defaults to https://www.concursolutions.com. https only (http for loopback). */
  baseUrl?: string;
  /** Deadline for the whole exchange in milliseconds (default 30000). */
  timeoutMs?: number;
  /** A PEM file of CA certificates to trust in addition to Mozilla's roots. */
  caFile?: string;
  /**
   * An HTTP(S) proxy URL for every request; without it, HTTPS_PROXY/ALL_PROXY/NO_PROXY (and
   * their lower-case forms) are honoured as curl does, loopback hosts always going direct.
   */
  proxy?: string;
  /** Text appended to the User-Agent header. */
  userAgentSuffix?: string;
  /**
   * Whether the proxy environment variables are honoured when no proxy is set (default true);
   * they are read when the client (or the one-shot call) is built. A SOCKS or malformed one is
   * an INVALID_ARGUMENT error naming the variable.
   */
  proxyFromEnv?: boolean | null;
  /**
   * The root certificates to trust: Mozilla's (default), the OS store (on Linux SSL_CERT_FILE /
   * SSL_CERT_DIR when set, else the system bundle; none readable is INVALID_ARGUMENT), or both.
   * caFile adds to any of them.
   */
  trustStore?: 'mozilla' | 'os' | 'both' | null;
  /** Aborting rejects the call at once with an AbortError; already aborted, nothing is sent. */
  signal?: AbortSignal;
}

/** The options every Client method takes last. */
export interface CallOptions {
  /** Aborting rejects the call at once with an AbortError; already aborted, nothing is sent. */
  signal?: AbortSignal;
}

/** An access token and what came with it. inspect() and JSON.stringify() mask the secrets. */
export declare class Token {
  private constructor();
  /** The access token, for `Authorization: OAuth {token}`. */
  readonly token: string;
  readonly refreshToken: string | null;
  /** The expiry exactly as Concur wrote it (`6/1/2014 8:00:00 AM`, UTC). */
  readonly expirationDate: string | null;
  /** The expiry, or null when Concur's text could not be read. */
  readonly expiresAt: Date | null;
  /** The data-centre base URL for later calls. */
  readonly instanceUrl: string | null;
  toJSON(): {
    token: '***';
    refreshToken: '***' | null;
    expirationDate: string | null;
    expiresAt: Date | null;
    instanceUrl: string | null;
  };
}

/** Every failure of this package. No field ever holds the password or the token. */
export declare class ConcurError extends Error {
  readonly name: 'ConcurError';
  readonly code: ConcurErrorCode;
  /** The HTTP status, when an answer arrived. */
  readonly statusCode: number | null;
  /** The Message of Concur's error document, when the answer was one. */
  readonly concurMessage: string | null;
  /** The Id of Concur's error document: quote it to Concur support. */
  readonly errorId: string | null;
  /** The current API's numeric code (5 wrong credentials, 16 other data centre, 108 dead refresh token, …). */
  readonly concurCode: number | null;
  /** The current API's OAuth error (`invalid_grant`, `invalid_client`, …). */
  readonly oauthError: string | null;
  /** The data centre a code 16 answer named. */
  readonly geolocation: string | null;
  /** The exchange's concur-correlationid: quote it to Concur support. */
  readonly correlationId: string | null;
}

/**
 * The rejection of a call whose AbortSignal fired, like Node's own. A call that had not started
 * is never sent; one already running finishes on its own thread (within its deadline) and its
 * result is discarded. `cause` is the signal's reason.
 */
export declare class AbortError extends Error {
  readonly name: 'AbortError';
  readonly code: 'ABORT_ERR';
}

/**
 * Obtains an access token with Concur's Native Flow. The network call runs on the addon's own
 * threads, neither on the JS thread nor on libuv's pool. Rejects with a ConcurError (an
 * AbortError when `signal` fires); throws a TypeError at once for an argument of the wrong type.
 * A string that is not well-formed Unicode (a lone surrogate) is an INVALID_ARGUMENT rejection.
 */
export declare function nativeToken(options: NativeTokenOptions): Promise<Token>;

/** Connection options of a Client: those of nativeToken() without the credentials, and more. */
export interface ClientOptions
  extends Omit<NativeTokenOptions, 'consumerKey' | 'loginId' | 'password' | 'signal'> {
  /**
   * More hosts trusted as data centres (names, matched exactly, case-insensitively): a code 16
   * answer or a geolocation naming one is followed. `*.concursolutions.com` is always trusted,
   * loopback when the call went to loopback; anything else is refused and nothing is sent there.
   */
  trustedHosts?: string[] | null;
  /** Resends after 429/502/503/504 within the deadline (default 2, at most 10; 0: none). */
  retries?: number | null;
  /** Sent as concur-correlationid instead of a fresh UUID per request. */
  correlationId?: string | null;
}

/** What every current-API grant takes: the application's identity, and where to send it. */
export interface AppCredentials extends CallOptions {
  clientId: string;
  clientSecret: string;
  /** The host to send the call to (a stored geolocation); default: the client's, else Concur's. */
  baseUrl?: string | null;
}

export interface PasswordGrantOptions extends AppCredentials {
  username: string;
  password: string;
  /** Scopes, space separated; absent for the application's. */
  scope?: string | null;
}

export interface CompanyGrantOptions extends AppCredentials {
  /** App Center's company UUID. */
  companyId: string;
  /** App Center's request token (valid 24 hours). */
  requestToken: string;
}

export interface RefreshGrantOptions extends AppCredentials {
  refreshToken: string;
  scope?: string | null;
}

export interface AuthorizationCodeGrantOptions extends AppCredentials {
  code: string;
  /** Exactly as given to oauth2AuthorizeUrl(). */
  redirectUri: string;
}

export interface SendOtpOptions extends AppCredentials {
  email: string;
  name?: string | null;
  company?: string | null;
  link?: string | null;
}

export interface OtpGrantOptions extends AppCredentials {
  email: string;
  otp: string;
  scope?: string | null;
}

export interface RevokeConnectionsOptions extends CallOptions {
  /** An access token of the user whose connections go. */
  accessToken: string;
  baseUrl?: string | null;
}

export interface ExchangeLegacyRefreshTokenOptions extends CallOptions {
  /** A client-credentials access token of the new application. */
  appAccessToken: string;
  /** The legacy application's consumer key. */
  oldConsumerKey: string;
  oldRefreshToken: string;
  /** The new application's client secret. */
  clientSecret: string;
  /** Ask for a company token (the legacy token must be an administrator's). */
  company?: boolean | null;
  baseUrl?: string | null;
}

/**
 * A token of the current API (oauth2/v0). Immutable; inspect() and JSON.stringify() mask the
 * access, refresh and id tokens. After a refresh, store the new refreshToken and geolocation.
 */
export declare class OAuth2Token {
  private constructor();
  /** For `Authorization: Bearer {accessToken}`. */
  readonly accessToken: string;
  readonly tokenType: string;
  /** A fresh Date each read, or null. */
  readonly expiresAt: Date | null;
  /** Null for client credentials. */
  readonly refreshToken: string | null;
  readonly refreshExpiresAt: Date | null;
  /** Space separated. */
  readonly scope: string | null;
  /** The user's data centre, checked to be trusted: send refreshes and API calls there. */
  readonly geolocation: string | null;
  readonly idToken: string | null;
  /** The id_token's `sub`, read without verifying the signature. */
  readonly subject: string | null;
  /** 'user' or 'company', read without verifying the signature. */
  readonly principalType: string | null;
  readonly correlationId: string | null;
  toJSON(): {
    accessToken: '***';
    tokenType: string;
    expiresAt: Date | null;
    refreshToken: '***' | null;
    refreshExpiresAt: Date | null;
    scope: string | null;
    geolocation: string | null;
    idToken: '***' | null;
    subject: string | null;
    principalType: string | null;
    correlationId: string | null;
  };
}

/** The current API's refresh token for a legacy one. inspect() and JSON mask the refresh token. */
export declare class LegacyExchange {
  private constructor();
  readonly refreshToken: string;
  readonly createdAt: Date | null;
  readonly expiresAt: Date | null;
  readonly scopes: string[];
  /** A JSON text naming the principal type (`ptype`). */
  readonly context: string | null;
  readonly correlationId: string | null;
  toJSON(): {
    refreshToken: '***';
    createdAt: Date | null;
    expiresAt: Date | null;
    scopes: string[];
    context: string | null;
    correlationId: string | null;
  };
}

/**
 * A reusable client: options checked once (a ConcurError is thrown at once when they are
 * unusable), TLS connections kept alive between calls. For refresh and revocation, point
 * baseUrl at the token's instanceUrl.
 */
export declare class Client {
  constructor(options?: ClientOptions);
  nativeToken(
    consumerKey: string,
    loginId: string,
    password?: string | null,
    options?: CallOptions,
  ): Promise<Token>;
  /** Keeps the given refresh token when Concur's answer carries none. */
  refreshToken(
    clientId: string,
    clientSecret: string,
    refreshToken: string,
    options?: CallOptions,
  ): Promise<Token>;
  /** The code of a Web-flow callback, an App Center listener call or an Auto-Connect request. */
  exchangeCode(clientId: string, clientSecret: string, code: string, options?: CallOptions): Promise<Token>;
  /** Needs a Web Services Administrator's access token. */
  revokeToken(adminAccessToken: string, token: string, options?: CallOptions): Promise<void>;
  revokeUserTokens(
    adminAccessToken: string,
    consumerKey: string,
    loginId: string,
    options?: CallOptions,
  ): Promise<void>;

  // The current API (oauth2/v0): one options object each; code 16 is followed once to a
  // trusted host. Wrong types throw a TypeError at once; unusable strings reject with
  // INVALID_ARGUMENT; nothing is sent in either case.
  /** A user's token for their username and password. */
  passwordGrant(options: PasswordGrantOptions): Promise<OAuth2Token>;
  /** A company token for App Center's company ID and request token. */
  companyGrant(options: CompanyGrantOptions): Promise<OAuth2Token>;
  /** A new token for a refresh token (rotated: store the answer's). Never retried once sent. */
  refreshGrant(options: RefreshGrantOptions): Promise<OAuth2Token>;
  /** The application's own token (no refresh token). */
  clientCredentialsGrant(options: AppCredentials): Promise<OAuth2Token>;
  /** Trades an authorization-code callback's code (single-use). */
  authorizationCodeGrant(options: AuthorizationCodeGrantOptions): Promise<OAuth2Token>;
  /** Emails the user a one-time password. */
  sendOtp(options: SendOtpOptions): Promise<void>;
  /** A user's token for the one-time password sendOtp() emailed. */
  otpGrant(options: OtpGrantOptions): Promise<OAuth2Token>;
  /** Revokes every refresh token the user gave this application. */
  revokeConnections(options: RevokeConnectionsOptions): Promise<void>;
  /** Trades a legacy refresh token for one of the current API. */
  exchangeLegacyRefreshToken(options: ExchangeLegacyRefreshTokenOptions): Promise<LegacyExchange>;
}

interface TokenManagerBase {
  client: Client;
  clientId: string;
  clientSecret: string;
  /** A file path (shared by the processes of a machine) or a redis:// URL (with redisKey). */
  store?: string | null;
  /** The key of a Redis store. */
  redisKey?: string | null;
  /**
   * The refresh window: inside it (this many seconds before expiry, default 300) callers keep
   * the current token while one refresh runs ahead in the background.
   */
  margin?: number | null;
  /**
   * No token valid for fewer seconds than this is handed out: callers wait for the refresh
   * (default 30). Must be below margin (else INVALID_ARGUMENT); both at most a day.
   */
  floor?: number | null;
  /**
   * Seals the stored token (AES-256-GCM): 32 bytes, or their base64 text; an array rotates
   * keys (the first seals, all open). A wrong key is a STORE error; a bad one INVALID_ARGUMENT.
   */
  storeKey?: Uint8Array | string | ReadonlyArray<Uint8Array | string> | null;
  /** Refuse a plain-text stored token instead of reading it and sealing it at the next save. */
  requireSealed?: boolean | null;
}

/** Where a TokenManager starts when its store holds nothing: a refresh token, or a grant. */
export type TokenManagerOptions = TokenManagerBase &
  (
    | { refreshToken: string; geolocation?: string | null; grant?: undefined }
    | { grant: 'password'; username: string; password: string; refreshToken?: undefined }
    | { grant: 'company'; companyId: string; requestToken: string; refreshToken?: undefined }
    | { grant: 'clientCredentials'; refreshToken?: undefined }
  );

/** One refresh attempt, as a TokenManager's listeners get it (frozen; no secret in it). */
export interface RefreshEvent {
  /** Refreshed here, taken from the store (another holder refreshed), failed (tried again), or Concur's verdict. */
  readonly outcome: 'refreshed' | 'from_store' | 'failed' | 'dead' | 'expiring';
  /** No token yet, inside the window (refreshed ahead), below the floor, invalidated, or a vault's sweep. */
  readonly trigger: 'absent' | 'ahead' | 'expired' | 'invalidated' | 'keep_alive';
  /** The grant sent, or null when nothing was sent. */
  readonly grant: 'refresh_token' | 'password' | 'client_credentials' | null;
  /** How long the attempt took, store included. */
  readonly durationMs: number;
  /** When the attempt ended. */
  readonly at: Date;
  /** The new access token's expiry, on success. */
  readonly expiresAt: Date | null;
  /** The new refresh token's expiry, on success when Concur said it. */
  readonly refreshExpiresAt: Date | null;
  /** The failure (code, concurCode, statusCode, correlationId, …), or null. */
  readonly error: ConcurError | null;
  /** Failures in a row, this one included (0 on success). */
  readonly failures: number;
  /** When the next attempt may start, for a failure that is tried again. */
  readonly retryAt: Date | null;
  /** The connection the event is about, when a keeper holds several; null for a TokenManager. */
  readonly connection: string | null;
  /** For an 'expiring' warning (a TokenVault's), the horizon crossed in seconds; else null. */
  readonly horizon: number | null;
}

/** A TokenManager's events: each listener gets one RefreshEvent. */
export type TokenManagerEventName = 'refresh' | 'refreshFailed' | 'dead';

/** Where a TokenManager stands (a snapshot; no secret in it). */
export interface TokenManagerStatus {
  /** Nothing wrong since the last refresh, attempts failing and tried again, or Concur's verdict. */
  state: 'active' | 'failing' | 'dead';
  /** The access token's expiry, when one is held. */
  expiresAt: Date | null;
  /** The refresh token's expiry, when known. */
  refreshExpiresAt: Date | null;
  /** When the last refresh (or read from the store) ended. */
  lastRefresh: Date | null;
  /** The last failure, until a refresh succeeds. */
  lastError: ConcurError | null;
  /** Failures in a row. */
  failures: number;
  /** When the next attempt may start, while failing. */
  nextAttempt: Date | null;
  /** Refreshes made by this manager. */
  refreshCount: number;
  /** Whether a refresh runs now. */
  refreshing: boolean;
}

/** The options of a TokenVault. */
export interface TokenVaultOptions {
  clientId: string;
  clientSecret: string;
  /** 'memory:' (default), 'sqlite:///path', 'redis://…', 'rediss://…' or 'postgres://…'. */
  store?: string | null;
  /** The refresh window in seconds, as a TokenManager's. */
  margin?: number | null;
  /** The least validity handed out in seconds, as a TokenManager's. */
  floor?: number | null;
  /** Seals every connection's document, as a TokenManager's storeKey. */
  storeKey?: Uint8Array | string | ReadonlyArray<Uint8Array | string> | null;
  /** Refuse plain-text stored documents. */
  requireSealed?: boolean | null;
  /** How many connections are held in memory (default 10,000; least recently used out). */
  cacheCapacity?: number | null;
  /** When to warn ('expiring') before a refresh token's expiry, in seconds (default 30 and 7 days). */
  horizons?: ReadonlyArray<number> | null;
}

/** How TokenVault.add obtains a connection: exactly one of these. */
export type VaultStart =
  | { refreshToken: string; geolocation?: string | null }
  | { companyId: string; requestToken: string }
  | { username: string; password: string }
  | { code: string; redirectUri: string }
  | { clientCredentials: true };

/** A connection as an operator sees it (frozen; no secret in it). */
export interface ConnectionInfo {
  readonly id: string;
  readonly kind: 'company' | 'user' | 'app';
  readonly subject: string | null;
  readonly geolocation: string | null;
  readonly expiresAt: Date | null;
  readonly refreshExpiresAt: Date | null;
  readonly lastRefresh: Date | null;
  /** 'expiring': its refresh token is within a horizon of its expiry. */
  readonly state: 'active' | 'expiring' | 'failing' | 'dead';
  /** Concur's code that killed it (108, …), when dead. */
  readonly concurCode: number | null;
  /** Transient failures in a row. */
  readonly failures: number;
  /** The smallest horizon the refresh token's expiry is within, in seconds. */
  readonly horizon: number | null;
  readonly addedAt: Date;
}

/** What one keepAlive() did: checked = refreshed + fresh + dead.length + failed.length. */
export interface KeepAliveReport {
  readonly checked: number;
  readonly refreshed: number;
  readonly fresh: number;
  readonly dead: ReadonlyArray<{ readonly id: string; readonly concurCode: number | null }>;
  readonly failed: ReadonlyArray<{ readonly id: string; readonly error: ConcurError }>;
}

/** One connection of a TokenVault shaped like a token manager. */
export interface VaultConnection {
  readonly id: string;
  readonly vault: TokenVault;
  accessToken(options?: CallOptions): Promise<string>;
  token(options?: CallOptions): Promise<OAuth2Token>;
  invalidate(options?: CallOptions): Promise<void>;
  status(options?: CallOptions): Promise<TokenManagerStatus>;
  toJSON(): { id: string };
}

/** A TokenVault's events: each listener gets one RefreshEvent naming its connection. */
export type TokenVaultEventName = TokenManagerEventName | 'expiring';

/**
 * Many Concur connections kept alive in one store, each with the TokenManager's guarantees.
 * Every method runs on the addon's own threads and returns a Promise; an unknown ID rejects
 * with code 'UNKNOWN_CONNECTION', bad input with 'INVALID_ARGUMENT'.
 */
export declare class TokenVault extends EventEmitter {
  constructor(client: Client, options: TokenVaultOptions);
  /** Adds connection `id`; resolves to its first token, stored before it resolves. */
  add(id: string, start: VaultStart, options?: CallOptions & { replace?: boolean }): Promise<OAuth2Token>;
  accessToken(id: string, options?: CallOptions): Promise<string>;
  token(id: string, options?: CallOptions): Promise<OAuth2Token>;
  invalidate(id: string, options?: CallOptions): Promise<void>;
  remove(id: string, options?: CallOptions & { revoke?: boolean }): Promise<void>;
  connection(id: string, options?: CallOptions): Promise<ConnectionInfo>;
  status(id: string, options?: CallOptions): Promise<TokenManagerStatus>;
  /** Every connection in ID order, a page of the store at a time. */
  connections(): AsyncGenerator<ConnectionInfo, void, undefined>;
  /** `within` in seconds (default 30 days), `concurrency` 1 to 64 (default 8). */
  keepAlive(options?: CallOptions & { within?: number; concurrency?: number }): Promise<KeepAliveReport>;
  manager(id: string): VaultConnection;
  on(event: TokenVaultEventName, listener: (event: RefreshEvent) => void): this;
  once(event: TokenVaultEventName, listener: (event: RefreshEvent) => void): this;
  off(event: TokenVaultEventName, listener: (event: RefreshEvent) => void): this;
  addListener(event: TokenVaultEventName, listener: (event: RefreshEvent) => void): this;
  removeListener(event: TokenVaultEventName, listener: (event: RefreshEvent) => void): this;
  prependListener(event: TokenVaultEventName, listener: (event: RefreshEvent) => void): this;
  prependOnceListener(event: TokenVaultEventName, listener: (event: RefreshEvent) => void): this;
  /** {} : a vault holds secrets and shows none. */
  toJSON(): Record<string, never>;
}

/**
 * Keeps one valid access token for every caller: from memory outside the refresh window (no
 * request); inside it, the current token while one refresh runs ahead in the background;
 * below the floor, from the store, else from one refresh shared by every waiting caller. The
 * rotated refresh token is saved before the new access token is handed out (a failed save
 * rejects with STORE). Outages are ridden through with backoff while the token lasts. Options
 * are checked at once; nothing is sent until a call.
 *
 * Emits 'refresh' (refreshed, or taken from the store), 'refreshFailed' (tried again) and
 * 'dead' (Concur's verdict) on the event loop, never 'error': a listener that throws is
 * reported with process.emitWarning and ignored. A manager keeps no process alive.
 */
export declare class TokenManager extends EventEmitter {
  constructor(options: TokenManagerOptions);
  /** A valid access token, for `Authorization: Bearer …`. */
  accessToken(options?: CallOptions): Promise<string>;
  /** The whole valid token: expiry, geolocation (where API calls go), subject, … */
  token(options?: CallOptions): Promise<OAuth2Token>;
  /** Where the manager stands. */
  status(): TokenManagerStatus;
  on(event: TokenManagerEventName, listener: (event: RefreshEvent) => void): this;
  once(event: TokenManagerEventName, listener: (event: RefreshEvent) => void): this;
  off(event: TokenManagerEventName, listener: (event: RefreshEvent) => void): this;
  addListener(event: TokenManagerEventName, listener: (event: RefreshEvent) => void): this;
  removeListener(event: TokenManagerEventName, listener: (event: RefreshEvent) => void): this;
  prependListener(event: TokenManagerEventName, listener: (event: RefreshEvent) => void): this;
  prependOnceListener(event: TokenManagerEventName, listener: (event: RefreshEvent) => void): this;
  /** {} : a manager holds secrets and shows none. */
  toJSON(): Record<string, never>;
}

export interface AuthorizationUrlOptions {
  clientId: string;
  redirectUri: string;
  /** Concur API scopes such as ['EXPRPT', 'LIST']. */
  scopes?: string[];
  /** Drawn from the OS's CSPRNG when absent. */
  state?: string | null;
  baseUrl?: string | null;
}

/** Builds the Web flow's Login URL; keep `state` for parseCallback(). */
export declare function authorizationUrl(options: AuthorizationUrlOptions): { url: string; state: string };

/** The code of a callback URL; throws a ConcurError for a refusal or a mismatched state. */
export declare function parseCallback(callbackUrl: string, expectedState?: string | null): string;

export interface OAuth2AuthorizeUrlOptions {
  clientId: string;
  redirectUri: string;
  /** Scopes such as ['openid', 'user.read']; none: the application's. */
  scopes?: string[] | null;
  /** 128 random bits from the OS's CSPRNG when absent. */
  state?: string | null;
  /** Default: Concur's browser-facing host. */
  baseUrl?: string | null;
}

/** Builds the current API's authorize URL; keep `state` for parseOauth2Callback(). */
export declare function oauth2AuthorizeUrl(options: OAuth2AuthorizeUrlOptions): { url: string; state: string };

/**
 * Reads the URL Concur sent the user back to. With expectedState, a mismatch throws
 * INVALID_ARGUMENT; a refusal throws UNAUTHORIZED with Concur's code as concurCode.
 */
export declare function parseOauth2Callback(
  url: string,
  expectedState?: string | null,
): { code: string; geolocation: string | null };

/** The library's version. */
export declare const version: string;

/** Concur's default base URL. */
export declare const DEFAULT_BASE_URL: string;
