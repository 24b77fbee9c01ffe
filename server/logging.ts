/**
 * Structured logs: JSON lines through pino. Clinical data and credentials never belong in a log
 * line; the redaction below is the safety net behind that rule, not a licence to pass them.
 * Pseudonymous ids (sessionId, socket id, key label) are what a line may carry.
 */
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Fields that must never reach a log, wherever a caller puts them (one level deep). */
export const REDACTED_FIELDS = [
  'token',
  'apiKey',
  'authorization',
  'secret',
  'marks',
  'mm',
  'items',
  'totalMm',
  'result',
  'results',
] as const;

export const REDACT_PATHS: readonly string[] = [
  ...REDACTED_FIELDS,
  ...REDACTED_FIELDS.map((field) => `*.${field}`),
  'req.headers.authorization',
  'req.headers.cookie',
];

export interface LoggerSettings {
  /** pino level: fatal, error, warn, info, debug, trace or silent. Default info. */
  readonly level?: string;
  /** Where the lines go (default stdout). */
  readonly destination?: DestinationStream;
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
