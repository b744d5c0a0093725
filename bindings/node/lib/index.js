'use strict';
// The public API of the concur-native npm package: argument checks, the Token class and the
// ConcurError class, over the raw addon built from ../src (loaded through napi's binding.js).

const util = require('node:util');
const binding = require('../binding.js');

const CODES = Object.freeze([
  'UNAUTHORIZED',
  'HTTP_STATUS',
  'TIMEOUT',
  'CONNECT',
  'TLS',
  'PROTOCOL',
  'INVALID_ARGUMENT',
  'INTERNAL',
]);

/** Every failure of this package. `code` names its class; no field ever holds a secret. */
class ConcurError extends Error {
  constructor(message, { code, statusCode = null, concurMessage = null, errorId = null } = {}) {
    super(message);
    this.name = 'ConcurError';
    this.code = code;
    this.statusCode = statusCode;
    this.concurMessage = concurMessage;
    this.errorId = errorId;
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
function call(signal, start) {
  if (signal?.aborted) return Promise.reject(abortError(signal));
  const callId = signal ? binding.newCallId() : undefined;
  let settled;
  try {
    settled = start(callId).then(settle);
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

/** Turns a RawOutcome into the token, nothing (revocation), or a thrown ConcurError. */
function settle(outcome) {
  if (outcome.error) throw concurError(outcome.error);
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

/**
 * A reusable client: options checked once, TLS connections kept alive between calls, shared
 * freely between concurrent calls. Every method returns a Promise and runs on the addon's own
 * threads (not libuv's pool); each takes a last optional `{ signal }` (an AbortSignal).
 * For refresh and revocation, point baseUrl at the token's instanceUrl.
 */
class Client {
  #raw;

  constructor(options = {}) {
    const where = 'new Client(options)';
    checkObject(where, options);
    const raw = connectionOptions(where, options);
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
  authorizationUrl,
  parseCallback,
  Token,
  ConcurError,
  AbortError,
  CODES,
  _panicForTests,
  version: binding.version(),
  DEFAULT_BASE_URL: binding.defaultBaseUrl(),
};
