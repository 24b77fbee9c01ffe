/**
 * The events a socket may send. Each handler checks rate, role and shape, then calls the
 * session's room, which does the rest; a refusal is an error ack (or an `srs:error` event for
 * volatile messages), never a crash.
 */
import { asMarkMove } from '../../shared/fast-guards.ts';
import { ERROR_CODES, type ErrorCode, type Role } from '../../shared/protocol.ts';
import { EmptyPayloadSchema, MarkMoveSchema, RatingSubmitSchema, VisibilityChangeSchema } from '../../shared/schemas.ts';
import type { Logger } from '../logging.ts';
import type { Metrics } from '../metrics.ts';
import type { SessionService } from '../sessions.ts';
import { answer, invalid, refusal } from './acks.ts';
import type { LiveRoom } from './live-room.ts';
import type { SrsSocket } from './socket-types.ts';
import { TokenBucket, type RateLimits } from './token-bucket.ts';

const REQUEST_EVENTS = ['rating:submit', 'rating:start', 'rating:withdraw', 'rating:visibility', 'history:read'] as const;
type RequestEvent = (typeof REQUEST_EVENTS)[number];
const KNOWN_EVENTS: ReadonlySet<string> = new Set(['mark:move', ...REQUEST_EVENTS]);

interface UntypedListeners {
  on(event: string, listener: (...args: unknown[]) => void): void;
}

export interface HandlerContext {
  readonly sessions: SessionService;
  readonly limits: RateLimits;
  /** This socket's logger (its socketId, sessionId and role on every line). */
  readonly logger: Logger;
  /** Told of every acknowledged request while it runs, so a shutdown can wait for it. */
  readonly track?: (work: Promise<void>) => void;
  readonly metrics?: Metrics | undefined;
}

export function registerHandlers(socket: SrsSocket, room: LiveRoom, context: HandlerContext): void {
  const { sessionId, role } = socket.data;
  const { sessions, limits, logger, metrics } = context;
  const markBucket = new TokenBucket(limits.marks.capacity, limits.marks.perSecond);
  const requestBucket = new TokenBucket(limits.requests.capacity, limits.requests.perSecond);
  let lastRateLimitNotice = 0;

  function refuseEvent(code: ErrorCode, message: string): void {
    socket.emit('srs:error', { code, message });
  }

  function overMarkLimit(): void {
    if (metrics) metrics.marksRateLimited++;
    // One notice a second at most: a flood must not turn into a flood of answers.
    const now = Date.now();
    if (now - lastRateLimitNotice < 1000) return;
    lastRateLimitNotice = now;
    refuseEvent(ERROR_CODES.rateLimited, 'too many marks: slow down');
  }

  /**
   * Registers an acknowledged request, `(payload, ack)`, run within this socket's and the whole
   * session's rate limits; a failure becomes an INTERNAL refusal. With the ack anywhere else (no
   * payload, extra arguments) the handler could never answer, and the peer would wait forever:
   * that is refused at once.
   */
  function onRequest(event: RequestEvent, run: (payload: unknown, ack: unknown) => Promise<void>): void {
    const listener = (...args: unknown[]): void => {
      const ack = args.at(-1);
      if (typeof ack === 'function' && args.length !== 2) {
        return answer(ack, refusal(ERROR_CODES.invalidPayload, 'send one payload, then the acknowledgement'));
      }
      const overSocket = !requestBucket.take();
      if (overSocket || !room.admitRequest()) {
        metrics?.rateLimited(overSocket ? 'socket_request' : 'session_request');
        return answer(ack, refusal(ERROR_CODES.rateLimited, 'too many requests: try again shortly'));
      }
      const work = run(args[0], args[1]).catch((error: unknown) => {
        logger.error({ event: 'socket.request-failed', request: event, err: error }, 'request failed');
        answer(ack, refusal(ERROR_CODES.internal, 'the server could not complete this request'));
      });
      context.track?.(work);
    };
    (socket as unknown as UntypedListeners).on(event, listener);
  }

  /** True when this socket's role may make the request; otherwise answers FORBIDDEN. */
  function allowed(ack: unknown, needed: Role, message: string): boolean {
    if (role === needed) return true;
    answer(ack, refusal(ERROR_CODES.forbidden, message));
    return false;
  }

  socket.on('mark:move', (payload) => {
    if (!markBucket.take()) return overMarkLimit();
    if (role !== 'client') return refuseEvent(ERROR_CODES.forbidden, 'only the client moves marks');
    // The hot path: a check that allocates nothing; the schema only explains a refusal.
    const mark = asMarkMove(payload);
    if (mark === null) return refuseEvent(ERROR_CODES.invalidPayload, describeMarkMoveError(payload));
    const refused = room.move(mark);
    if (refused !== null) refuseEvent(refused.code, refused.message);
  });

  onRequest('rating:submit', async (payload, ack) => {
    // From the request to its acknowledgement, which waits for the store to commit.
    const stopTimer = metrics?.submitSeconds.startTimer();
    try {
      const parsed = RatingSubmitSchema.safeParse(payload);
      if (!parsed.success) return answer(ack, invalid(parsed.error));
      const outcome = await room.submit(role, parsed.data);
      answer(ack, outcome.ok ? { ok: true, result: outcome.result } : outcome);
      if (!outcome.ok) logger.info({ event: 'rating.submit-refused', code: outcome.error.code, submissionId: parsed.data.submissionId }, 'submission refused');
    } finally {
      stopTimer?.();
    }
  });

  for (const [event, command] of [
    ['rating:start', () => room.start()],
    ['rating:withdraw', () => room.withdraw()],
  ] as const) {
    onRequest(event, async (payload, ack) => {
      if (!allowed(ack, 'therapist', 'only the therapist starts or withdraws the rating')) return;
      const parsed = EmptyPayloadSchema.safeParse(payload);
      if (!parsed.success) return answer(ack, invalid(parsed.error));
      answer(ack, await command());
    });
  }

  onRequest('rating:visibility', async (payload, ack) => {
    if (!allowed(ack, 'client', 'only the client chooses who sees the marks')) return;
    const parsed = VisibilityChangeSchema.safeParse(payload);
    if (!parsed.success) return answer(ack, invalid(parsed.error));
    answer(ack, await room.setVisibility(parsed.data.visibility));
  });

  onRequest('history:read', async (payload, ack) => {
    if (!allowed(ack, 'therapist', 'only the therapist reads the history')) return;
    const parsed = EmptyPayloadSchema.safeParse(payload);
    if (!parsed.success) return answer(ack, invalid(parsed.error));
    const results = await sessions.store.listClientResults(room.tenant, room.clientRef);
    await sessions.store.appendAudit({
      actor: `therapist:${sessionId}`,
      action: 'results.read',
      tenant: room.tenant,
      sessionId,
      clientRef: room.clientRef,
      at: new Date().toISOString(),
    });
    answer(ack, { ok: true, results });
  });

  // Named parameters rather than a rest array: this runs for every packet, live marks included.
  socket.onAny((event: string, first?: unknown, second?: unknown, third?: unknown) => {
    if (KNOWN_EVENTS.has(event)) return;
    const error = { code: ERROR_CODES.unknownEvent, message: 'unknown event' } as const;
    const ack = [third, second, first].find((arg) => typeof arg === 'function');
    if (ack) answer(ack, { ok: false, error });
    else refuseEvent(error.code, error.message);
  });
}

function describeMarkMoveError(payload: unknown): string {
  const parsed = MarkMoveSchema.safeParse(payload);
  return parsed.success ? 'invalid payload' : invalid(parsed.error).error.message;
}
