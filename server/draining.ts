/**
 * A node's drain before it stops (SIGTERM): from `begin()` on, /healthz answers 503 so a load
 * balancer takes the node out, every HTTP answer carries `Connection: close` so a kept-alive
 * connection goes elsewhere for its next request, and Engine.IO refuses new socket handshakes (the
 * client's manager retries, through the load balancer, on another node). The work in flight (the
 * sockets' acknowledged requests) is tracked, so the shutdown can wait for it before it closes
 * the transports and the store.
 */
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { sendError } from './http/errors.ts';

type AllowRequest = (req: IncomingMessage, callback: (error: string | null | undefined, success: boolean) => void) => void;

export class Drain {
  #draining = false;
  readonly #inFlight = new Set<Promise<unknown>>();

  get draining(): boolean {
    return this.#draining;
  }

  /** How many tracked tasks have not finished yet. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  begin(): void {
    this.#draining = true;
  }

  /** Tracks a task until it settles; its outcome is the caller's to handle. */
  track(work: Promise<unknown>): void {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.#inFlight.add(settled);
    void settled.finally(() => this.#inFlight.delete(settled));
  }

  /**
   * Resolves true once the tasks tracked now have settled, or false when `timeoutMs` passes first.
   * Tasks that start meanwhile are not waited for: a peer that keeps sending must not hold the
   * drain open (they are waited for by the next call).
   */
  async settled(timeoutMs: number): Promise<boolean> {
    if (this.#inFlight.size === 0) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([Promise.all([...this.#inFlight]).then(() => true as const), expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Before /healthz: a draining node is not ready, whatever its store says. */
  readiness(): RequestHandler {
    return (_req: Request, res: Response, next: NextFunction) => {
      if (!this.#draining) return next();
      res.set('cache-control', 'no-store');
      sendError(res, 'unavailable', 'this node is shutting down');
    };
  }

  /** While draining, each answer closes its connection: the next request opens one to another node. */
  closeConnections(): RequestHandler {
    return (_req: Request, res: Response, next: NextFunction) => {
      if (this.#draining) res.set('connection', 'close');
      next();
    };
  }

  /** Engine.IO's allowRequest: refuses handshakes while draining, otherwise asks `allow`. */
  allowRequest(allow: AllowRequest): AllowRequest {
    return (req, callback) => {
      if (this.#draining) callback('this node is shutting down', false);
      else allow(req, callback);
    };
  }
}

/** What closeTransports needs of a Socket.IO socket: its Engine.IO connection. */
interface Connected {
  readonly conn: { readonly readyState: string; close(): void; once(event: 'close', listener: () => void): unknown };
}

/**
 * Closes the sockets' connections, each once it has sent what it still has queued (an answer just
 * given included): a client sees its transport close and reconnects. Resolves when every one is
 * closed, or after `timeoutMs`. (Socket.IO's own close() discards what is queued.)
 */
export async function closeTransports(sockets: Iterable<Connected>, timeoutMs: number): Promise<void> {
  const connections = new Set([...sockets].map((socket) => socket.conn).filter((conn) => conn.readyState === 'open'));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const closed = [...connections].map(
    (conn) =>
      new Promise<void>((resolve) => {
        conn.once('close', resolve);
        conn.close();
      }),
  );
  await Promise.race([Promise.all(closed), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
}
