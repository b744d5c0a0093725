'use strict';
// The public API of the concur-native npm package: argument checks, the Token class and the
// ConcurError class, over the raw addon built from ../src (found by ./addon.js: a source build
// beside lib/, else the prebuilt @concur-native/<platform> package).
// The current API (oauth2/v0: OAuth2Token, LegacyExchange, the Client's grant methods) and the
// TokenManager follow the legacy part below; every protocol rule lives in the Rust core.

const { EventEmitter } = require('node:events');
const util = require('node:util');
const binding = require('./addon.js').load().addon;

// A process that ends in the middle of a refresh ahead may lose the refresh token Concur just
// rotated: at exit, wait for any still running (the client's default deadline and a little).
process.once('exit', () => binding.waitForRefreshes(35));

const CODES = Object.freeze([
  'UNAUTHORIZED',
  'HTTP_STATUS',
  'TIMEOUT',
  'CONNECT',
  'TLS',
  'PROTOCOL',
  'INVALID_ARGUMENT',
  'STORE',
  'NOT_BUILT_IN',
  'UNKNOWN_CONNECTION',
  'INTERNAL',
]);

/**
 * Every failure of this package. `code` names its class; no field ever holds a secret.
 * The current API adds Concur's numeric `concurCode` (5, 16, 108, …), the OAuth `oauthError`
 * (`invalid_grant`, …), the `geolocation` a code 16 answer named, and the exchange's
 * `correlationId` (quote it to Concur support).
 */
class ConcurError extends Error {
  constructor(
    message,
    {
      code,
      statusCode = null,
      concurMessage = null,
      errorId = null,
      concurCode = null,
      oauthError = null,
      geolocation = null,
      correlationId = null,
    } = {},
  ) {
    super(message);
    this.name = 'ConcurError';
    this.code = code;
    this.statusCode = statusCode;
    this.concurMessage = concurMessage;
    this.errorId = errorId;
    this.concurCode = concurCode;
    this.oauthError = oauthError;
    this.geolocation = geolocation;
    this.correlationId = correlationId;
  }
}

/**
 * The rejection of a call whose AbortSignal fired: `name` 'AbortError' and `code` 'ABORT_ERR',
 * like Node's own APIs, with the signal's reason as `cause`. A call that had not started is
 * never sent; one already running finishes on its own thread (within its deadline) and its
 * result is discarded.
 */
class AbortError extends Error {
  constructor(message = 'The operation was aborted', options = undefined) {
    super(message, options);
    this.name = 'AbortError';
    this.code = 'ABORT_ERR';
  }
}

function abortError(signal) {
  return new AbortError('The operation was aborted', { cause: signal.reason });
}

/** An access token and what came with it. Immutable; inspect() and JSON mask the secrets. */
class Token {
  #token;
  #refreshToken;
  #expirationDate;
  #expiresAt;
  #instanceUrl;

  /** @internal Built by nativeToken() from the addon's answer. */
  constructor(raw) {
    this.#token = raw.token;
    this.#refreshToken = raw.refreshToken ?? null;
    this.#expirationDate = raw.expirationDate ?? null;
    this.#expiresAt = raw.expiresAt == null ? null : raw.expiresAt * 1000;
    this.#instanceUrl = raw.instanceUrl ?? null;
    Object.freeze(this);
  }

  get token() {
    return this.#token;
  }

  get refreshToken() {
    return this.#refreshToken;
  }

  get expirationDate() {
    return this.#expirationDate;
  }

  /** A fresh Date each time (Dates are mutable), or null when Concur's text was unreadable. */
  get expiresAt() {
    return this.#expiresAt == null ? null : new Date(this.#expiresAt);
  }

  get instanceUrl() {
    return this.#instanceUrl;
  }

  toJSON() {
    return {
      token: '***',
      refreshToken: this.#refreshToken == null ? null : '***',
      expirationDate: this.#expirationDate,
      expiresAt: this.expiresAt,
      instanceUrl: this.#instanceUrl,
    };
  }

  [util.inspect.custom](depth, options, inspect) {
    return `Token ${inspect(this.toJSON(), options)}`;
  }
}

/** Unix seconds (or milliseconds with `scale` 1) as a fresh Date, or null. */
function dateOf(value, scale = 1000) {
  return value == null ? null : new Date(value * scale);
}

/**
 * A token of the current API (oauth2/v0) and what came with it. Immutable; inspect() and
 * JSON.stringify() mask the access, refresh and id tokens. After a refresh, store the new
 * refreshToken and geolocation: Concur may rotate both.
 */
class OAuth2Token {
  #accessToken;
  #tokenType;
  #expiresAt;
  #refreshToken;
  #refreshExpiresAt;
  #scope;
  #geolocation;
  #idToken;
  #subject;
  #principalType;
  #correlationId;

  /** @internal Built from the addon's answer. */
  constructor(raw) {
    this.#accessToken = raw.accessToken;
    this.#tokenType = raw.tokenType;
    this.#expiresAt = raw.expiresAt ?? null;
    this.#refreshToken = raw.refreshToken ?? null;
    this.#refreshExpiresAt = raw.refreshExpiresAt ?? null;
    this.#scope = raw.scope ?? null;
    this.#geolocation = raw.geolocation ?? null;
    this.#idToken = raw.idToken ?? null;
    this.#subject = raw.subject ?? null;
    this.#principalType = raw.principalType ?? null;
    this.#correlationId = raw.correlationId ?? null;
    Object.freeze(this);
  }

  /** The access token, for `Authorization: Bearer {accessToken}`. */
  get accessToken() {
    return this.#accessToken;
  }

  /** The token type Concur named ('Bearer'). */
  get tokenType() {
    return this.#tokenType;
  }

  /** When the access token expires (a fresh Date each time), or null. */
  get expiresAt() {
    return dateOf(this.#expiresAt);
  }

  /** The refresh token (null for client credentials): after a refresh, the one to store. */
  get refreshToken() {
    return this.#refreshToken;
  }

  /** When the refresh token expires, or null. */
  get refreshExpiresAt() {
    return dateOf(this.#refreshExpiresAt);
  }

  /** The granted scopes, space separated, or null. */
  get scope() {
    return this.#scope;
  }

  /** The user's (or company's) data centre, checked to be trusted: send refreshes there. */
  get geolocation() {
    return this.#geolocation;
  }

  /** The id_token (a JWT), or null. */
  get idToken() {
    return this.#idToken;
  }

  /** The id_token's `sub` (a UUID), read without verifying the signature. */
  get subject() {
    return this.#subject;
  }

  /** The id_token's `concur.type` ('user' or 'company'), read without verifying it. */
  get principalType() {
    return this.#principalType;
  }

  /** The concur-correlationid of the exchange that returned this token. */
  get correlationId() {
    return this.#correlationId;
  }

  toJSON() {
    const mask = (v) => (v == null ? null : '***');
    return {
      accessToken: '***',
      tokenType: this.#tokenType,
      expiresAt: this.expiresAt,
      refreshToken: mask(this.#refreshToken),
      refreshExpiresAt: this.refreshExpiresAt,
      scope: this.#scope,
      geolocation: this.#geolocation,
      idToken: mask(this.#idToken),
      subject: this.#subject,
      principalType: this.#principalType,
      correlationId: this.#correlationId,
    };
  }

  [util.inspect.custom](depth, options, inspect) {
    return `OAuth2Token ${inspect(this.toJSON(), options)}`;
  }
}

/**
 * What exchangeLegacyRefreshToken() resolves to: the current API's refresh token for a legacy
 * one. Immutable; inspect() and JSON.stringify() mask the refresh token.
 */
class LegacyExchange {
  #refreshToken;
  #createdMs;
  #expiresMs;
  #scopes;
  #context;
  #correlationId;

  /** @internal Built from the addon's answer. */
  constructor(raw) {
    this.#refreshToken = raw.refreshToken;
    this.#createdMs = raw.createdMs ?? null;
    this.#expiresMs = raw.expiresMs ?? null;
    this.#scopes = raw.scopes ? raw.scopes.split(/\s+/).filter(Boolean) : [];
    this.#context = raw.context ?? null;
    this.#correlationId = raw.correlationId ?? null;
    Object.freeze(this);
  }

  /** The new refresh token: use it with Client.refreshGrant() from now on. */
  get refreshToken() {
    return this.#refreshToken;
  }

  /** When the new refresh token was created, or null. */
  get createdAt() {
    return dateOf(this.#createdMs, 1);
  }

  /** When the new refresh token expires, or null. */
  get expiresAt() {
    return dateOf(this.#expiresMs, 1);
  }

  /** The scopes it carries (a fresh array each time). */
  get scopes() {
    return [...this.#scopes];
  }

  /** Concur's `context`, as sent: a JSON text naming the principal type (`ptype`). */
  get context() {
    return this.#context;
  }

  /** The concur-correlationid of the exchange. */
  get correlationId() {
    return this.#correlationId;
  }

  toJSON() {
    return {
      refreshToken: '***',
      createdAt: this.createdAt,
      expiresAt: this.expiresAt,
      scopes: this.scopes,
      context: this.#context,
      correlationId: this.#correlationId,
    };
  }

  [util.inspect.custom](depth, options, inspect) {
    return `LegacyExchange ${inspect(this.toJSON(), options)}`;
  }
}

const STRING_OPTIONS = ['baseUrl', 'caFile', 'proxy', 'userAgentSuffix'];

function checkObject(where, value) {
  if (value === null || typeof value !== 'object') {
    throw new TypeError(`${where}: options must be an object`);
  }
}

function checkString(where, name, value) {
  if (typeof value !== 'string') throw new TypeError(`${where}: ${name} must be a string`);
}

function checkOptionalString(where, name, value) {
  if (value != null && typeof value !== 'string') {
    throw new TypeError(`${where}: ${name} must be a string or null`);
  }
}

/**
 * Strings with a lone surrogate cannot become UTF-8: the addon would send U+FFFD in its place,
 * a different password. Refused as INVALID_ARGUMENT, quoting the name, never the value.
 */
function checkWellFormed(where, named) {
  for (const [name, value] of Object.entries(named)) {
    const values = Array.isArray(value) ? value : [value];
    if (values.some((v) => typeof v === 'string' && !v.isWellFormed())) {
      throw new ConcurError(
        `invalid argument: ${where}: ${name} is not well-formed Unicode (a lone surrogate); nothing was sent`,
        { code: 'INVALID_ARGUMENT' },
      );
    }
  }
}

/** The AbortSignal of a call's options ({ signal }), checked; undefined when none. */
function callSignal(where, options) {
  if (options === undefined) return undefined;
  checkObject(where, options);
  const { signal } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`${where}: options.signal must be an AbortSignal`);
  }
  return signal;
}

/**
 * Starts a call unless `signal` has already fired (then nothing is sent), and settles its
 * outcome. An abort rejects at once with an AbortError: a call still waiting for one of the
 * addon's threads is then never sent; one already running ends within its deadline and its
 * outcome is discarded. `start(callId)` passes the id on to the addon.
 */
function call(signal, start, settleWith = settle) {
  if (signal?.aborted) return Promise.reject(abortError(signal));
  const callId = signal ? binding.newCallId() : undefined;
  let settled;
  try {
    settled = start(callId).then(settleWith);
  } catch (e) {
    return Promise.reject(e);
  }
  if (!signal) return settled;
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      binding.cancelCall(callId);
      reject(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    settled.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The connection options shared by nativeToken() and new Client(). */
function connectionOptions(where, options) {
  for (const name of STRING_OPTIONS) {
    if (options[name] !== undefined) checkString(where, `options.${name}`, options[name]);
  }
  if (options.timeoutMs !== undefined && typeof options.timeoutMs !== 'number') {
    throw new TypeError(`${where}: options.timeoutMs must be a number`);
  }
  const raw = { timeoutMs: options.timeoutMs };
  for (const name of STRING_OPTIONS) raw[name] = options[name];
  const { proxyFromEnv, trustStore } = options;
  if (proxyFromEnv != null && typeof proxyFromEnv !== 'boolean') {
    throw new TypeError(`${where}: options.proxyFromEnv must be a boolean`);
  }
  raw.proxyFromEnv = proxyFromEnv ?? undefined;
  checkOptionalString(where, 'options.trustStore', trustStore);
  raw.trustStore = trustStore ?? undefined;
  return raw;
}

function checkTypes(options) {
  const where = 'nativeToken(options)';
  checkObject(where, options);
  checkString(where, 'options.consumerKey', options.consumerKey);
  checkString(where, 'options.loginId', options.loginId);
  checkOptionalString(where, 'options.password', options.password);
  return connectionOptions(where, options);
}

function concurError(raw) {
  const { message, ...fields } = raw;
  return new ConcurError(message, fields);
}

/**
 * Turns a RawOutcome into its value (a Token, an OAuth2Token, a LegacyExchange, a manager's
 * access token, or nothing after a revocation), or a thrown ConcurError.
 */
function settle(outcome) {
  if (outcome.error) throw concurError(outcome.error);
  if (outcome.bearer !== undefined) return outcome.bearer;
  if (outcome.oauth2) return new OAuth2Token(outcome.oauth2);
  if (outcome.legacy) return new LegacyExchange(outcome.legacy);
  return outcome.token ? new Token(outcome.token) : undefined;
}

/**
 * Obtains an access token with Concur's Native Flow. Resolves to a Token; rejects with a
 * ConcurError (or an AbortError when options.signal fires). Throws a TypeError at once only
 * for an argument of the wrong type.
 */
function nativeToken(options) {
  const where = 'nativeToken(options)';
  const raw = checkTypes(options);
  const signal = callSignal(where, { signal: options.signal });
  raw.consumerKey = options.consumerKey;
  raw.loginId = options.loginId;
  raw.password = options.password ?? undefined;
  return call(signal, (callId) => {
    checkWellFormed(where, raw);
    return binding.nativeToken(raw, callId);
  });
}

/** Reads a Client's raw addon object (set by Client's static block). */
let rawClientOf;

/**
 * The named string fields of an options object, checked: `required` must be strings,
 * `optional` strings, null or absent. Throws a TypeError naming the field, never its value.
 */
function pick(where, options, required, optional) {
  checkObject(where, options);
  const raw = {};
  for (const name of required) {
    checkString(where, `options.${name}`, options[name]);
    raw[name] = options[name];
  }
  for (const name of optional) {
    checkOptionalString(where, `options.${name}`, options[name]);
    raw[name] = options[name] ?? undefined;
  }
  return raw;
}

/**
 * A reusable client: options checked once, TLS connections kept alive between calls, shared
 * freely between concurrent calls. Every method returns a Promise and runs on the addon's own
 * threads (not libuv's pool); each takes a last optional `{ signal }` (an AbortSignal).
 * For refresh and revocation, point baseUrl at the token's instanceUrl.
 */
class Client {
  #raw;

  static {
    rawClientOf = (client) => client.#raw;
  }

  constructor(options = {}) {
    const where = 'new Client(options)';
    checkObject(where, options);
    const raw = connectionOptions(where, options);
    const { trustedHosts, retries, correlationId } = options;
    if (trustedHosts != null) {
      if (!Array.isArray(trustedHosts) || !trustedHosts.every((h) => typeof h === 'string')) {
        throw new TypeError(`${where}: options.trustedHosts must be an array of strings`);
      }
      raw.trustedHosts = [...trustedHosts];
    }
    if (retries != null) {
      if (typeof retries !== 'number') throw new TypeError(`${where}: options.retries must be a number`);
      raw.retries = retries;
    }
    checkOptionalString(where, 'options.correlationId', correlationId);
    raw.correlationId = correlationId ?? undefined;
    checkWellFormed(where, raw);
    this.#raw = new binding.RawClient(raw);
    const error = this.#raw.creationError();
    if (error) throw concurError(error);
    Object.freeze(this);
  }

  nativeToken(consumerKey, loginId, password, options) {
    const where = 'Client.nativeToken(consumerKey, loginId, password, options)';
    checkString(where, 'consumerKey', consumerKey);
    checkString(where, 'loginId', loginId);
    checkOptionalString(where, 'password', password);
    const signal = callSignal(where, options);
    return call(signal, (callId) => {
      checkWellFormed(where, { consumerKey, loginId, password });
      return this.#raw.nativeToken(consumerKey, loginId, password ?? undefined, callId);
    });
  }

  refreshToken(clientId, clientSecret, refreshToken, options) {
    const where = 'Client.refreshToken(clientId, clientSecret, refreshToken, options)';
    checkString(where, 'clientId', clientId);
    checkString(where, 'clientSecret', clientSecret);
    checkString(where, 'refreshToken', refreshToken);
    const signal = callSignal(where, options);
    return call(signal, (callId) => {
      checkWellFormed(where, { clientId, clientSecret, refreshToken });
      return this.#raw.refreshToken(clientId, clientSecret, refreshToken, callId);
    });
  }

  exchangeCode(clientId, clientSecret, code, options) {
    const where = 'Client.exchangeCode(clientId, clientSecret, code, options)';
    checkString(where, 'clientId', clientId);
    checkString(where, 'clientSecret', clientSecret);
    checkString(where, 'code', code);
    const signal = callSignal(where, options);
    return call(signal, (callId) => {
      checkWellFormed(where, { clientId, clientSecret, code });
      return this.#raw.exchangeCode(clientId, clientSecret, code, callId);
    });
  }

  revokeToken(adminAccessToken, token, options) {
    const where = 'Client.revokeToken(adminAccessToken, token, options)';
    checkString(where, 'adminAccessToken', adminAccessToken);
    checkString(where, 'token', token);
    const signal = callSignal(where, options);
    return call(signal, (callId) => {
      checkWellFormed(where, { adminAccessToken, token });
      return this.#raw.revokeToken(adminAccessToken, token, callId);
    });
  }

  revokeUserTokens(adminAccessToken, consumerKey, loginId, options) {
    const where = 'Client.revokeUserTokens(adminAccessToken, consumerKey, loginId, options)';
    checkString(where, 'adminAccessToken', adminAccessToken);
    checkString(where, 'consumerKey', consumerKey);
    checkString(where, 'loginId', loginId);
    const signal = callSignal(where, options);
    return call(signal, (callId) => {
      checkWellFormed(where, { adminAccessToken, consumerKey, loginId });
      return this.#raw.revokeUserTokens(adminAccessToken, consumerKey, loginId, callId);
    });
  }

  // --- The current API (oauth2/v0). Each method takes one options object; `baseUrl` sends
  // the call to that host (a stored geolocation), else it goes to the client's baseUrl when
  // set, else to the host Concur documents for it. Code 16 is followed once to a trusted host.

  /** A user's token for their username and password (`grant_type=password`). */
  passwordGrant(options) {
    return this.#grant('passwordGrant', 'password', options, ['username', 'password'], ['scope']);
  }

  /** A company token for App Center's company ID and request token (`credtype=authtoken`). */
  companyGrant(options) {
    return this.#grant('companyGrant', 'company', options, ['companyId', 'requestToken'], []);
  }

  /** A new token for a refresh token; store the answer's refreshToken (it rotates). */
  refreshGrant(options) {
    return this.#grant('refreshGrant', 'refreshToken', options, ['refreshToken'], ['scope']);
  }

  /** The application's own token, without a refresh token. */
  clientCredentialsGrant(options) {
    return this.#grant('clientCredentialsGrant', 'clientCredentials', options, [], []);
  }

  /** Trades an authorization-code callback's code (single-use) for a token. */
  authorizationCodeGrant(options) {
    return this.#grant('authorizationCodeGrant', 'authorizationCode', options, ['code', 'redirectUri'], []);
  }

  /** A user's token for the one-time password sendOtp() emailed them (`grant_type=otp`). */
  otpGrant(options) {
    return this.#grant('otpGrant', 'otp', options, ['email', 'otp'], ['scope']);
  }

  /** Emails the user a one-time password; resolves to undefined once Concur says it went. */
  sendOtp(options) {
    const where = 'Client.sendOtp(options)';
    const raw = pick(where, options, ['clientId', 'clientSecret', 'email'], ['name', 'company', 'link', 'baseUrl']);
    const signal = callSignal(where, options);
    return call(signal, (callId) => {
      checkWellFormed(where, raw);
      return this.#raw.sendOtp(raw, callId);
    });
  }

  /** Revokes every refresh token the user gave this application; send it to their geolocation. */
  revokeConnections(options) {
    const where = 'Client.revokeConnections(options)';
    const raw = pick(where, options, ['accessToken'], ['baseUrl']);
    const signal = callSignal(where, options);
    return call(signal, (callId) => {
      checkWellFormed(where, raw);
      return this.#raw.revokeConnections(raw.accessToken, raw.baseUrl, callId);
    });
  }

  /**
   * Trades a legacy refresh token for one of the current API. `appAccessToken` is a
   * client-credentials token of the new application; `company: true` asks for a company token.
   */
  exchangeLegacyRefreshToken(options) {
    const where = 'Client.exchangeLegacyRefreshToken(options)';
    const raw = pick(
      where,
      options,
      ['appAccessToken', 'oldConsumerKey', 'oldRefreshToken', 'clientSecret'],
      ['baseUrl'],
    );
    if (options.company != null && typeof options.company !== 'boolean') {
      throw new TypeError(`${where}: options.company must be a boolean`);
    }
    const signal = callSignal(where, options);
    return call(signal, (callId) => {
      checkWellFormed(where, raw);
      return this.#raw.exchangeLegacyRefreshToken({ ...raw, company: options.company === true }, callId);
    });
  }

  #grant(method, grant, options, required, optional) {
    const where = `Client.${method}(options)`;
    const raw = pick(where, options, ['clientId', 'clientSecret', ...required], [...optional, 'baseUrl']);
    const signal = callSignal(where, options);
    return call(signal, (callId) => {
      checkWellFormed(where, raw);
      return this.#raw.oauth2Token({ ...raw, grant }, callId);
    });
  }

  [util.inspect.custom]() {
    return 'Client {}';
  }
}

/**
 * Builds the Web flow's Login URL. Returns { url, state }: keep state (drawn from the OS's
 * CSPRNG when not given) for parseCallback(). Synchronous; throws a ConcurError on bad input.
 */
function authorizationUrl({ clientId, redirectUri, scopes = [], state, baseUrl } = {}) {
  const where = 'authorizationUrl(options)';
  checkString(where, 'options.clientId', clientId);
  checkString(where, 'options.redirectUri', redirectUri);
  checkOptionalString(where, 'options.state', state);
  checkOptionalString(where, 'options.baseUrl', baseUrl);
  if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string')) {
    throw new TypeError(`${where}: options.scopes must be an array of strings`);
  }
  checkWellFormed(where, { clientId, redirectUri, scopes, state, baseUrl });
  const raw = binding.authorizationUrl(baseUrl ?? undefined, clientId, scopes, redirectUri, state ?? undefined);
  if (raw.error) throw concurError(raw.error);
  return { url: raw.url, state: raw.state };
}

/**
 * Returns the code of a Web-flow callback URL (or an App Center listener call). With
 * expectedState, a different state throws (INVALID_ARGUMENT); an error= callback throws
 * (UNAUTHORIZED). Synchronous.
 */
function parseCallback(callbackUrl, expectedState) {
  const where = 'parseCallback(callbackUrl, expectedState)';
  checkString(where, 'callbackUrl', callbackUrl);
  checkOptionalString(where, 'expectedState', expectedState);
  checkWellFormed(where, { callbackUrl, expectedState });
  const raw = binding.parseCallback(callbackUrl, expectedState ?? undefined);
  if (raw.error) throw concurError(raw.error);
  return raw.code;
}

const MANAGER_STARTS = Object.freeze({
  password: ['username', 'password'],
  company: ['companyId', 'requestToken'],
  clientCredentials: [],
});

/** The event each outcome of a refresh attempt is emitted as. */
const MANAGER_EVENTS = Object.freeze({
  refreshed: 'refresh',
  from_store: 'refresh',
  failed: 'refreshFailed',
  dead: 'dead',
  expiring: 'expiring',
});

/**
 * The `storeKey` option as raw keys: a Buffer/Uint8Array (32 bytes), a base64 string, or an
 * array of them. Lengths and base64 are the core's to check (INVALID_ARGUMENT naming
 * storeKey, never quoting it); a value of another type is a TypeError.
 */
function storeKeys(where, storeKey) {
  if (storeKey == null) return undefined;
  const keys = Array.isArray(storeKey) ? storeKey : [storeKey];
  return keys.map((key) => {
    if (typeof key === 'string') return { base64: key };
    if (key instanceof Uint8Array) return { bytes: key };
    throw new TypeError(
      `${where}: options.storeKey must be a Buffer/Uint8Array, a base64 string, or an array of them`,
    );
  });
}

/** Unix seconds or milliseconds (`scale` 1) as a Date, or null. */
const dateOrNull = (value, scale = 1000) => (value == null ? null : new Date(value * scale));

/** A RawEvent as the frozen event object listeners get. */
function managerEvent(raw) {
  return Object.freeze({
    outcome: raw.outcome,
    trigger: raw.trigger,
    grant: raw.grant ?? null,
    durationMs: raw.durationMs,
    at: new Date(raw.atMs),
    expiresAt: dateOrNull(raw.expiresAt),
    refreshExpiresAt: dateOrNull(raw.refreshExpiresAt),
    error: raw.error ? concurError(raw.error) : null,
    failures: raw.failures,
    retryAt: dateOrNull(raw.retryAtMs, 1),
    connection: raw.connection ?? null,
    horizon: raw.horizonSeconds ?? null,
  });
}

/** Reports a listener that threw (or rejected) and goes on: listeners never break a refresh. */
function listenerFailed(name, error) {
  const what = error instanceof Error ? `${error.name}: ${error.message}` : typeof error;
  process.emitWarning(`a TokenManager or TokenVault '${name}' listener failed and was ignored (${what})`, {
    type: 'ConcurNativeWarning',
    code: 'CONCUR_NATIVE_LISTENER',
  });
}

/**
 * The function the addon calls (on the event loop) with each RawEvent. It holds the manager
 * weakly, so that a manager nobody uses is collected (and its addon side freed). Each listener
 * is called on its own: one that throws, or returns a promise that rejects, is reported with
 * process.emitWarning and the others still run.
 */
function eventRelay(managerRef) {
  return (raw) => {
    try {
      const manager = managerRef.deref();
      const name = MANAGER_EVENTS[raw.outcome];
      if (manager === undefined || name === undefined || manager.listenerCount(name) === 0) return;
      const event = managerEvent(raw);
      for (const listener of manager.rawListeners(name)) {
        try {
          const result = Reflect.apply(listener, manager, [event]);
          if (typeof result?.then === 'function') result.then(undefined, (e) => listenerFailed(name, e));
        } catch (e) {
          listenerFailed(name, e);
        }
      }
    } catch (e) {
      listenerFailed('event', e);
    }
  };
}

/** A RawStatus as the plain status object. */
function managerStatus(raw) {
  return {
    state: raw.state,
    expiresAt: dateOrNull(raw.expiresAt),
    refreshExpiresAt: dateOrNull(raw.refreshExpiresAt),
    lastRefresh: dateOrNull(raw.lastRefreshMs, 1),
    lastError: raw.lastError ? concurError(raw.lastError) : null,
    failures: raw.failures,
    nextAttempt: dateOrNull(raw.nextAttemptMs, 1),
    refreshCount: raw.refreshCount,
    refreshing: raw.refreshing,
  };
}

/**
 * Keeps one valid access token for every caller, all of it the Rust core's TokenManager: from
 * memory while outside the refresh window (`margin` seconds before expiry, default 300); inside
 * it, callers keep the current token while one refresh runs ahead in the background; below the
 * `floor` (default 30 s), with no token, callers wait for one refresh shared between them, the
 * store (another process or machine may have refreshed) read first. The rotated refresh token
 * is saved before the new access token is handed out. Outages are ridden through with backoff
 * while the token lasts; Concur's verdict (108, …) is never re-sent.
 *
 * Starts from `refreshToken` (and its `geolocation`), or from `grant`: 'password' (with
 * username and password), 'company' (companyId and requestToken) or 'clientCredentials'.
 * `store` is a file path (shared by the processes of a machine) or a `redis://` URL (with
 * `redisKey`, shared by many machines); without one the token is kept in memory. `storeKey`
 * (32 bytes or their base64, or an array: the first seals, all open) seals what is stored;
 * `requireSealed` refuses plain-text documents. Nothing is sent until the first call.
 *
 * An EventEmitter: 'refresh' (refreshed, or taken from the store), 'refreshFailed' (will be
 * tried again) and 'dead' (Concur's verdict), each with a frozen event object holding no
 * secret, on the event loop. It never emits 'error'; a listener that throws is reported with
 * process.emitWarning and ignored. The manager keeps no process alive.
 */
class TokenManager extends EventEmitter {
  #raw;

  constructor(options) {
    super();
    const where = 'new TokenManager(options)';
    checkObject(where, options);
    if (!(options.client instanceof Client)) {
      throw new TypeError(`${where}: options.client must be a Client`);
    }
    const { grant, margin, floor, storeKey, requireSealed } = options;
    let start;
    let required;
    if (grant == null) {
      if (options.refreshToken == null) {
        throw new TypeError(`${where}: options.refreshToken or options.grant is required`);
      }
      start = 'refreshToken';
      required = ['refreshToken'];
    } else {
      if (!Object.hasOwn(MANAGER_STARTS, grant)) {
        throw new TypeError(`${where}: options.grant must be 'password', 'company' or 'clientCredentials'`);
      }
      if (options.refreshToken != null || options.geolocation != null) {
        throw new TypeError(`${where}: options.refreshToken and options.geolocation go without options.grant`);
      }
      start = grant;
      required = MANAGER_STARTS[grant];
    }
    const raw = pick(where, options, ['clientId', 'clientSecret', ...required], [
      'geolocation',
      'store',
      'redisKey',
    ]);
    if (margin != null && typeof margin !== 'number') {
      throw new TypeError(`${where}: options.margin must be a number of seconds`);
    }
    if (floor != null && typeof floor !== 'number') {
      throw new TypeError(`${where}: options.floor must be a number of seconds`);
    }
    if (requireSealed != null && typeof requireSealed !== 'boolean') {
      throw new TypeError(`${where}: options.requireSealed must be a boolean`);
    }
    checkWellFormed(where, raw);
    raw.start = start;
    raw.marginSeconds = margin ?? undefined;
    raw.floorSeconds = floor ?? undefined;
    raw.storeKeys = storeKeys(where, storeKey);
    raw.requireSealed = requireSealed ?? undefined;
    this.#raw = new binding.RawTokenManager(rawClientOf(options.client), raw, eventRelay(new WeakRef(this)));
    const error = this.#raw.creationError();
    if (error) throw concurError(error);
  }

  /** A valid access token, for `Authorization: Bearer …`. Takes `{ signal }`. */
  accessToken(options) {
    const signal = callSignal('TokenManager.accessToken(options)', options);
    // A token above the floor is answered on this thread: no hop to the addon's threads.
    if (!signal?.aborted) {
      const cached = this.#raw.cachedAccessToken();
      if (cached != null) return Promise.resolve(cached);
    }
    return call(signal, (callId) => this.#raw.accessToken(callId));
  }

  /** The whole valid token (expiry, geolocation, subject, …) as an OAuth2Token. Takes `{ signal }`. */
  token(options) {
    const signal = callSignal('TokenManager.token(options)', options);
    return call(signal, (callId) => this.#raw.token(callId));
  }

  /**
   * Where the manager stands, as a plain object holding no secret: { state ('active',
   * 'failing' or 'dead'), expiresAt, refreshExpiresAt, lastRefresh, lastError, failures,
   * nextAttempt, refreshCount, refreshing }.
   */
  status() {
    return managerStatus(this.#raw.status());
  }

  toJSON() {
    return {};
  }

  [util.inspect.custom]() {
    return 'TokenManager {}';
  }
}

/** The starts of TokenVault.add: each start's required and optional fields. */
const VAULT_STARTS = Object.freeze({
  refreshToken: [['refreshToken'], ['geolocation']],
  company: [['companyId', 'requestToken'], []],
  password: [['username', 'password'], []],
  authorizationCode: [['code', 'redirectUri'], []],
  clientCredentials: [['clientCredentials'], []],
});
const VAULT_FIELDS = Object.freeze(Object.values(VAULT_STARTS).flatMap(([req, opt]) => [...req, ...opt]));

function invalidArgument(where, detail) {
  return new ConcurError(`invalid argument: ${where}: ${detail}`, { code: 'INVALID_ARGUMENT' });
}

/**
 * The raw start of `add(id, start)`: exactly one start's fields (a wrong mix is
 * INVALID_ARGUMENT, naming fields, never quoting values); a field of the wrong type a TypeError.
 */
function vaultStart(where, start) {
  checkObject(where, start);
  const present = VAULT_FIELDS.filter((f) => start[f] != null);
  const entry = Object.entries(VAULT_STARTS).find(([, [required]]) => required.some((f) => present.includes(f)));
  if (entry === undefined) {
    throw invalidArgument(
      where,
      'give one start: { refreshToken, geolocation? }, { companyId, requestToken }, { username, password }, ' +
        '{ code, redirectUri } or { clientCredentials: true }',
    );
  }
  const [name, [required, optional]] = entry;
  const stray = present.find((f) => !required.includes(f) && !optional.includes(f));
  if (stray !== undefined) throw invalidArgument(where, `${stray} does not go with ${required.join(' and ')}`);
  const absent = required.find((f) => !present.includes(f));
  if (absent !== undefined) throw invalidArgument(where, `${required.join(' and ')} go together: ${absent} is missing`);
  if (name === 'clientCredentials') {
    if (start.clientCredentials !== true) throw new TypeError(`${where}: start.clientCredentials must be true`);
    return { start: name };
  }
  const raw = pick(where, start, required, optional);
  checkWellFormed(where, raw);
  raw.start = name;
  return raw;
}

/** A RawConnectionInfo as the frozen connection object. */
function connectionInfo(raw) {
  return Object.freeze({
    id: raw.id,
    kind: raw.kind,
    subject: raw.subject ?? null,
    geolocation: raw.geolocation ?? null,
    expiresAt: dateOrNull(raw.expiresAt),
    refreshExpiresAt: dateOrNull(raw.refreshExpiresAt),
    lastRefresh: dateOrNull(raw.lastRefresh),
    state: raw.state,
    concurCode: raw.concurCode ?? null,
    failures: raw.failures,
    horizon: raw.horizonSeconds ?? null,
    addedAt: new Date(raw.addedAt * 1000),
  });
}

/** A RawKeepAliveReport as the frozen report object. */
function keepAliveReport(raw) {
  return Object.freeze({
    checked: raw.checked,
    refreshed: raw.refreshed,
    fresh: raw.fresh,
    dead: Object.freeze(raw.dead.map((d) => Object.freeze({ id: d.id, concurCode: d.concurCode ?? null }))),
    failed: Object.freeze(raw.failed.map((f) => Object.freeze({ id: f.id, error: concurError(f.error) }))),
  });
}

/** Turns a vault call's RawOutcome into its value, or a thrown ConcurError. */
function settleVault(outcome) {
  if (outcome.error) throw concurError(outcome.error);
  if (outcome.connection) return connectionInfo(outcome.connection);
  if (outcome.report) return keepAliveReport(outcome.report);
  if (outcome.status) return managerStatus(outcome.status);
  return settle(outcome);
}

const DAY = 86400;

/**
 * Many Concur connections (every company's, every user's, the application's own) kept alive in
 * one store, each with the TokenManager's guarantees, all of it the Rust core's TokenVault:
 * one refresh per connection across threads, processes and machines sharing the store;
 * refresh ahead; stale if error; the rotated refresh token saved before use; Concur's 108 never
 * sent again. Connections are named by IDs you choose (printable text up to 256 bytes).
 *
 * `new TokenVault(client, { clientId, clientSecret, store, margin, floor, storeKey,
 * requireSealed, cacheCapacity, horizons })`: `store` is a URL, `memory:` (default),
 * `sqlite:///path`, `redis://…`/`rediss://…` or `postgres://…`; `margin`, `floor`, `storeKey`
 * and `requireSealed` as the TokenManager's; `cacheCapacity` bounds the connections held in
 * memory (10,000 by default); `horizons` (seconds; default 30 and 7 days) are when an
 * 'expiring' event warns before a refresh token's expiry. Opening a networked store connects
 * on this thread.
 *
 * Every method returns a Promise, runs on the addon's own threads (not libuv's pool) and
 * takes a last optional `{ signal }`; an unknown ID rejects with code 'UNKNOWN_CONNECTION',
 * bad input with 'INVALID_ARGUMENT'. An EventEmitter like the TokenManager: 'refresh',
 * 'refreshFailed', 'dead' and 'expiring', each event naming its `connection`.
 */
class TokenVault extends EventEmitter {
  #raw;

  constructor(client, options) {
    super();
    const where = 'new TokenVault(client, options)';
    if (!(client instanceof Client)) throw new TypeError(`${where}: client must be a Client`);
    checkObject(where, options);
    const { margin, floor, storeKey, requireSealed, cacheCapacity, horizons } = options;
    const raw = pick(where, options, ['clientId', 'clientSecret'], ['store']);
    for (const [name, value] of Object.entries({ margin, floor, cacheCapacity })) {
      if (value != null && typeof value !== 'number') throw new TypeError(`${where}: options.${name} must be a number`);
    }
    if (requireSealed != null && typeof requireSealed !== 'boolean') {
      throw new TypeError(`${where}: options.requireSealed must be a boolean`);
    }
    if (horizons != null && (!Array.isArray(horizons) || !horizons.every((h) => typeof h === 'number'))) {
      throw new TypeError(`${where}: options.horizons must be an array of numbers of seconds`);
    }
    checkWellFormed(where, raw);
    raw.marginSeconds = margin ?? undefined;
    raw.floorSeconds = floor ?? undefined;
    raw.storeKeys = storeKeys(where, storeKey);
    raw.requireSealed = requireSealed ?? undefined;
    raw.cacheCapacity = cacheCapacity ?? undefined;
    raw.horizonsSeconds = horizons ?? undefined;
    this.#raw = new binding.RawTokenVault(rawClientOf(client), raw, eventRelay(new WeakRef(this)));
    const error = this.#raw.creationError();
    if (error) throw concurError(error);
  }

  #id(where, id) {
    checkString(where, 'id', id);
    checkWellFormed(where, { id });
    return id;
  }

  #call(where, options, start) {
    const signal = callSignal(where, options);
    return call(signal, start, settleVault);
  }

  /**
   * Adds connection `id` from one start — `{ refreshToken, geolocation? }` (refreshed once at
   * once), `{ companyId, requestToken }` (App Center), `{ username, password }`, `{ code,
   * redirectUri }` (the Web flow) or `{ clientCredentials: true }` — and resolves to its first
   * OAuth2Token, stored before it resolves. An ID present already rejects (INVALID_ARGUMENT)
   * unless `{ replace: true }`.
   */
  add(id, start, options) {
    const where = 'TokenVault.add(id, start, options)';
    const { replace = false } = options ?? {};
    if (typeof replace !== 'boolean') throw new TypeError(`${where}: options.replace must be a boolean`);
    this.#id(where, id);
    return this.#call(where, options, (callId) => this.#raw.add(id, vaultStart(where, start), replace, callId));
  }

  /** Connection `id`'s access token, for `Authorization: Bearer …`. */
  accessToken(id, options) {
    const where = 'TokenVault.accessToken(id, options)';
    this.#id(where, id);
    const signal = callSignal(where, options);
    // A token held in memory above the floor is answered on this thread: no hop to the addon's threads.
    if (!signal?.aborted) {
      const cached = this.#raw.cachedAccessToken(id);
      if (cached != null) return Promise.resolve(cached);
    }
    return call(signal, (callId) => this.#raw.accessToken(id, callId), settleVault);
  }

  /** Connection `id`'s whole token (expiry, geolocation, subject, …) as an OAuth2Token. */
  token(id, options) {
    const where = 'TokenVault.token(id, options)';
    this.#id(where, id);
    return this.#call(where, options, (callId) => this.#raw.token(id, callId));
  }

  /** Forgets connection `id`'s access token (after an API call answered 401). */
  invalidate(id, options) {
    const where = 'TokenVault.invalidate(id, options)';
    this.#id(where, id);
    return this.#call(where, options, (callId) => this.#raw.invalidate(id, callId));
  }

  /** Removes connection `id`; `{ revoke: true }` asks Concur to revoke it first. */
  remove(id, options) {
    const where = 'TokenVault.remove(id, options)';
    const { revoke = false } = options ?? {};
    if (typeof revoke !== 'boolean') throw new TypeError(`${where}: options.revoke must be a boolean`);
    this.#id(where, id);
    return this.#call(where, options, (callId) => this.#raw.remove(id, revoke, callId));
  }

  /**
   * Connection `id` as an operator sees it, a frozen object holding no secret: { id, kind
   * ('company', 'user', 'app'), subject, geolocation, expiresAt, refreshExpiresAt, lastRefresh,
   * state ('active', 'expiring', 'failing', 'dead'), concurCode, failures, horizon (seconds),
   * addedAt }.
   */
  connection(id, options) {
    const where = 'TokenVault.connection(id, options)';
    this.#id(where, id);
    return this.#call(where, options, (callId) => this.#raw.connection(id, callId));
  }

  /** Connection `id`'s engine in this process, as TokenManager.status() describes it. */
  status(id, options) {
    const where = 'TokenVault.status(id, options)';
    this.#id(where, id);
    return this.#call(where, options, (callId) => this.#raw.status(id, callId));
  }

  /**
   * Every connection in ID order (`for await (const c of vault.connections())`), read from
   * the store a page at a time: listing 100,000 connections loads no token.
   */
  async *connections() {
    const cursor = this.#raw.connections();
    for (;;) {
      const outcome = await cursor.next();
      if (outcome.error) throw concurError(outcome.error);
      for (const raw of outcome.connections) yield connectionInfo(raw);
      if (outcome.done) return;
    }
  }

  /**
   * Refreshes every connection whose refresh token expires within `within` seconds (30 days
   * by default), `concurrency` at a time (8 by default, at most 64); safe from a cron on every
   * machine at once. Resolves to a frozen report: { checked, refreshed, fresh, dead: [{ id,
   * concurCode }], failed: [{ id, error }] }, checked = refreshed + fresh + dead + failed.
   */
  keepAlive(options) {
    const where = 'TokenVault.keepAlive(options)';
    const { within = 30 * DAY, concurrency = 8 } = options ?? {};
    if (typeof within !== 'number') throw new TypeError(`${where}: options.within must be a number of seconds`);
    if (typeof concurrency !== 'number') throw new TypeError(`${where}: options.concurrency must be a number`);
    return this.#call(where, options, (callId) => this.#raw.keepAlive(within, concurrency, callId));
  }

  /**
   * Connection `id` shaped like a TokenManager ({ id, accessToken(), token(), invalidate(),
   * status() }): for anything that takes a manager.
   */
  manager(id) {
    const where = 'TokenVault.manager(id)';
    this.#id(where, id);
    const checked = binding.checkConnectionId(id);
    if (checked) throw concurError(checked);
    const vault = this;
    return Object.freeze({
      id,
      vault,
      accessToken: (options) => vault.accessToken(id, options),
      token: (options) => vault.token(id, options),
      invalidate: (options) => vault.invalidate(id, options),
      status: (options) => vault.status(id, options),
      toJSON: () => ({ id }),
      [util.inspect.custom]: () => `TokenVault connection ${JSON.stringify(id)}`,
    });
  }

  toJSON() {
    return {};
  }

  [util.inspect.custom]() {
    return 'TokenVault {}';
  }
}

/**
 * Builds the current API's authorize URL. Returns { url, state }: keep state (128 random bits
 * from the OS's CSPRNG when not given) for parseOauth2Callback(). Synchronous; throws a
 * ConcurError on bad input.
 */
function oauth2AuthorizeUrl(options) {
  const where = 'oauth2AuthorizeUrl(options)';
  const raw = pick(where, options, ['clientId', 'redirectUri'], ['state', 'baseUrl']);
  const scopes = options.scopes ?? [];
  if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string')) {
    throw new TypeError(`${where}: options.scopes must be an array of strings`);
  }
  checkWellFormed(where, { ...raw, scopes });
  const result = binding.oauth2AuthorizeUrl(raw.clientId, raw.redirectUri, scopes, raw.state, raw.baseUrl);
  if (result.error) throw concurError(result.error);
  return { url: result.url, state: result.state };
}

/**
 * Reads the URL Concur sent the user back to: { code, geolocation } (geolocation null when the
 * callback named none). With expectedState, a different state throws (INVALID_ARGUMENT); a
 * refusal throws UNAUTHORIZED with Concur's code as concurCode. Synchronous.
 */
function parseOauth2Callback(url, expectedState) {
  const where = 'parseOauth2Callback(url, expectedState)';
  checkString(where, 'url', url);
  checkOptionalString(where, 'expectedState', expectedState);
  checkWellFormed(where, { url, expectedState });
  const raw = binding.parseOauth2Callback(url, expectedState ?? undefined);
  if (raw.error) throw concurError(raw.error);
  return { code: raw.code, geolocation: raw.geolocation ?? null };
}

/**
 * Panics inside the addon's guards, for the test suite: `sync` throws, otherwise the promise
 * rejects, both with a ConcurError whose code is INTERNAL. Not part of the API.
 */
function _panicForTests(sync) {
  if (sync) {
    const raw = binding._panicForTests(true);
    if (raw.error) throw concurError(raw.error);
    return undefined;
  }
  return binding._panicForTests(false).then(settle);
}

module.exports = {
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
  _panicForTests,
  version: binding.version(),
  DEFAULT_BASE_URL: binding.defaultBaseUrl(),
};
