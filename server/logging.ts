/**
 * Structured logs: JSON lines through pino. Clinical data and credentials never belong in a log
 * line; the redaction below is the safety net behind that rule, not a licence to pass them.
 * Pseudonymous ids (sessionId, socket id, key label) are what a line may carry.
 */
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Fields that must never reach a log, wherever a caller puts them (one level deep). */
export const REDACTED_FIELDS = ['token', 'apiKey', 'authorization', 'secret', 'marks', 'mm', 'items', 'totalMm', 'result', 'results'] as const;

export const REDACT_PATHS: readonly string[] = [
  ...REDACTED_FIELDS,
  ...REDACTED_FIELDS.map((field) => `*.${field}`),
  'req.headers.authorization',
  'req.headers.cookie',
];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** `json`: one JSON object a line (for a log pipeline); `pretty`: coloured text for a developer's terminal (pino-pretty). */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerSettings {
  /** pino level: fatal, error, warn, info, debug, trace or silent. Default info. */
  readonly level?: string;
  /** Default json. */
  readonly format?: LogFormat;
  /** Where the lines go (default stdout); JSON lines only. */
  readonly destination?: DestinationStream;
}

export class LogSetupError extends Error {
  override name = 'LogSetupError';
}

/**
 * Where pino-pretty is, for the pretty form. It is a development dependency: a production install
 * (`npm ci --omit=dev`) has none, and then says so rather than failing in a worker thread.
 */
export function prettyTarget(): string {
  try {
    return createRequire(import.meta.url).resolve('pino-pretty');
  } catch {
    throw new LogSetupError(
      'SRS_LOG_FORMAT=pretty needs pino-pretty, a development dependency that is not installed here: run `npm install` (without --omit=dev), or unset SRS_LOG_FORMAT for JSON lines',
    );
  }
}

export function loggerOptions(level = 'info'): LoggerOptions {
  return {
    level,
    base: { service: 'srs-live' },
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    // Errors keep their name and message; their stack only at debug level (it may quote data).
    serializers: { err: (error: unknown) => serializeError(error, level === 'debug' || level === 'trace') },
  };
}

export function createLogger(settings: LoggerSettings = {}): Logger {
  const options = loggerOptions(settings.level);
  if (settings.format === 'pretty') {
    // Redaction and serializers run before the transport: the pretty form hides what JSON hides.
    return pino({
      ...options,
      transport: { target: prettyTarget(), options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' } },
    });
  }
  return settings.destination ? pino(options, settings.destination) : pino(options);
}

/** A logger that writes nothing (the default of createApp in tests that do not look at logs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

function serializeError(error: unknown, withStack: boolean): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error };
  const code = (error as { code?: unknown }).code;
  return {
    type: error.name,
    message: error.message,
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    ...(withStack && error.stack ? { stack: error.stack } : {}),
  };
}
