/**
 * Configuration from the environment. With nothing set, srs-live runs its embedded default:
 * SQLite under DATA_DIR, a token secret and a development API key created there on first start,
 * listening on 127.0.0.1 only. Configured API keys mean production: then the links the server
 * hands out must not follow the request's Host (SRS_PUBLIC_URL or SRS_ALLOWED_HOSTS).
 */
import { parseCm } from '../shared/scoring.ts';
import { DEMO_TENANT, parseApiKeys, type ApiKey } from './api-keys.ts';
import { parseAllowedHost } from './http/host-guard.ts';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './logging.ts';
import { MIN_WEBHOOK_SECRET_LENGTH, webhookUrlProblem } from './webhooks/webhook-url.ts';

/** Where the embedded default listens when HOST is unset: its development key must not be reachable from the network. */
export const EMBEDDED_HOST = '127.0.0.1';
/** The names of this machine that the embedded default answers to (a DNS-rebinding page names another). */
export const LOOPBACK_NAMES: readonly string[] = ['localhost', '127.0.0.1', '::1'];

export interface Config {
  readonly port: number;
  /** Where to listen; undefined = every interface. */
  readonly host: string | undefined;
  /** True when HOST is unset and no keys are configured, so the server listens on 127.0.0.1 only. */
  readonly loopbackOnly: boolean;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  /** PostgreSQL schema to keep the tables in (default: the connection's search_path). */
  readonly databaseSchema: string | undefined;
  readonly tokenSecret: string | undefined;
  /** Configured platform keys; empty means the embedded development key. */
  readonly apiKeys: readonly ApiKey[];
  readonly publicUrl: string | undefined;
  /** Hosts the server answers for (SRS_ALLOWED_HOSTS; the embedded default: this machine's loopback names); undefined = any. */
  readonly allowedHosts: readonly string[] | undefined;
  /** Open connections beyond which new ones are dropped; undefined = no cap. */
  readonly maxConnections: number | undefined;
  /** Concurrent therapist sockets per session. */
  readonly maxTherapistSockets: number;
  /** undefined: on only in the embedded default (no keys configured). */
  readonly demo: boolean | undefined;
  readonly flagBelowMm: number;
  readonly tokenTtlSeconds: number;
  readonly trustProxy: boolean;
  readonly webhook: { readonly url: string; readonly secret: string } | undefined;
  /** Browser origins allowed to open the WebSocket and call the API; undefined = any. */
  readonly allowedOrigins: readonly string[] | undefined;
  /** CSP frame-ancestors for the pages; undefined = the server itself and the allowed origins. */
  readonly frameAncestors: readonly string[] | undefined;
  readonly redisUrl: string | undefined;
  readonly redisPrefix: string | undefined;
  /** SRS_LOG_LEVEL (or LOG_LEVEL); default info. */
  readonly logLevel: LogLevel;
  /** SRS_LOG_FORMAT (or LOG_FORMAT): json (default) or pretty (needs pino-pretty, a development dependency). */
  readonly logFormat: LogFormat;
  /** SRS_METRICS_TOKEN: serves /metrics to `Authorization: Bearer <token>`; undefined = no /metrics. */
  readonly metricsToken: string | undefined;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new ConfigError(`${name} must be a whole number from ${min} to ${max}`);
  return value;
}

function flag(env: Env, name: string): boolean | undefined {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (['1', 'true', 'on', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'off', 'no'].includes(raw)) return false;
  throw new ConfigError(`${name} must be on or off`);
}

function list(env: Env, name: string, separator: RegExp): string[] | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  return raw.split(separator).map((part) => part.trim()).filter((part) => part.length > 0);
}

function origins(env: Env, name: string): string[] | undefined {
  const values = list(env, name, /[\s,]+/);
  for (const value of values ?? []) {
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new ConfigError(`${name}: "${value}" is not an origin such as https://platform.example`);
    }
    if (parsed.origin !== value) throw new ConfigError(`${name}: "${value}" is not an origin (write ${parsed.origin})`);
  }
  return values;
}

function publicUrlOf(env: Env): string | undefined {
  const value = env['SRS_PUBLIC_URL'] || undefined;
  if (value === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(`SRS_PUBLIC_URL: "${value}" is not a URL such as https://srs.example.org`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new ConfigError('SRS_PUBLIC_URL must be an http(s) URL');
  return value;
}

function allowedHostsOf(env: Env): string[] | undefined {
  const values = list(env, 'SRS_ALLOWED_HOSTS', /[\s,]+/);
  for (const value of values ?? []) {
    try {
      parseAllowedHost(value);
    } catch (error) {
      throw new ConfigError(`SRS_ALLOWED_HOSTS: ${(error as Error).message}`);
    }
  }
  return values;
}

function webhookOf(env: Env): Config['webhook'] {
  const url = env['SRS_WEBHOOK_URL'] || undefined;
  const secret = env['SRS_WEBHOOK_SECRET'] || undefined;
  if (url === undefined) return undefined;
  const problem = webhookUrlProblem(url);
  if (problem) throw new ConfigError(`SRS_WEBHOOK_URL ${problem}`);
  if (secret === undefined) throw new ConfigError('SRS_WEBHOOK_URL needs SRS_WEBHOOK_SECRET to sign deliveries');
  if (secret.length < MIN_WEBHOOK_SECRET_LENGTH) throw new ConfigError(`SRS_WEBHOOK_SECRET must be at least ${MIN_WEBHOOK_SECRET_LENGTH} characters`);
  return { url, secret };
}

function oneOf<T extends string>(env: Env, names: readonly string[], values: readonly T[], fallback: T): T {
  for (const name of names) {
    const raw = env[name]?.trim().toLowerCase();
    if (raw === undefined || raw === '') continue;
    if (!(values as readonly string[]).includes(raw)) throw new ConfigError(`${name} must be one of ${values.join(', ')}`);
    return raw as T;
  }
  return fallback;
}

function metricsTokenOf(env: Env): string | undefined {
  const token = env['SRS_METRICS_TOKEN'] || undefined;
  if (token !== undefined && token.length < 16) throw new ConfigError('SRS_METRICS_TOKEN must be at least 16 characters');
  return token;
}

export function readConfig(env: Env = process.env): Config {
  const apiKeys = [...parseApiKeys(env['SRS_API_KEYS'] ?? ''), ...parseApiKeys(env['SRS_API_KEY'] ?? '').map((key) => ({ ...key, label: 'default' }))];
  for (const key of apiKeys) if (key.key.length < 16) throw new ConfigError(`API key "${key.label}" is shorter than 16 characters`);
  for (const key of apiKeys) if (key.label === DEMO_TENANT) throw new ConfigError(`API key label "${DEMO_TENANT}" is reserved for the demo page's own key: give the key another label`);
  const tokenSecret = env['SRS_TOKEN_SECRET'] || undefined;
  if (tokenSecret !== undefined && tokenSecret.length < 32) throw new ConfigError('SRS_TOKEN_SECRET must be at least 32 characters');
  const flagBelowCm = env['SRS_FLAG_BELOW_CM'];
  const flagBelowMm = flagBelowCm ? parseCm(flagBelowCm) : 90;
  if (flagBelowMm === null) throw new ConfigError('SRS_FLAG_BELOW_CM must be a number from 0.0 to 10.0');
  const publicUrl = publicUrlOf(env);
  const allowedHosts = allowedHostsOf(env);
  const production = apiKeys.length > 0;
  if (production && publicUrl === undefined && allowedHosts === undefined) {
    throw new ConfigError(
      'API keys are configured (production), so links must not follow the request\'s Host header: set SRS_PUBLIC_URL to the public URL, or SRS_ALLOWED_HOSTS to the host names the server answers for',
    );
  }
  const host = env['HOST'] || undefined;
  const loopbackOnly = !production && host === undefined;
  return {
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: loopbackOnly ? EMBEDDED_HOST : host,
    loopbackOnly,
    dataDir: env['DATA_DIR'] || './data',
    databaseUrl: env['DATABASE_URL'] || undefined,
    databaseSchema: env['SRS_DATABASE_SCHEMA'] || undefined,
    tokenSecret,
    apiKeys,
    publicUrl,
    allowedHosts: allowedHosts ?? (loopbackOnly ? LOOPBACK_NAMES : undefined),
    maxConnections: env['SRS_MAX_CONNECTIONS'] ? integer(env, 'SRS_MAX_CONNECTIONS', 0, 1, 10_000_000) : undefined,
    maxTherapistSockets: integer(env, 'SRS_MAX_THERAPIST_SOCKETS', 3, 1, 50),
    demo: flag(env, 'SRS_DEMO'),
    flagBelowMm,
    tokenTtlSeconds: integer(env, 'SRS_TOKEN_TTL_SECONDS', 12 * 3600, 60, 7 * 24 * 3600),
    trustProxy: flag(env, 'SRS_TRUST_PROXY') ?? false,
    webhook: webhookOf(env),
    allowedOrigins: origins(env, 'SRS_ALLOWED_ORIGINS'),
    frameAncestors: list(env, 'SRS_FRAME_ANCESTORS', /[\s,]+/),
    redisUrl: env['REDIS_URL'] || undefined,
    redisPrefix: env['SRS_REDIS_PREFIX'] || undefined,
    logLevel: oneOf(env, ['SRS_LOG_LEVEL', 'LOG_LEVEL'], LOG_LEVELS, 'info'),
    logFormat: oneOf(env, ['SRS_LOG_FORMAT', 'LOG_FORMAT'], LOG_FORMATS, 'json'),
    metricsToken: metricsTokenOf(env),
  };
}
