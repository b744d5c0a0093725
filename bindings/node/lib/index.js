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
 * ConcurError. Throws a TypeError at once only for an argument of the wrong type.
 */
function nativeToken(options) {
  const raw = checkTypes(options);
  raw.consumerKey = options.consumerKey;
  raw.loginId = options.loginId;
  raw.password = options.password ?? undefined;
  return binding.nativeToken(raw).then(settle);
}

/**
 * A reusable client: options checked once, TLS connections kept alive between calls, shared
 * freely between concurrent calls. Every method returns a Promise and runs off the JS thread.
 * For refresh and revocation, point baseUrl at the token's instanceUrl.
 */
class Client {
  #raw;

  constructor(options = {}) {
    const where = 'new Client(options)';
    checkObject(where, options);
    this.#raw = new binding.RawClient(connectionOptions(where, options));
    const error = this.#raw.creationError();
    if (error) throw concurError(error);
    Object.freeze(this);
  }

  nativeToken(consumerKey, loginId, password) {
    const where = 'Client.nativeToken(consumerKey, loginId, password)';
    checkString(where, 'consumerKey', consumerKey);
    checkString(where, 'loginId', loginId);
    checkOptionalString(where, 'password', password);
    return this.#raw.nativeToken(consumerKey, loginId, password ?? undefined).then(settle);
  }

  refreshToken(clientId, clientSecret, refreshToken) {
    const where = 'Client.refreshToken(clientId, clientSecret, refreshToken)';
    checkString(where, 'clientId', clientId);
    checkString(where, 'clientSecret', clientSecret);
    checkString(where, 'refreshToken', refreshToken);
    return this.#raw.refreshToken(clientId, clientSecret, refreshToken).then(settle);
  }

  exchangeCode(clientId, clientSecret, code) {
    const where = 'Client.exchangeCode(clientId, clientSecret, code)';
    checkString(where, 'clientId', clientId);
    checkString(where, 'clientSecret', clientSecret);
    checkString(where, 'code', code);
    return this.#raw.exchangeCode(clientId, clientSecret, code).then(settle);
  }

  revokeToken(adminAccessToken, token) {
    const where = 'Client.revokeToken(adminAccessToken, token)';
    checkString(where, 'adminAccessToken', adminAccessToken);
    checkString(where, 'token', token);
    return this.#raw.revokeToken(adminAccessToken, token).then(settle);
  }

  revokeUserTokens(adminAccessToken, consumerKey, loginId) {
    const where = 'Client.revokeUserTokens(adminAccessToken, consumerKey, loginId)';
    checkString(where, 'adminAccessToken', adminAccessToken);
    checkString(where, 'consumerKey', consumerKey);
    checkString(where, 'loginId', loginId);
    return this.#raw.revokeUserTokens(adminAccessToken, consumerKey, loginId).then(settle);
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
  const raw = binding.parseCallback(callbackUrl, expectedState ?? undefined);
  if (raw.error) throw concurError(raw.error);
  return raw.code;
}

module.exports = {
  nativeToken,
  Client,
  authorizationUrl,
  parseCallback,
  Token,
  ConcurError,
  CODES,
  version: binding.version(),
  DEFAULT_BASE_URL: binding.defaultBaseUrl(),
};
