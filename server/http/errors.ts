/** JSON errors of the platform API: `{error: {code, message}}` with a fitting HTTP status. */
import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from '../logging.ts';
import type { z } from 'zod';
import { requestLog } from './request-log.ts';

export const HTTP_ERRORS = {
  badRequest: { status: 400, code: 'BAD_REQUEST' },
  unauthorized: { status: 401, code: 'UNAUTHORIZED' },
  forbidden: { status: 403, code: 'FORBIDDEN' },
  notFound: { status: 404, code: 'NOT_FOUND' },
  /** The request names a host this server does not answer for (the Host allow-list). */
  misdirected: { status: 421, code: 'MISDIRECTED_REQUEST' },
  conflict: { status: 409, code: 'CONFLICT' },
  payloadTooLarge: { status: 413, code: 'PAYLOAD_TOO_LARGE' },
  invalidBody: { status: 422, code: 'INVALID_BODY' },
  rateLimited: { status: 429, code: 'RATE_LIMITED' },
  internal: { status: 500, code: 'INTERNAL' },
  unavailable: { status: 503, code: 'UNAVAILABLE' },
} as const;
export type HttpErrorKind = keyof typeof HTTP_ERRORS;

export function sendError(res: Response, kind: HttpErrorKind, message: string): void {
  const { status, code } = HTTP_ERRORS[kind];
  res.status(status).json({ error: { code, message } });
}

export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}

/** The last handler: malformed JSON and oversize bodies get clear errors; anything else a 500 without details. */
export function jsonErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const type = typeof error === 'object' && error !== null ? (error as { type?: unknown }).type : undefined;
    if (type === 'entity.parse.failed') return sendError(res, 'badRequest', 'the body is not valid JSON');
    if (type === 'entity.too.large') return sendError(res, 'payloadTooLarge', 'the body is too large');
    if (type !== undefined && typeof type === 'string') return sendError(res, 'badRequest', 'the body could not be read');
    // Client errors raised by the router or express.static (a path that cannot be percent-decoded,
    // a file that is not there) keep their 4xx status instead of becoming a 500.
    const status = typeof error === 'object' && error !== null ? (error as { status?: unknown }).status : undefined;
    if (status === 404) return sendError(res, 'notFound', 'no such file');
    if (typeof status === 'number' && status >= 400 && status < 500) return sendError(res, 'badRequest', 'the request is not valid');
    const route = typeof req.route?.path === 'string' ? `${req.baseUrl}${req.route.path}` : undefined;
    requestLog(res, logger).error({ event: 'http.failed', err: error, method: req.method, route }, 'request failed');
    if (!res.headersSent) sendError(res, 'internal', 'the server could not complete this request');
  };
}
