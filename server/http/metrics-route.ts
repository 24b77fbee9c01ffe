/**
 * GET /metrics: the Prometheus text exposition, for `Authorization: Bearer <SRS_METRICS_TOKEN>`.
 * Without a configured token there are no metrics and the route answers 404, as any unknown path;
 * with one, a missing or wrong token gets 401 (logged, never with the token).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from '../logging.ts';
import type { Metrics } from '../metrics.ts';
import { bearerOf } from './api-auth.ts';
import { sendError } from './errors.ts';
import { requestLog } from './request-log.ts';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

export function metricsRoute(metrics: Metrics | undefined, token: string | undefined, logger: Logger): RequestHandler {
  const expected = token === undefined ? undefined : digest(token);
  return async (req: Request, res: Response) => {
    res.set('cache-control', 'no-store');
    if (!metrics || !expected) return sendError(res, 'notFound', 'no such page');
    const bearer = bearerOf(req);
    // Equal-length digests, compared in constant time: the answer's timing says nothing of the token.
    if (bearer === null || !timingSafeEqual(digest(bearer), expected)) {
      requestLog(res, logger).warn(
        { event: 'metrics.refused', reason: bearer === null ? 'missing-credential' : 'wrong-token', ip: req.ip },
        'metrics scrape refused',
      );
      res.set('www-authenticate', 'Bearer realm="metrics"');
      return sendError(res, 'unauthorized', 'send the metrics token as "Authorization: Bearer <token>"');
    }
    const { contentType, body } = await metrics.exposition();
    res.type(contentType).send(body);
  };
}
