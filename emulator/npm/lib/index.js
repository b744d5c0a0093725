'use strict';
// Drives concur-emulator, a local SAP Concur OAuth 2 emulator, from Node tests:
// startEmulator() starts the program and resolves to an Emulator (its URLs, CA file and every
// control API call as a method); useEmulator() starts one per node:test file. Node's standard
// library only.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');
const { BINARY_ENV, findBinary } = require('./binary.js');

/** A failed start, or a control API call answered with an error status. */
class EmulatorError extends Error {
  constructor(message, status = null) {
    super(status == null ? message : `${status}: ${message}`);
    this.name = 'EmulatorError';
    /** The HTTP status of a failed control call; null when the program did not start. */
    this.status = status;
    /** The emulator's own explanation. */
    this.detail = message;
  }
}

const FLAGS = {
  port: '--port',
  seed: '--seed',
  accessLifetime: '--access-lifetime',
  refreshLifetime: '--refresh-lifetime',
  rotate: '--rotate',
  caOut: '--ca-out',
};

/** The program's arguments for startEmulator's options. */
function argumentsOf(options, seedFile) {
  const args = ['--exit-on-stdin-eof'];
  for (const [name, flag] of Object.entries(FLAGS)) {
    const value = name === 'seed' ? seedFile : options[name];
    if (value != null) args.push(flag, String(value));
  }
  return args.concat(options.args || []);
}

/** One running concur-emulator process and its control API. */
class Emulator {
  constructor(child, info, seedDir) {
    this._child = child;
    this._seedDir = seedDir;
    /** The program's JSON line. */
    this.info = info;
    /** Data centre 1 (HTTPS): the base URL to give a Concur client. */
    this.baseUrl = info.base_url;
    /** Data centre 2 (HTTPS). */
    this.secondBaseUrl = info.second_base_url;
    /** The same endpoints over plain HTTP (loopback only). */
    this.plainBaseUrl = info.plain_base_url;
    /** The PEM file of the CA to trust. */
    this.caFile = info.ca_file;
    /** The control API's base URL. */
    this.adminUrl = info.admin_url || `${info.base_url}/_emulator`;
    /** The seeded oauth2/v0 app. */
    this.clientId = info.oauth2_client_id;
    this.clientSecret = info.oauth2_client_secret;
    /** The CA certificate (PEM), for `https.request({ ca })` or undici's `connect: { ca }`. */
    this.ca = fs.readFileSync(info.ca_file);
    this._agent = new https.Agent({ ca: this.ca, keepAlive: true });
  }

  /** Calls the control API (path under /_emulator/); resolves to its JSON answer. */
  call(method, route, body) {
    const url = new URL(`${this.adminUrl}/${route.replace(/^\/+/, '')}`);
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const request = https.request(url, {
        method,
        agent: this._agent,
        headers: {
          accept: 'application/json',
          ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}),
        },
      });
      request.on('error', reject);
      request.on('response', (response) => {
        const chunks = [];
        response.on('data', (c) => chunks.push(c));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed = null;
          try {
            parsed = text.trim() ? JSON.parse(text) : null;
          } catch {
            parsed = null;
          }
          if (response.statusCode >= 400) {
            reject(new EmulatorError(parsed?.message ?? text, response.statusCode));
          } else {
            resolve(parsed);
          }
        });
      });
      request.end(data ?? undefined);
    });
  }

  health() {
    return this.call('GET', 'health');
  }
  async reset() {
    await this.call('POST', 'reset');
  }
  addApp(app = {}) {
    return this.call('POST', 'apps', app);
  }
  apps() {
    return this.call('GET', 'apps');
  }
  async deleteApp(clientId) {
    await this.call('DELETE', `apps/${encodeURIComponent(clientId)}`);
  }
  addCompany(company = {}) {
    return this.call('POST', 'companies', company);
  }
  newRequestToken(companyId) {
    return this.call('POST', `companies/${encodeURIComponent(companyId)}/request-tokens`, {});
  }
  companies() {
    return this.call('GET', 'companies');
  }
  async deleteCompany(companyId) {
    await this.call('DELETE', `companies/${encodeURIComponent(companyId)}`);
  }
  addUser(user) {
    return this.call('POST', 'users', user);
  }
  users() {
    return this.call('GET', 'users');
  }
  async deleteUser(login) {
    await this.call('DELETE', `users/${encodeURIComponent(login)}`);
  }
  addConsumerKey(key, secret) {
    return this.call('POST', 'consumer-keys', { key, secret });
  }
  async revoke(what) {
    await this.call('POST', 'revoke', what);
  }
  async expire(what) {
    await this.call('POST', 'expire', what);
  }
  lifetimes() {
    return this.call('GET', 'lifetimes');
  }
  setLifetimes(lifetimes) {
    return this.call('PUT', 'lifetimes', lifetimes);
  }
  async rotation() {
    return (await this.call('GET', 'rotation')).mode;
  }
  async setRotation(mode) {
    await this.call('PUT', 'rotation', { mode });
  }
  fault(fault) {
    return this.call('POST', 'faults', fault);
  }
  faults() {
    return this.call('GET', 'faults');
  }
  async clearFaults() {
    await this.call('DELETE', 'faults');
  }
  clock() {
    return this.call('GET', 'clock');
  }
  advance(seconds) {
    return this.call('POST', 'clock/advance', { seconds });
  }
  /** Every request answered, oldest first, secrets digested; `since`: only later `seq`s. */
  journal(since) {
    return this.call('GET', since == null ? 'journal' : `journal?since=${Number(since)}`);
  }
  async clearJournal() {
    await this.call('DELETE', 'journal');
  }
  refreshTokens() {
    return this.call('GET', 'refresh-tokens');
  }

  /** Whether the process still runs. */
  get running() {
    return this._child.exitCode === null && this._child.signalCode === null;
  }

  /** Stops the program (closes its standard input; kills it if it lingers 10 s). */
  stop() {
    this._agent.destroy();
    const child = this._child;
    if (this._seedDir) fs.rmSync(this._seedDir, { recursive: true, force: true });
    this._seedDir = null;
    if (!this.running) return Promise.resolve();
    child.ref(); // keep this process alive until the emulator has gone
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.stdin.end();
    });
  }
}

/**
 * Starts the concur-emulator program and resolves to an Emulator once it printed its JSON
 * line. Options: port, seed (a path, or an object written to a temporary file), accessLifetime,
 * refreshLifetime, rotate ('always'|'never'|'sometimes'), caOut, args (more flags), binary,
 * startupTimeout (ms, default 30 000). Rejects with the program's own message when it does
 * not start (a bad flag, a port in use, ...).
 */
async function startEmulator(options = {}) {
  const binary = options.binary || findBinary();
  let seedFile = null;
  if (options.seed != null && typeof options.seed === 'object') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-emulator-seed-'));
    seedFile = path.join(dir, 'seed.json');
    fs.writeFileSync(seedFile, JSON.stringify(options.seed));
  }
  const cleanSeed = () => seedFile && fs.rmSync(path.dirname(seedFile), { recursive: true, force: true });
  const args = argumentsOf(options, seedFile ?? options.seed);
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    if (stderr.length < 64 * 1024) stderr += chunk;
  });
  let info;
  try {
    info = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => fail('did not print its JSON line in time'), options.startupTimeout ?? 30_000);
      function fail(why) {
        clearTimeout(timer);
        child.kill('SIGKILL');
        // What it said on stderr arrives before 'close'.
        const report = () => reject(new EmulatorError(`${binary} ${why}: ${stderr.trim() || 'no message on stderr'}`));
        if (child.exitCode !== null || child.signalCode !== null) setImmediate(report);
        else child.once('close', report);
      }
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new EmulatorError(`cannot start ${binary}: ${e.message}`));
      });
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', function onData(chunk) {
        out += chunk;
        const end = out.indexOf('\n');
        if (end < 0) return;
        child.stdout.off('data', onData);
        child.stdout.resume(); // nothing else comes; never let the pipe fill
        clearTimeout(timer);
        try {
          resolve(JSON.parse(out.slice(0, end)));
        } catch {
          fail(`printed no JSON line: ${JSON.stringify(out.slice(0, 200))}`);
        }
      });
      child.once('exit', () => {
        if (!out.includes('\n')) fail('exited');
      });
    });
  } catch (e) {
    cleanSeed();
    throw e;
  }
  // A test process that ends without stop() must not wait for the emulator.
  child.unref();
  child.stdin.unref?.();
  child.stdout.unref?.();
  child.stderr.unref?.();
  return new Emulator(child, info, seedFile && path.dirname(seedFile));
}

/**
 * For node:test: starts one emulator for this test file (a `before` hook) and stops it after
 * (`after`); with `reset: true` (the default) it is reset before each test (`beforeEach`).
 * Returns a handle that forwards every property and method to the started Emulator (use it
 * inside tests and hooks, not at the top level of the file).
 */
function useEmulator(options = {}) {
  const { before, after, beforeEach } = require('node:test');
  let current = null;
  before(async () => {
    current = await startEmulator(options);
  });
  if (options.reset !== false) {
    beforeEach(async () => {
      if (current) await current.reset();
    });
  }
  after(async () => {
    if (current) await current.stop();
    current = null;
  });
  return new Proxy(
    {},
    {
      get(_, property) {
        if (property === 'then') return undefined; // not a thenable
        if (current == null) {
          throw new Error(`concur-emulator: the emulator is not running here (it starts in before(); use ${String(property)} inside tests)`);
        }
        const value = current[property];
        return typeof value === 'function' ? value.bind(current) : value;
      },
    },
  );
}

module.exports = { startEmulator, useEmulator, Emulator, EmulatorError, findBinary, BINARY_ENV };
