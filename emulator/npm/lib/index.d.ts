// Types of concur-emulator's Node helper (hand-written; lib/index.js is the implementation).

/** The program's JSON line (more fields may appear; see `concur-emulator --help`). */
export interface EmulatorInfo {
  base_url: string;
  second_base_url: string;
  plain_base_url: string;
  ca_file: string;
  admin_url?: string;
  port: number;
  oauth2_client_id: string;
  oauth2_client_secret: string;
  version?: string;
  [field: string]: unknown;
}

export interface StartOptions {
  /** A fixed port for data centre 1 (default: a free one). */
  port?: number;
  /** A seed file's path, or the seed itself (written to a temporary file). */
  seed?: string | Record<string, unknown>;
  /** Access token lifetime in seconds (default 3600). */
  accessLifetime?: number;
  /** Refresh token lifetime in seconds (default six months). */
  refreshLifetime?: number;
  rotate?: 'always' | 'never' | 'sometimes';
  /** Also write the CA certificate here. */
  caOut?: string;
  /** More flags for the program. */
  args?: string[];
  /** The program to start (default: $CONCUR_EMULATOR_BINARY, the platform package, PATH). */
  binary?: string;
  /** How long to wait for the JSON line, in ms (default 30 000). */
  startupTimeout?: number;
}

export interface UseOptions extends StartOptions {
  /** Reset the emulator before each test (default true). */
  reset?: boolean;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface Company {
  id: string;
  name: string;
  request_token: string;
  request_token_expires_at: number;
  [field: string]: Json;
}

export interface Fault {
  /** A path, "token" or "*". */
  endpoint: string;
  kind: 'status' | 'rate-limit' | 'latency' | 'drop' | 'malformed';
  /** How many of the next requests it hits (default 1). */
  count?: number;
  status?: number;
  code?: number;
  retry_after?: number;
  ms?: number;
}

export interface JournalEntry {
  seq: number;
  time: number;
  method: string;
  path: string;
  query: Record<string, string>;
  endpoint: string;
  grant: string | null;
  status: number;
  /** Form fields; secrets as `sha256:` digests. */
  form: Record<string, string>;
  authorization: string | null;
  [field: string]: Json;
}

export interface RefreshTokenRecord {
  digest: string;
  family: number;
  subject: string;
  uses: number;
  state: 'live' | 'rotated' | 'revoked' | 'expired' | string;
  issued_at: number;
  expires_at: number;
}

export declare class EmulatorError extends Error {
  /** The HTTP status of a failed control call; null when the program did not start. */
  readonly status: number | null;
  /** The emulator's own explanation. */
  readonly detail: string;
}

export declare class Emulator {
  readonly info: EmulatorInfo;
  readonly baseUrl: string;
  readonly secondBaseUrl: string;
  readonly plainBaseUrl: string;
  readonly caFile: string;
  readonly adminUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The CA certificate (PEM). */
  readonly ca: Buffer;
  readonly running: boolean;
  call(method: string, path: string, body?: Json): Promise<any>;
  health(): Promise<{ status: string; name: string; version: string; now: number }>;
  reset(): Promise<void>;
  addApp(app?: { client_id?: string; client_secret?: string; grants?: string[]; scopes?: string[] }): Promise<any>;
  apps(): Promise<any[]>;
  deleteApp(clientId: string): Promise<void>;
  addCompany(company?: { id?: string; name?: string }): Promise<Company>;
  newRequestToken(companyId: string): Promise<{ id: string; request_token: string; expires_at: number }>;
  companies(): Promise<any[]>;
  deleteCompany(companyId: string): Promise<void>;
  addUser(user: { login: string; password: string; data_centre?: number; locked?: boolean; disabled?: boolean }): Promise<any>;
  users(): Promise<any[]>;
  deleteUser(login: string): Promise<void>;
  addConsumerKey(key: string, secret: string): Promise<any>;
  revoke(what: { refresh_token: string } | { connection: string }): Promise<void>;
  expire(what: { access_token: string } | { refresh_token: string } | { all: true }): Promise<void>;
  lifetimes(): Promise<{ access: number; refresh: number; request_token: number }>;
  setLifetimes(lifetimes: { access?: number; refresh?: number; request_token?: number }): Promise<any>;
  rotation(): Promise<string>;
  setRotation(mode: 'always' | 'never' | 'sometimes'): Promise<void>;
  fault(fault: Fault): Promise<any>;
  faults(): Promise<any[]>;
  clearFaults(): Promise<void>;
  clock(): Promise<{ now: number; iso: string; offset: number }>;
  advance(seconds: number): Promise<{ now: number; iso: string; offset: number }>;
  /** Every request answered, oldest first, secrets digested; `since`: only entries after that `seq`. */
  journal(since?: number): Promise<JournalEntry[]>;
  clearJournal(): Promise<void>;
  refreshTokens(): Promise<RefreshTokenRecord[]>;
  stop(): Promise<void>;
}

export declare const BINARY_ENV: 'CONCUR_EMULATOR_BINARY';
export declare function findBinary(): string;
export declare function startEmulator(options?: StartOptions): Promise<Emulator>;
/** node:test: one emulator per test file (before/after hooks), reset before each test. */
export declare function useEmulator(options?: UseOptions): Emulator;
