/**
 * The live relay: Socket.IO namespace `/srs`, a room per session and one per role in it. Every
 * payload is parsed with the shared schemas before anything is done with it; a refusal is an
 * error ack (or an `srs:error` event for volatile messages), never a crash. With several nodes,
 * rooms span nodes through the adapter and session changes reach the other nodes' caches as
 * server-side events.
 */
import type { Namespace, Server, Socket } from 'socket.io';
import {
  NAMESPACE,
  type ClientToServerEvents,
  type Result,
  type Role,
  type ServerToClientEvents,
  type SessionState,
  type SessionStatus,
  type SocketData,
  type Visibility,
} from '../../shared/protocol.ts';
import { emptyMarks, marksOfItems } from '../../shared/scoring.ts';
import type { SessionService } from '../sessions.ts';
import type { TokenSigner } from '../tokens.ts';
import { silentLogger, type Logger } from '../logging.ts';
import { registerHandlers } from './live-handlers.ts';
import { LiveSessions, markedCount, type LiveSession } from './live-sessions.ts';
import { MarkForwarder } from './mark-forwarder.ts';
import { authenticateSocket } from './socket-auth.ts';
import { DEFAULT_RATE_LIMITS, type RateLimits } from './token-bucket.ts';
import { scheduleTokenExpiry } from './token-expiry.ts';

/** A change of a session that every node applies to its cache. */
export interface SessionUpdate {
  readonly sessionId: string;
  readonly status: SessionStatus;
  readonly visibility: Visibility;
  readonly result: Result | null;
  readonly clearMarks: boolean;
}

export interface InterServerEvents {
  'srs:session-update': (update: SessionUpdate) => void;
  /** A therapist joined: the node holding the client's live marks replays them. */
  'srs:replay-marks': (sessionId: string) => void;
}

export type SrsServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type SrsNamespace = Namespace<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type SrsSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

const PRESENCE_TIMEOUT_MS = 1_500;

export function sessionRoom(sessionId: string): string {
  return `session:${sessionId}`;
}

export function roleRoom(sessionId: string, role: Role): string {
  return `session:${sessionId}:${role}`;
}

export interface RelayContext {
  readonly namespace: SrsNamespace;
  readonly sessions: SessionService;
  readonly live: LiveSessions;
  readonly forwarder: MarkForwarder;
  readonly limits: RateLimits;
  readonly logger: Logger;
  /** Applies a change here and on every other node, then sends each role its new state. */
  update(live: LiveSession, change: Partial<Pick<SessionUpdate, 'status' | 'visibility' | 'result' | 'clearMarks'>>): Promise<void>;
  /** Tells the therapist how many lines a privately rating client has marked. */
  sendActivity(live: LiveSession): void;
}

export interface LiveRelay {
  readonly namespace: SrsNamespace;
  /** Disconnects every socket of a session (it was closed). */
  disconnectSession(sessionId: string): void;
  close(): void;
}

export interface LiveRelayOptions {
  readonly limits?: RateLimits;
  /** True when an adapter links several nodes: session changes are then told to the others. */
  readonly clustered?: boolean;
  readonly logger?: Logger;
}

export function attachLiveRelay(io: SrsServer, sessions: SessionService, signer: TokenSigner, options: LiveRelayOptions = {}): LiveRelay {
  const limits = options.limits ?? DEFAULT_RATE_LIMITS;
  const logger = options.logger ?? silentLogger();
  const tellOtherNodes: SrsNamespace['serverSideEmit'] = options.clustered ? (...args) => namespace.serverSideEmit(...args) : () => true;
  const namespace: SrsNamespace = io.of(NAMESPACE);
  const live = new LiveSessions(sessions);
  // One broadcast operator per session with sockets on this node, reused for every live mark.
  const toTherapists = new Map<string, ReturnType<SrsNamespace['to']>>();
  const forwarder = new MarkForwarder((sessionId, mark) => {
    let therapists = toTherapists.get(sessionId);
    if (!therapists) {
      therapists = namespace.to(roleRoom(sessionId, 'therapist'));
      toTherapists.set(sessionId, therapists);
    }
    therapists.emit('mark:moved', mark);
  });
  const sweeper = setInterval(() => forwarder.sweep(), 60_000);
  sweeper.unref();
  namespace.use(authenticateSocket(live, signer, logger));

  /**
   * Who is connected, on any node. A node that died does not answer until the adapter's heartbeat
   * gives up on it; meanwhile this node answers with what it knows rather than not at all.
   */
  async function presenceOf(sessionId: string): Promise<SessionState['presence']> {
    const sockets = await namespace
      .in(sessionRoom(sessionId))
      .timeout(PRESENCE_TIMEOUT_MS)
      .fetchSockets()
      .catch(() => namespace.in(sessionRoom(sessionId)).local.fetchSockets());
    return {
      client: sockets.some((socket) => socket.data.role === 'client'),
      therapist: sockets.some((socket) => socket.data.role === 'therapist'),
    };
  }

  function stateFor(session: LiveSession, role: Role, presence: SessionState['presence']): SessionState {
    // A client who chose to show the marks only on submission: the therapist's copy carries none.
    const hidden = role === 'therapist' && session.visibility === 'on-submit' && session.result === null;
    return {
      sessionId: session.sessionId,
      instrument: session.instrument,
      status: session.status,
      visibility: session.visibility,
      marks: hidden ? emptyMarks() : { ...session.marks },
      result: session.result,
      presence,
    };
  }

  async function broadcastState(session: LiveSession): Promise<void> {
    const presence = await presenceOf(session.sessionId);
    for (const role of ['client', 'therapist'] as const) {
      namespace.to(roleRoom(session.sessionId, role)).emit('session:state', stateFor(session, role, presence));
    }
  }

  function apply(update: SessionUpdate): LiveSession | undefined {
    const session = live.peek(update.sessionId);
    if (!session) return undefined;
    // A stored result is final: a start or withdrawal that raced the submission must not reopen it.
    session.status = update.result && update.status !== 'closed' ? 'submitted' : update.status;
    session.visibility = update.visibility;
    session.result = update.result;
    if (update.result) session.marks = marksOfItems(update.result.items);
    else if (update.clearMarks) session.marks = emptyMarks();
    if (session.status !== 'open') forwarder.discard(update.sessionId);
    return session;
  }

  namespace.on('srs:session-update', (update) => {
    apply(update);
  });

  namespace.on('srs:replay-marks', (sessionId) => {
    const session = live.peek(sessionId);
    if (!session || session.status !== 'open' || session.result) return;
    if (session.visibility === 'on-submit') return context.sendActivity(session);
    for (const [item, mm] of Object.entries(session.marks)) {
      if (mm !== null) namespace.to(roleRoom(sessionId, 'therapist')).emit('mark:moved', { item: item as keyof typeof session.marks, mm });
    }
  });

  const context: RelayContext = {
    namespace,
    sessions,
    live,
    forwarder,
    limits,
    logger,
    async update(session, change) {
      const update: SessionUpdate = {
        sessionId: session.sessionId,
        status: change.status ?? session.status,
        visibility: change.visibility ?? session.visibility,
        result: change.result ?? session.result,
        clearMarks: change.clearMarks ?? false,
      };
      apply(update);
      tellOtherNodes('srs:session-update', update);
      await broadcastState(session);
    },
    sendActivity(session) {
      namespace.to(roleRoom(session.sessionId, 'therapist')).emit('rating:activity', { marked: markedCount(session.marks) });
    },
  };

  namespace.on('connection', (socket: SrsSocket) => {
    const { sessionId, role } = socket.data;
    void socket.join([sessionRoom(sessionId), roleRoom(sessionId, role)]);
    registerHandlers(socket, context);
    scheduleTokenExpiry(socket);
    void guarded(logger, async () => {
      const session = live.peek(sessionId) ?? (await live.load(sessionId));
      if (!session) return;
      const presence = await presenceOf(sessionId);
      socket.emit('session:state', stateFor(session, role, presence));
      socket.to(sessionRoom(sessionId)).emit('presence', presence);
      if (role === 'therapist') tellOtherNodes('srs:replay-marks', sessionId);
    });
    socket.on('disconnect', () => {
      if (!namespace.adapter.rooms.get(sessionRoom(sessionId))?.size) {
        live.forget(sessionId);
        forwarder.discard(sessionId);
        toTherapists.delete(sessionId);
      }
      void guarded(logger, async () => {
        namespace.to(sessionRoom(sessionId)).emit('presence', await presenceOf(sessionId));
      });
    });
  });

  return {
    namespace,
    disconnectSession(sessionId: string) {
      namespace.in(sessionRoom(sessionId)).disconnectSockets(true);
    },
    close() {
      clearInterval(sweeper);
      forwarder.close();
    },
  };
}

async function guarded(logger: Logger, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    logger.error({ event: 'live.task-failed', err: error }, 'live relay task failed');
  }
}
