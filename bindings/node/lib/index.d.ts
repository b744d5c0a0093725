/** The class of a failure: the same names as the core's error classes. */
export type ConcurErrorCode =
  | 'UNAUTHORIZED'
  | 'HTTP_STATUS'
  | 'TIMEOUT'
  | 'CONNECT'
  | 'TLS'
  | 'PROTOCOL'
  | 'INVALID_ARGUMENT'
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
  /** An HTTP(S) proxy URL; environment variables are never read. */
  proxy?: string;
  /** Text appended to the User-Agent header. */
  userAgentSuffix?: string;
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

/** Connection options of a Client: those of nativeToken() without the credentials. */
export type ClientOptions = Omit<NativeTokenOptions, 'consumerKey' | 'loginId' | 'password' | 'signal'>;

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

/** The library's version. */
export declare const version: string;

/** Concur's default base URL. */
export declare const DEFAULT_BASE_URL: string;
