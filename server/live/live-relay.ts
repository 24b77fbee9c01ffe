/**
 * The live relay: Socket.IO namespace `/srs`, one room per session. Every payload is parsed with
 * the shared schemas before anything is done with it; a refusal is an error ack (or an
 * `srs:error` event for volatile messages), never a crash.
 */
import type { Namespace, Server, Socket } from 'socket.io';
import type { z } from 'zod';
import {
  ERROR_CODES,
  NAMESPACE,
  type ClientToServerEvents,
  type ErrorCode,
  type ProtocolError,
  type Result,
  type ServerToClientEvents,
  type SessionState,
  type SocketData,
} from '../../shared/protocol.ts';
import { EmptyPayloadSchema, MarkMoveSchema, RatingSubmitSchema } from '../../shared/schemas.ts';
import { emptyMarks } from '../../shared/scoring.ts';
import type { SessionService } from '../sessions.ts';
import { authenticateSocket } from './socket-auth.ts';
import type { TokenSigner } from '../tokens.ts';

export type SrsServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type SrsNamespace = Namespace<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type SrsSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

const KNOWN_EVENTS: ReadonlySet<string> = new Set(['mark:move', 'rating:submit', 'rating:start', 'rating:withdraw']);

export function sessionRoom(sessionId: string): string {
  return `session:${sessionId}`;
}

export function therapistRoom(sessionId: string): string {
  return `session:${sessionId}:therapist`;
}

export interface LiveRelay {
  readonly namespace: SrsNamespace;
  /** Sends the full state to everyone in the session. */
  broadcastState(sessionId: string): Promise<void>;
  /** Disconnects every socket of a session (it was closed). */
  disconnectSession(sessionId: string): void;
}

export function attachLiveRelay(io: SrsServer, sessions: SessionService, signer: TokenSigner): LiveRelay {
  const namespace: SrsNamespace = io.of(NAMESPACE);
  namespace.use(authenticateSocket(sessions, signer));

  async function stateOf(sessionId: string): Promise<SessionState | null> {
    const current = await sessions.get(sessionId);
    if (!current) return null;
    return {
      sessionId,
      instrument: current.session.instrument,
      status: current.session.status,
      marks: current.result ? marksOfResult(current.result.items) : { ...sessions.marksOf(sessionId) },
      result: current.result,
      presence: await presenceOf(sessionId),
    };
  }

  async function presenceOf(sessionId: string): Promise<SessionState['presence']> {
    const sockets = await namespace.in(sessionRoom(sessionId)).fetchSockets();
    return {
      client: sockets.some((socket) => socket.data.role === 'client'),
      therapist: sockets.some((socket) => socket.data.role === 'therapist'),
    };
  }

  async function broadcastPresence(sessionId: string): Promise<void> {
    namespace.to(sessionRoom(sessionId)).emit('presence', await presenceOf(sessionId));
  }

  async function broadcastState(sessionId: string): Promise<void> {
    const state = await stateOf(sessionId);
    if (state) namespace.to(sessionRoom(sessionId)).emit('session:state', state);
  }

  namespace.on('connection', (socket: SrsSocket) => {
    const { sessionId, role } = socket.data;
    void socket.join(role === 'therapist' ? [sessionRoom(sessionId), therapistRoom(sessionId)] : sessionRoom(sessionId));
    registerHandlers(socket);
    void guard(socket, async () => {
      const state = await stateOf(sessionId);
      if (state) socket.emit('session:state', state);
      await broadcastPresence(sessionId);
    });
    socket.on('disconnect', () => {
      void guard(socket, () => broadcastPresence(sessionId));
    });
  });

  function registerHandlers(socket: SrsSocket): void {
    const { sessionId, role } = socket.data;

    socket.on('mark:move', (payload) => {
      if (role !== 'client') return refuseEvent(socket, ERROR_CODES.forbidden, 'only the client moves marks');
      const parsed = MarkMoveSchema.safeParse(payload);
      if (!parsed.success) return refuseEvent(socket, ERROR_CODES.invalidPayload, describe(parsed.error));
      sessions.recordMark(sessionId, parsed.data.item, parsed.data.mm);
      socket.to(therapistRoom(sessionId)).emit('mark:moved', parsed.data);
    });

    socket.on('rating:submit', (payload, ack) => {
      void guard(socket, async () => {
        const parsed = RatingSubmitSchema.safeParse(payload);
        if (!parsed.success) return answer(ack, { ok: false, error: invalid(parsed.error) });
        const outcome = await sessions.submit(sessionId, role, parsed.data);
        if (!outcome.ok) return answer(ack, outcome);
        answer(ack, { ok: true, result: outcome.result });
        if (outcome.created) namespace.to(sessionRoom(sessionId)).emit('rating:submitted', { result: outcome.result });
      }, ack);
    });

    for (const [event, status] of [['rating:start', 'open'], ['rating:withdraw', 'waiting']] as const) {
      socket.on(event, (payload, ack) => {
        void guard(socket, async () => {
          if (role !== 'therapist') return answer(ack, refusal(ERROR_CODES.forbidden, 'only the therapist starts or withdraws the rating'));
          const parsed = EmptyPayloadSchema.safeParse(payload);
          if (!parsed.success) return answer(ack, { ok: false, error: invalid(parsed.error) });
          const current = await sessions.get(sessionId);
          if (!current) return answer(ack, refusal(ERROR_CODES.notFound, 'this session does not exist'));
          if (current.session.status === 'submitted' || current.session.status === 'closed') {
            return answer(ack, refusal(ERROR_CODES.alreadySubmitted, `the rating is already ${current.session.status}`));
          }
          await sessions.setStatus(sessionId, status);
          if (status === 'waiting') sessions.forgetMarks(sessionId);
          answer(ack, { ok: true });
          await broadcastState(sessionId);
        }, ack);
      });
    }

    socket.onAny((event: string, ...args: unknown[]) => {
      if (KNOWN_EVENTS.has(event)) return;
      const error = { code: ERROR_CODES.unknownEvent, message: 'unknown event' } as const;
      const last = args.at(-1);
      if (typeof last === 'function') answer(last, { ok: false, error });
      else socket.emit('srs:error', error);
    });
  }

  return {
    namespace,
    broadcastState,
    disconnectSession(sessionId: string) {
      namespace.in(sessionRoom(sessionId)).disconnectSockets(true);
    },
  };
}

function marksOfResult(items: Result['items']): SessionState['marks'] {
  const marks = emptyMarks();
  for (const item of items) marks[item.id] = item.mm;
  return marks;
}

/** Calls an ack only if the peer sent one: a payload without a callback must not crash the server. */
function answer(ack: unknown, response: unknown): void {
  if (typeof ack === 'function') (ack as (value: unknown) => void)(response);
}

function refusal(code: ErrorCode, message: string): { ok: false; error: ProtocolError } {
  return { ok: false, error: { code, message } };
}

function refuseEvent(socket: SrsSocket, code: ErrorCode, message: string): void {
  socket.emit('srs:error', { code, message });
}

function invalid(error: z.ZodError): ProtocolError {
  return { code: ERROR_CODES.invalidPayload, message: describe(error) };
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid payload';
  const path = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return `${path}${issue.message}`.slice(0, 200);
}

/** Runs a handler; an unexpected failure becomes an INTERNAL error ack and a log line without clinical data. */
async function guard(socket: SrsSocket, run: () => Promise<void>, ack?: unknown): Promise<void> {
  try {
    await run();
  } catch (error) {
    console.error(`srs-live: handler failed for session ${socket.data.sessionId}: ${(error as Error).name}`);
    answer(ack, refusal(ERROR_CODES.internal, 'the server could not complete this request'));
  }
}
