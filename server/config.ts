/**
 * Configuration from the environment. With nothing set, srs-live runs its embedded default:
 * SQLite under DATA_DIR, a token secret and a development API key created there on first start,
 * listening on 127.0.0.1 only. Configured API keys mean production: then the links the server
 * hands out must not follow the request's Host (SRS_PUBLIC_URL or SRS_ALLOWED_HOSTS).
 *
 * SETTINGS describes each variable once: its description, its default, how it is read and how it
 * is shown. That one table is the schema readConfig parses with, and what `--help` and
 * `--print-config` print, so none of them can leave a setting out. To add a setting, add its entry
 * to SETTINGS and use its value in toServerConfig.
 */
import { z } from 'zod';
import { parseCm } from '../shared/scoring.ts';
import { DEMO_TENANT, parseApiKeys, type ApiKey } from './api-keys.ts';
import type { AppOptions } from './app.ts';
import { parseAllowedHost } from './http/host-guard.ts';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './logging.ts';
import type { OpenStoreOptions } from './store/open-store.ts';
import { MIN_WEBHOOK_SECRET_LENGTH, webhookSecretProblem, webhookUrlProblem } from './webhooks/webhook-url.ts';

/** Where the embedded default listens when HOST is unset: its development key must not be reachable from the network. */
export const EMBEDDED_HOST = '127.0.0.1';
/** The names of this machine that the embedded default answers to (a DNS-rebinding page names another). */
export const LOOPBACK_NAMES: readonly string[] = ['localhost', '127.0.0.1', '::1'];

/** What start-up needs, read from the environment: where to listen, the store, the secrets and createApp's options. */
export interface ServerConfig {
  readonly listen: {
    readonly port: number;
    /** Where to listen; undefined = every interface. */
    readonly host: string | undefined;
    /** True when HOST is unset and no keys are configured, so the server listens on 127.0.0.1 only. */
    readonly loopbackOnly: boolean;
  };
  readonly store: OpenStoreOptions & { readonly dataDir: string };
  readonly log: { readonly level: LogLevel; readonly format: LogFormat };
  /** undefined: the one created under DATA_DIR on first start. */
  readonly tokenSecret: string | undefined;
  /** Configured platform keys; empty means the embedded development key, created under DATA_DIR. */
  readonly apiKeys: readonly ApiKey[];
  /** createApp's options, but for what start-up makes: the store, the logger and the secrets above. */
  readonly app: Omit<AppOptions, 'store' | 'logger' | 'tokenSecret' | 'apiKeys'>;
}

export class ConfigError extends Error {
  override name = 'ConfigError';

  /** One line per problem, each naming its variable. */
  readonly problems: readonly string[];

  constructor(problems: string | readonly string[]) {
    const lines = typeof problems === 'string' ? [problems] : problems;
    super(lines.join('; '));
    this.problems = lines;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** One environment variable. */
export interface Setting<T> {
  /** What it does, for `--help` (README.md's table says more). */
  readonly description: string;
  /** The default, as `--help` says it. */
  readonly default: string;
  /** Reads the variable; unset, empty or blank gives the fallback. */
  readonly schema: z.ZodType<T, unknown>;
  /** How `--print-config` shows a value; secrets come out masked. */
  readonly show: (value: T) => string;
  /** The value start-up gives it when unset, where other settings decide it (`--print-config` says "derived"). */
  readonly derived?: ((config: ServerConfig) => string) | undefined;
}

interface SettingSpec<T> {
  readonly description: string;
  readonly default: string;
  /**
   * Reads a set value. Its messages follow the variable's name: "must be …", "is not …"; those of
   * a list's entries follow "NAME: ".
   */
  readonly parse: z.ZodType<T, string>;
  readonly show?: (value: T) => string;
  /** Masks the whole value in `--print-config` (unless `show` masks it more finely). */
  readonly secret?: boolean;
  readonly derived?: (config: ServerConfig) => string;
}

/** A setting with the value it has when unset. */
function setting<T>(spec: SettingSpec<T> & { readonly fallback: NoInfer<T> }): Setting<T>;
/** A setting that is undefined when unset. */
function setting<T>(spec: SettingSpec<T>): Setting<T | undefined>;
function setting<T>(spec: SettingSpec<T> & { readonly fallback?: T }): Setting<T | undefined> {
  const show = spec.show ?? (spec.secret ? () => MASK : plain);
  return {
    description: spec.description,
    default: spec.default,
    schema: z
      .preprocess((raw) => (typeof raw === 'string' && raw.trim() === '' ? undefined : raw), spec.parse.optional())
      .transform((value) => value ?? spec.fallback),
    show: (value) => (value === undefined ? `(${spec.default})` : show(value)),
    derived: spec.derived,
  };
}

const MASK = '****';

function plain(value: unknown): string {
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (Array.isArray(value)) return value.join(' ');
  return String(value);
}

/** A URL with its password (in the authority or a `password` parameter) masked. */
export function maskUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Not a URL we can take apart: show only its scheme.
    return `${/^[a-z][a-z0-9+.-]*:/i.exec(value)?.[0] ?? ''}${MASK}`;
  }
  if (url.password) url.password = MASK;
  if (url.searchParams.has('password')) url.searchParams.set('password', MASK);
  return url.href;
}

const custom = (ctx: z.RefinementCtx, message: string) => ctx.addIssue({ code: 'custom', message });

const text = z.string();

function integer(min: number, max: number) {
  const error = `must be a whole number from ${min} to ${max}`;
  return z.string().transform(Number).pipe(z.number({ error }).int({ error }).min(min, { error }).max(max, { error }));
}

const flag = z.stringbool({ truthy: ['1', 'true', 'on', 'yes'], falsy: ['0', 'false', 'off', 'no'], error: 'must be on or off' });

/** Space- or comma-separated entries. */
function list<T>(entry: z.ZodType<T, string>) {
  return z
    .string()
    .transform((raw) => raw.split(/[\s,]+/).filter((part) => part.length > 0))
    .pipe(z.array(entry));
}

const origin = z.string().superRefine((value, ctx) => {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return custom(ctx, `"${value}" is not an origin such as https://platform.example`);
  }
  if (parsed.origin !== value) custom(ctx, `"${value}" is not an origin (write ${parsed.origin})`);
});

const allowedHost = z.string().superRefine((value, ctx) => {
  try {
    parseAllowedHost(value);
  } catch (error) {
    custom(ctx, (error as Error).message);
  }
});

const httpUrl = z.string().superRefine((value, ctx) => {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return custom(ctx, 'is not a URL such as https://srs.example.org');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') custom(ctx, 'must be an http(s) URL');
});

const webhookUrl = z.string().superRefine((value, ctx) => {
  const problem = webhookUrlProblem(value);
  if (problem) custom(ctx, problem);
});

const secret = (min: number) => z.string().min(min, { error: `must be at least ${min} characters` });

const apiKey = z.object({ label: z.string(), key: z.string() }).superRefine(({ label, key }, ctx) => {
  if (key.length < 16) custom(ctx, `API key "${label}" is shorter than 16 characters`);
  if (label === DEMO_TENANT) custom(ctx, `API key label "${DEMO_TENANT}" is reserved for the demo page's own key: give the key another label`);
});

/** `label:key` pairs, comma-separated (or bare keys, labelled key1, key2…). */
function apiKeys(label?: string) {
  return z
    .string()
    .transform((raw) => parseApiKeys(raw).map((key) => (label === undefined ? key : { ...key, label })))
    .pipe(z.array(apiKey));
}

const centimetres = z.string().transform((raw, ctx) => {
  const mm = parseCm(raw);
  if (mm !== null) return mm;
  custom(ctx, 'must be a number from 0.0 to 10.0');
  return z.NEVER;
});

const showKeys = (keys: readonly ApiKey[]) => (keys.length === 0 ? 'none' : keys.map((key) => `${key.label}:${MASK}`).join(', '));

export const SETTINGS = {
  PORT: setting({ description: 'The port to listen on (0: any free port).', default: '3000', parse: integer(0, 65535), fallback: 3000 }),
  HOST: setting({
    description: 'The address to listen on.',
    default: '127.0.0.1 without API keys; every interface with them',
    parse: text,
    derived: (config) => config.listen.host ?? 'every interface',
  }),
  DATA_DIR: setting({
    description: 'The SQLite file, and the token secret and development key of the embedded default (created 0700, its files 0600).',
    default: './data',
    parse: text,
    fallback: './data',
  }),
  DATABASE_URL: setting({
    description: 'PostgreSQL connection string; migrations run at start-up.',
    default: 'SQLite under DATA_DIR',
    parse: text,
    show: maskUrl,
  }),
  SRS_DATABASE_SCHEMA: setting({ description: 'PostgreSQL schema to keep the tables in.', default: "the connection's search_path", parse: text }),
  SRS_TOKEN_SECRET: setting({
    description: 'HS256 secret of the join tokens (at least 32 characters); every node shares it.',
    default: 'created under DATA_DIR',
    parse: secret(32),
    secret: true,
  }),
  SRS_API_KEY: setting({
    description: 'One platform API key, labelled "default".',
    default: 'none',
    parse: apiKeys('default'),
    fallback: [],
    show: (keys) => (keys.length === 0 ? 'none' : MASK),
  }),
  SRS_API_KEYS: setting({
    description: `Platform API keys as label:key,label:key; each label is a tenant ("${DEMO_TENANT}" is reserved). With none, a development key is created under DATA_DIR.`,
    default: 'none',
    parse: apiKeys(),
    fallback: [],
    show: showKeys,
  }),
  SRS_PUBLIC_URL: setting({
    description: 'The public base URL of links, FHIR references and the OpenAPI document; with API keys, this or SRS_ALLOWED_HOSTS is required.',
    default: 'from the request',
    parse: httpUrl,
  }),
  SRS_ALLOWED_HOSTS: setting({
    description: 'The host names the server answers for (name or name:port, space- or comma-separated); other hosts get 421.',
    default: `${LOOPBACK_NAMES.join(' ')} without API keys and HOST; otherwise any`,
    parse: list(allowedHost),
    derived: (config) => (config.app.allowedHosts ?? ['any host']).join(' '),
  }),
  SRS_TRUST_PROXY: setting({ description: 'Trust X-Forwarded-* from one proxy in front.', default: 'off', parse: flag, fallback: false }),
  SRS_DEMO: setting({
    description: 'The demo page at /, whose own key can only create sessions in the demo tenant.',
    default: 'on only with the development key',
    parse: flag,
    derived: (config) => plain(config.app.demo),
  }),
  SRS_FLAG_BELOW_CM: setting({
    description: 'Items scored below this (in cm, 0.0 to 10.0) are flagged for discussion.',
    default: '9.0',
    parse: centimetres,
    fallback: 90,
    show: (mm) => (mm / 10).toFixed(1),
  }),
  SRS_TOKEN_TTL_SECONDS: setting({
    description: 'Lifetime of join tokens, unless a request asks for another.',
    default: '43200 (12 h)',
    parse: integer(60, 7 * 24 * 3600),
    fallback: 12 * 3600,
  }),
  SRS_WEBHOOK_URL: setting({
    description: 'POST every stored result here, signed; https://, or http:// only to 127.0.0.0/8, ::1 or localhost.',
    default: 'off',
    parse: webhookUrl,
    show: maskUrl,
  }),
  SRS_WEBHOOK_SECRET: setting({
    description: `The key that signs webhook deliveries (at least ${MIN_WEBHOOK_SECRET_LENGTH} characters).`,
    default: 'none',
    parse: secret(MIN_WEBHOOK_SECRET_LENGTH).superRefine((value, ctx) => {
      const problem = webhookSecretProblem(value);
      if (problem) custom(ctx, problem);
    }),
    secret: true,
  }),
  SRS_MAX_THERAPIST_SOCKETS: setting({ description: 'Therapist connections one session allows at once.', default: '3', parse: integer(1, 50), fallback: 3 }),
  SRS_MAX_CONNECTIONS: setting({ description: 'Open connections beyond which new ones are dropped.', default: 'no cap', parse: integer(1, 10_000_000) }),
  SRS_ALLOWED_ORIGINS: setting({
    description: "The platforms' browser origins (space- or comma-separated), enforced on the WebSocket handshake and the API's CORS.",
    default: 'any origin',
    parse: list(origin),
  }),
  SRS_FRAME_ANCESTORS: setting({
    description: 'Who may frame the pages (CSP frame-ancestors, space- or comma-separated).',
    default: "'self' and the allowed origins",
    parse: list(text),
  }),
  REDIS_URL: setting({
    description: 'Redis for several nodes: the Socket.IO Redis Streams adapter.',
    default: 'one node, no Redis',
    parse: text,
    show: maskUrl,
  }),
  SRS_LOG_LEVEL: setting({
    description: 'Log level: fatal, error, warn, info, debug, trace or silent.',
    default: 'info',
    parse: z
      .string()
      .transform((raw) => raw.trim().toLowerCase())
      .pipe(z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` })),
    fallback: 'info',
  }),
  SRS_LOG_FORMAT: setting({
    description: 'json: one JSON object a line; pretty: readable lines for a terminal (needs pino-pretty, a development dependency).',
    default: 'json',
    parse: z
      .string()
      .transform((raw) => raw.trim().toLowerCase())
      .pipe(z.enum(LOG_FORMATS, { error: `must be one of ${LOG_FORMATS.join(', ')}` })),
    fallback: 'json',
  }),
  SRS_METRICS_TOKEN: setting({
    description: 'Serves Prometheus metrics at /metrics to `Authorization: Bearer <token>` (at least 16 characters).',
    default: 'off (no /metrics)',
    parse: secret(16),
    secret: true,
  }),
  SRS_REDIS_PREFIX: setting({
    description: 'Name of the Redis stream and prefix of its channels and keys, for deployments sharing one Redis.',
    default: 'srs-live',
    parse: text,
    fallback: 'srs-live',
  }),
};

type Settings = typeof SETTINGS;
/** Every setting's value as read, before the settings are combined. */
type Values = { readonly [Name in keyof Settings]: Settings[Name] extends Setting<infer T> ? T : never };

const settingsSchema = z.object(
  Object.fromEntries(Object.entries(SETTINGS).map(([name, { schema }]) => [name, schema])) as { [Name in keyof Settings]: Settings[Name]['schema'] },
);

/**
 * The rules between settings. Zod runs them only when no setting's value failed to parse (a check
 * such as a minimum length leaves the value as it is), so every value here has its type.
 */
function checkCombination(values: Values, ctx: z.RefinementCtx): void {
  const keys = [...values.SRS_API_KEYS, ...values.SRS_API_KEY];
  const labels = new Map<string, string>();
  for (const { label, key } of keys) {
    const other = labels.get(key);
    if (other !== undefined && other !== label)
      ctx.addIssue({
        code: 'custom',
        path: ['SRS_API_KEYS'],
        message: `has the same key under the labels "${other}" and "${label}": give each tenant its own`,
      });
    labels.set(key, label);
  }
  if (keys.length > 0 && values.SRS_PUBLIC_URL === undefined && values.SRS_ALLOWED_HOSTS === undefined) {
    custom(
      ctx,
      "API keys are configured (production), so links must not follow the request's Host header: set SRS_PUBLIC_URL to the public URL, or SRS_ALLOWED_HOSTS to the host names the server answers for",
    );
  }
  if (values.SRS_WEBHOOK_URL !== undefined && values.SRS_WEBHOOK_SECRET === undefined) {
    ctx.addIssue({ code: 'custom', path: ['SRS_WEBHOOK_URL'], message: 'needs SRS_WEBHOOK_SECRET to sign deliveries' });
  }
}

/** The settings, combined into what start-up needs. */
function toServerConfig(values: Values): ServerConfig {
  const apiKeys = [...values.SRS_API_KEYS, ...values.SRS_API_KEY];
  const production = apiKeys.length > 0;
  const loopbackOnly = !production && values.HOST === undefined;
  return {
    listen: { port: values.PORT, host: loopbackOnly ? EMBEDDED_HOST : values.HOST, loopbackOnly },
    store: { dataDir: values.DATA_DIR, databaseUrl: values.DATABASE_URL, pgSchema: values.SRS_DATABASE_SCHEMA },
    log: { level: values.SRS_LOG_LEVEL, format: values.SRS_LOG_FORMAT },
    tokenSecret: values.SRS_TOKEN_SECRET,
    apiKeys,
    app: {
      publicUrl: values.SRS_PUBLIC_URL,
      allowedHosts: values.SRS_ALLOWED_HOSTS ?? (loopbackOnly ? LOOPBACK_NAMES : undefined),
      trustProxy: values.SRS_TRUST_PROXY,
      // On in the embedded default, whose development key is printed for trying things out.
      demo: values.SRS_DEMO ?? !production,
      scoring: { flagBelowMm: values.SRS_FLAG_BELOW_CM },
      tokenTtlSeconds: values.SRS_TOKEN_TTL_SECONDS,
      webhook:
        values.SRS_WEBHOOK_URL !== undefined && values.SRS_WEBHOOK_SECRET !== undefined
          ? { url: values.SRS_WEBHOOK_URL, secret: values.SRS_WEBHOOK_SECRET }
          : undefined,
      maxTherapistSockets: values.SRS_MAX_THERAPIST_SOCKETS,
      connectionLimits: { maxConnections: values.SRS_MAX_CONNECTIONS },
      allowedOrigins: values.SRS_ALLOWED_ORIGINS,
      frameAncestors: values.SRS_FRAME_ANCESTORS,
      redisUrl: values.REDIS_URL,
      redisPrefix: values.SRS_REDIS_PREFIX,
      metricsToken: values.SRS_METRICS_TOKEN,
    },
  };
}

/** The environment in, what start-up needs out. */
export const configSchema = settingsSchema.superRefine(checkCombination).transform(toServerConfig);

/** "NAME must be …" for a setting, "NAME: "entry" is not …" for an entry of a list, the message alone for a rule between settings. */
function problemOf(issue: z.core.$ZodIssue): string {
  const [name, ...entry] = issue.path;
  if (name === undefined) return issue.message;
  return `${String(name)}${entry.length > 0 ? ':' : ''} ${issue.message}`;
}

function parsed<T>(schema: z.ZodType<T, unknown>, env: Env): T {
  const result = schema.safeParse(env);
  if (!result.success) throw new ConfigError(result.error.issues.map(problemOf));
  return result.data;
}

/** Throws ConfigError, naming each variable that is wrong and why. */
export function readConfig(env: Env = process.env): ServerConfig {
  return parsed(configSchema, env);
}

const isSet = (raw: string | undefined): raw is string => raw !== undefined && raw.trim() !== '';

/** `--help`: every setting with its description and default. */
export function helpText(): string {
  const settings = Object.entries(SETTINGS).map(([name, setting]) => `  ${name}\n      ${setting.description}\n      Default: ${setting.default}\n`);
  return [
    'srs-live: the live Session Rating Scale server.',
    '',
    'Usage: srs-live [--help | --print-config]',
    '',
    '  --help          print this, and exit',
    "  --print-config  print every setting's value and where it came from (secrets masked), and exit",
    '',
    'Settings, all optional, from the environment (README.md has more):',
    '',
    ...settings,
  ].join('\n');
}

export type Source = 'environment' | 'default' | 'derived';

export interface EffectiveSetting {
  readonly name: string;
  readonly source: Source;
  /** Secrets masked. */
  readonly value: string;
}

/** Every setting's value and where it came from; throws ConfigError as readConfig does. */
export function effectiveSettings(env: Env = process.env): EffectiveSetting[] {
  const config = readConfig(env);
  const values = parsed(settingsSchema, env) as Record<string, unknown>;
  return Object.entries(SETTINGS).map(([name, setting]): EffectiveSetting => {
    const show = setting.show as (value: unknown) => string;
    if (isSet(env[name])) return { name, source: 'environment', value: show(values[name]) };
    if (setting.derived) return { name, source: 'derived', value: setting.derived(config) };
    return { name, source: 'default', value: show(values[name]) };
  });
}

/** `--print-config`: one line per setting, its name, source and value. */
export function printedConfig(env: Env = process.env): string {
  const settings = effectiveSettings(env);
  const nameWidth = Math.max(...settings.map(({ name }) => name.length));
  const sourceWidth = Math.max(...settings.map(({ source }) => source.length));
  return `${settings.map(({ name, source, value }) => `${name.padEnd(nameWidth)}  ${source.padEnd(sourceWidth)}  ${value}`).join('\n')}\n`;
}
