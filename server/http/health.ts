/**
 * GET /healthz: 200 once the store has committed a write, 503 when it cannot. A check that only
 * read answered 200 on a full disk, while every submission failed; a load balancer must take such
 * a node out.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from '../logging.ts';
import type { Store } from '../store/store.ts';
import { sendError } from './errors.ts';

export function healthRoute(store: Store, logger: Logger): RequestHandler {
  // Checks that arrive while one runs share its outcome: however often /healthz is called (it
  // needs no key), the store has at most one health write in flight.
  let running: Promise<boolean> | undefined;
  const check = (): Promise<boolean> => {
    running ??= store
      .checkHealth()
      .then(
        () => true,
        (error: unknown) => {
          logger.error({ event: 'health.failed', err: error }, 'the store cannot write');
          return false;
        },
      )
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  return async (_req: Request, res: Response) => {
    res.set('cache-control', 'no-store');
    if (await check()) res.json({ ok: true });
    else sendError(res, 'unavailable', 'the store cannot write');
  };
}
