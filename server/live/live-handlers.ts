/**
 * The events a socket may send, each checked for role, rate and shape before it touches anything.
 */
import { ERROR_CODES, type ErrorCode, type Role } from '../../shared/protocol.ts';
import { EmptyPayloadSchema, MarkMoveSchema, RatingSubmitSchema, VisibilityChangeSchema } from '../../shared/schemas.ts';
import { asMarkMove } from '../../shared/fast-guards.ts';
import { answer, invalid, refusal } from './acks.ts';
import { sessionRoom, type RelayContext, type SrsSocket } from './live-relay.ts';
import { markedCount, type LiveSession } from './live-sessions.ts';
import { TokenBucket } from './token-bucket.ts';

const REQUEST_EVENTS = ['rating:submit', 'rating:start', 'rating:withdraw', 'rating:visibility', 'history:read'] as const;
type RequestEvent = (typeof REQUEST_EVENTS)[number];
const KNOWN_EVENTS: ReadonlySet<string> = new Set(['mark:move', ...REQUEST_EVENTS]);

interface UntypedListeners {
  on(event: string, listener: (...args: unknown[]) => void): void;
}

export function registerHandlers(socket: SrsSocket, context: RelayContext): void {
  const { sessionId, role } = socket.data;
  const { live, sessions, forwarder, limits, logger } = context;
  const markBucket = new TokenBucket(limits.marks.capacity, limits.marks.perSecond);
  const requestBucket = new TokenBucket(limits.requests.capacity, limits.requests.perSecond);
  let lastRateLimitNotice = 0;

  function refuseEvent(code: ErrorCode, message: string): void {
    socket.emit('srs:error', { code, message });
  }

  function overMarkLimit(): void {
    // One notice a second at most: a flood must not turn into a flood of answers.
    const now = Date.now();
    if (now - lastRateLimitNotice < 1000) return;
    lastRateLimitNotice = now;
    refuseEvent(ERROR_CODES.rateLimited, 'too many marks: slow down');
  }

  /**
   * Registers an acknowledged request, `(payload, ack)`, run within the rate limit; a failure
   * becomes an INTERNAL refusal. With the ack anywhere else (no payload, extra arguments) the
   * handler could never answer, and the peer would wait forever: that is refused at once.
   */
  function onRequest(event: RequestEvent, run: (payload: unknown, ack: unknown) => Promise<void>): void {
    const listener = (...args: unknown[]): void => {
      const ack = args.at(-1);
      if (typeof ack === 'function' && args.length !== 2) {
        return answer(ack, refusal(ERROR_CODES.invalidPayload, 'send one payload, then the acknowledgement'));
      }
      if (!requestBucket.take()) return answer(ack, refusal(ERROR_CODES.rateLimited, 'too many requests: try again shortly'));
      run(args[0], args[1]).catch((error: unknown) => {
        logger.error({ event: 'socket.request-failed', request: event, sessionId, socketId: socket.id, err: error }, 'request failed');
        answer(ack, refusal(ERROR_CODES.internal, 'the server could not complete this request'));
      });
    };
    (socket as unknown as UntypedListeners).on(event, listener);
  }

  /** True when this socket's role may make the request; otherwise answers FORBIDDEN. */
  function allowed(ack: unknown, needed: Role, message: string): boolean {
    if (role === needed) return true;
    answer(ack, refusal(ERROR_CODES.forbidden, message));
    return false;
  }

  /** The session (fresh from the store when asked), or answers NOT_FOUND. */
  async function sessionOr404(ack: unknown, fresh = false): Promise<LiveSession | null> {
    const session = fresh ? await live.load(sessionId) : (live.peek(sessionId) ?? (await live.load(sessionId)));
    if (!session) answer(ack, refusal(ERROR_CODES.notFound, 'this session does not exist'));
    return session;
  }

  socket.on('mark:move', (payload) => {
    if (!markBucket.take()) return overMarkLimit();
    if (role !== 'client') return refuseEvent(ERROR_CODES.forbidden, 'only the client moves marks');
    // The hot path: a check that allocates nothing; the schema only explains a refusal.
    const mark = asMarkMove(payload);
    if (mark === null) return refuseEvent(ERROR_CODES.invalidPayload, describeMarkMoveError(payload));
    const session = live.peek(sessionId);
    if (!session || session.status !== 'open') {
      return session?.status === 'waiting' || !session
        ? refuseEvent(ERROR_CODES.notOpen, 'the rating has not been started')
        : refuseEvent(ERROR_CODES.alreadySubmitted, `the rating is ${session.status}`);
    }
    const { item, mm } = mark;
    const markedBefore = session.visibility === 'on-submit' ? markedCount(session.marks) : 0;
    session.marks[item] = mm;
    if (session.visibility === 'live') forwarder.push(sessionId, item, mm, mark);
    else if (markedCount(session.marks) !== markedBefore) context.sendActivity(session);
  });

  onRequest('rating:submit', async (payload, ack) => {
    const parsed = RatingSubmitSchema.safeParse(payload);
    if (!parsed.success) return answer(ack, invalid(parsed.error));
    const outcome = await sessions.submit(sessionId, role, parsed.data);
    if (!outcome.ok) return answer(ack, outcome);
    answer(ack, { ok: true, result: outcome.result });
    if (!outcome.created) return;
    context.namespace.to(sessionRoom(sessionId)).emit('rating:submitted', { result: outcome.result });
    const session = live.peek(sessionId) ?? (await live.load(sessionId));
    if (session) await context.update(session, { status: 'submitted', result: outcome.result });
  });

  for (const [event, status] of [['rating:start', 'open'], ['rating:withdraw', 'waiting']] as const) {
    onRequest(event, async (payload, ack) => {
      if (!allowed(ack, 'therapist', 'only the therapist starts or withdraws the rating')) return;
      const parsed = EmptyPayloadSchema.safeParse(payload);
      if (!parsed.success) return answer(ack, invalid(parsed.error));
      const session = await sessionOr404(ack, true);
      if (!session) return;
      if (session.status === 'submitted' || session.status === 'closed') {
        return answer(ack, refusal(ERROR_CODES.alreadySubmitted, `the rating is already ${session.status}`));
      }
      await sessions.setStatus(sessionId, status);
      answer(ack, { ok: true });
      await context.update(session, { status, clearMarks: status === 'waiting' });
    });
  }

  onRequest('rating:visibility', async (payload, ack) => {
    if (!allowed(ack, 'client', 'only the client chooses who sees the marks')) return;
    const parsed = VisibilityChangeSchema.safeParse(payload);
    if (!parsed.success) return answer(ack, invalid(parsed.error));
    const session = await sessionOr404(ack);
    if (!session) return;
    // Takes effect here at once: a mark that arrives while the choice is being stored must not
    // reach the therapist of a client who has just chosen privacy.
    const previous = session.visibility;
    session.visibility = parsed.data.visibility;
    try {
      await sessions.setVisibility(sessionId, parsed.data.visibility);
    } catch (error) {
      session.visibility = previous;
      throw error;
    }
    answer(ack, { ok: true });
    await context.update(session, { visibility: parsed.data.visibility });
  });

  onRequest('history:read', async (payload, ack) => {
    if (!allowed(ack, 'therapist', 'only the therapist reads the history')) return;
    const parsed = EmptyPayloadSchema.safeParse(payload);
    if (!parsed.success) return answer(ack, invalid(parsed.error));
    const session = await sessionOr404(ack);
    if (!session) return;
    const results = await sessions.store.listClientResults(session.tenant, session.clientRef);
    await sessions.store.appendAudit({
      actor: `therapist:${sessionId}`,
      action: 'results.read',
      tenant: session.tenant,
      sessionId,
      clientRef: session.clientRef,
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
