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

function checkTypes(options) {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('nativeToken(options): options must be an object');
  }
  for (const name of ['consumerKey', 'loginId']) {
    if (typeof options[name] !== 'string') {
      throw new TypeError(`nativeToken(options): options.${name} must be a string`);
    }
  }
  if (options.password != null && typeof options.password !== 'string') {
    throw new TypeError('nativeToken(options): options.password must be a string or null');
  }
  for (const name of STRING_OPTIONS) {
    if (options[name] !== undefined && typeof options[name] !== 'string') {
      throw new TypeError(`nativeToken(options): options.${name} must be a string`);
    }
  }
  if (options.timeoutMs !== undefined && typeof options.timeoutMs !== 'number') {
    throw new TypeError('nativeToken(options): options.timeoutMs must be a number');
  }
}

/**
 * Obtains an access token with Concur's Native Flow. Resolves to a Token; rejects with a
 * ConcurError. Throws a TypeError at once only for an argument of the wrong type.
 */
function nativeToken(options) {
  checkTypes(options);
  const raw = {
    consumerKey: options.consumerKey,
    loginId: options.loginId,
    password: options.password ?? undefined,
    timeoutMs: options.timeoutMs,
  };
  for (const name of STRING_OPTIONS) raw[name] = options[name];
  return binding.nativeToken(raw).then((outcome) => {
    if (outcome.error) {
      const { message, ...fields } = outcome.error;
      throw new ConcurError(message, fields);
    }
    return new Token(outcome.token);
  });
}

module.exports = {
  nativeToken,
  Token,
  ConcurError,
  CODES,
  version: binding.version(),
  DEFAULT_BASE_URL: binding.defaultBaseUrl(),
};
