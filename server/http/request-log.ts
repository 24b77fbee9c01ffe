/**
 * Every HTTP request gets an id: the caller's `X-Request-Id` when it is a sane one (a proxy or the
 * platform may have made it, and following it across systems is the point), otherwise a new UUID.
 * The id is echoed in the response's `X-Request-Id` and carried by a child logger that every line
 * about the request uses (`requestLog(res)`), and one line is logged when the answer is sent.
 * That line names the route's pattern (`/api/clients/:clientRef/results`), never the path, which
 * may carry a clientRef; query strings, headers and bodies are never logged.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../logging.ts';
import type { Metrics } from '../metrics.ts';

export const REQUEST_ID_HEADER = 'x-request-id';
/** Letters, digits and `._:-`, at most 128 characters: enough for UUIDs, ULIDs and trace ids, nothing that could forge a log line. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Polled by load balancers and Prometheus: their lines only at debug level. */
const PROBES: ReadonlySet<string> = new Set(['/healthz', '/metrics']);

export function requestIdOf(incoming: string | undefined): string {
  return incoming !== undefined && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** The request's own logger (with its requestId); `fallback` outside a request. */
export function requestLog(res: Response, fallback: Logger): Logger {
  return (res.locals['log'] as Logger | undefined) ?? fallback;
}

export function requestContext(logger: Logger, metrics?: Metrics): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const requestId = requestIdOf(req.get(REQUEST_ID_HEADER));
    res.set(REQUEST_ID_HEADER, requestId);
    const log = logger.child({ requestId });
    res.locals['log'] = log;
    const started = performance.now();
    let logged = false;
    const done = (aborted: boolean) => {
      if (logged) return;
      logged = true;
      const status = res.statusCode;
      if (status === 429 && req.originalUrl.startsWith('/api/')) metrics?.rateLimited('http_api');
      const route = typeof req.route?.path === 'string' ? `${req.baseUrl}${req.route.path}` : undefined;
      const line = {
        event: 'http.request',
        method: req.method,
        route,
        status,
        durationMs: Math.round(performance.now() - started),
        ...(aborted ? { aborted } : {}),
      };
      if (status >= 500) log.warn(line, 'request answered with an error');
      else if (PROBES.has(req.path)) log.debug(line, 'request');
      else log.info(line, 'request');
    };
    res.once('finish', () => done(false));
    res.once('close', () => done(!res.writableFinished));
    next();
  };
}

type AllowRequest = (req: IncomingMessage, callback: (error: string | null | undefined, success: boolean) => void) => void;

/**
 * Socket.IO's `allowRequest`, with each refused handshake logged (its reason, origin and address).
 * No socket exists yet, so the line has no socket id.
 */
export function refusedHandshakesLogged(allowRequest: AllowRequest, logger: Logger): AllowRequest {
  return (req, callback) =>
    allowRequest(req, (error, success) => {
      if (!success) {
        logger.warn(
          { event: 'ws.handshake-refused', reason: error ?? 'refused', origin: req.headers.origin, address: req.socket.remoteAddress },
          'WebSocket handshake refused',
        );
      }
      callback(error, success);
    });
}
