/**
 * HTTP security: helmet's headers with a CSP whose `frame-ancestors` lets the configured
 * platforms frame the pages; CORS for the API that matches the WebSocket origin allow-list; and a
 * per-address rate limit on the API.
 */
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import { TokenBucket } from '../live/token-bucket.ts';
import { sendError } from './errors.ts';

export interface SecurityOptions {
  /** Origins allowed to open the WebSocket and call the API from a browser; undefined = any. */
  readonly allowedOrigins: readonly string[] | undefined;
  /** Sources allowed to frame the pages (CSP `frame-ancestors`). */
  readonly frameAncestors: readonly string[];
}

export function securityHeaders({ frameAncestors }: SecurityOptions): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // Lit adopts constructed style sheets; the pages carry one inline <style> each.
        styleSrc: ["'self'", "'unsafe-inline'"],
        connectSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        frameSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: [...frameAncestors],
      },
    },
    // X-Frame-Options cannot name several platforms; the CSP's frame-ancestors decides framing.
    frameguard: false,
    crossOriginEmbedderPolicy: false,
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: { maxAge: 15_552_000, includeSubDomains: false },
  });
}

/** Whether a browser request from `origin` may proceed; a request without an Origin header is judged by its credentials alone. */
export function originAllowed(origin: string | undefined, allowedOrigins: readonly string[] | undefined): boolean {
  return origin === undefined || allowedOrigins === undefined || allowedOrigins.includes(origin);
}

/** Socket.IO's `allowRequest`: refuses a WebSocket handshake from a browser page on a disallowed origin. */
export function allowSocketRequest(allowedOrigins: readonly string[] | undefined) {
  return (req: IncomingMessage, callback: (error: string | null | undefined, success: boolean) => void): void => {
    const allowed = originAllowed(req.headers.origin, allowedOrigins);
    callback(allowed ? null : 'origin not allowed', allowed);
  };
}

export function apiCors(allowedOrigins: readonly string[] | undefined): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const origin = req.get('origin');
    if (origin !== undefined && !originAllowed(origin, allowedOrigins)) {
      return sendError(res, 'forbidden', 'this origin may not call the API');
    }
    if (origin !== undefined) {
      // Credentials travel in the Authorization header, never in cookies: no Allow-Credentials.
      res.set('access-control-allow-origin', allowedOrigins === undefined ? '*' : origin);
      res.vary('origin');
    }
    if (req.method === 'OPTIONS') {
      res.set('access-control-allow-methods', 'GET, POST');
      res.set('access-control-allow-headers', 'authorization, content-type');
      res.set('access-control-max-age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}

export function apiRateLimit(limit: { readonly capacity: number; readonly perSecond: number }): RequestHandler {
  const buckets = new Map<string, TokenBucket>();
  const sweeper = setInterval(() => buckets.clear(), 10 * 60_000);
  sweeper.unref();
  return (req: Request, res: Response, next: NextFunction) => {
    const key = req.ip ?? 'unknown';
    let bucket = buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(limit.capacity, limit.perSecond);
      buckets.set(key, bucket);
    }
    if (bucket.take()) return next();
    res.set('retry-after', String(Math.ceil(1 / limit.perSecond)));
    sendError(res, 'rateLimited', 'too many requests: try again shortly');
  };
}
