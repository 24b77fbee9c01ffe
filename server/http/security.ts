/**
 * HTTP security: helmet's headers with a CSP whose `frame-ancestors` lets the configured
 * platforms frame the pages; CORS for the API that matches the WebSocket origin allow-list; and a
 * per-address rate limit on the API, shared by every node when they share a Redis.
 */
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RedisClient } from '../live/redis.ts';
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

export interface SharedRateLimitStore {
  /** The nodes' shared Redis: every node counts against the same budget per address. */
  readonly redis: RedisClient;
  /** Prefix of the counters' keys; deployments sharing one Redis each use their own. */
  readonly keyPrefix: string;
}

/** The 429 every refused API request gets: the API's JSON error and when to try again. */
function refuseRateLimited(res: Response, retryAfterSeconds: number): void {
  res.set('retry-after', String(Math.max(1, Math.ceil(retryAfterSeconds))));
  sendError(res, 'rateLimited', 'too many requests: try again shortly');
}

/**
 * API requests per client address. On one node, a token bucket in memory. With `shared`, a
 * counter in Redis that all nodes share, so N nodes do not allow N times the budget: a fixed
 * window of `capacity` requests per `capacity / perSecond` seconds (the bucket's burst, refilled at
 * its rate on average). When Redis is down or not ready, each node falls back to the same window
 * in its own memory: a Redis hiccup loosens the limit for a while, it never fails a request.
 */
export function apiRateLimit(limit: { readonly capacity: number; readonly perSecond: number }, shared?: SharedRateLimitStore): RequestHandler {
  return shared ? sharedApiRateLimit(limit, shared) : memoryApiRateLimit(limit);
}

function memoryApiRateLimit(limit: { readonly capacity: number; readonly perSecond: number }): RequestHandler {
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
    refuseRateLimited(res, 1 / limit.perSecond);
  };
}

function sharedApiRateLimit(limit: { readonly capacity: number; readonly perSecond: number }, shared: SharedRateLimitStore): RequestHandler {
  const points = Math.max(1, Math.floor(limit.capacity));
  // Whole seconds: the Redis counter expires with EX.
  const duration = Math.max(1, Math.round(limit.capacity / limit.perSecond));
  const keyPrefix = `${shared.keyPrefix}:api-rate`;
  const limiter = new RateLimiterRedis({
    storeClient: shared.redis,
    useRedisPackage: true,
    // node-redis queues commands while it reconnects: without this a request would wait for Redis.
    rejectIfRedisNotReady: true,
    points,
    duration,
    keyPrefix,
    insuranceLimiter: new RateLimiterMemory({ points, duration, keyPrefix }),
  });
  return (req: Request, res: Response, next: NextFunction) => {
    limiter.consume(req.ip ?? 'unknown').then(
      () => next(),
      (rejection: unknown) => {
        if (rejection instanceof RateLimiterRes) return refuseRateLimited(res, rejection.msBeforeNext / 1000);
        // Neither Redis nor the insurance could count: let the request through rather than fail it.
        next();
      },
    );
  };
}
