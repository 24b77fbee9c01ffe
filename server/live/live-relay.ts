/**
 * The live relay: Socket.IO namespace `/srs`. It admits sockets (socket-auth.ts), gives each to
 * its session's room (live-room.ts) with its handlers (live-handlers.ts), and carries the rooms'
 * messages between nodes. Every other namespace, the default one included, is refused.
 */
import { NAMESPACE, ERROR_CODES, type Presence } from '../../shared/protocol.ts';
import { silentLogger, type Logger } from '../logging.ts';
import type { Metrics } from '../metrics.ts';
import type { SessionService } from '../sessions.ts';
import type { TokenSigner } from '../tokens.ts';
import { registerHandlers } from './live-handlers.ts';
import type { RoomSync } from './live-room.ts';
import { LiveRooms } from './live-rooms.ts';
import { MarkForwarder } from './mark-forwarder.ts';
import { admittedRoom, authenticateSocket, handshakeError } from './socket-auth.ts';
import type { SrsNamespace, SrsServer, SrsSocket } from './socket-types.ts';
import { DEFAULT_RATE_LIMITS, type RateLimits } from './token-bucket.ts';
import { scheduleTokenExpiry } from './token-expiry.ts';

export type { SrsNamespace, SrsServer, SrsSocket } from './socket-types.ts';

const PRESENCE_TIMEOUT_MS = 1_500;
export const DEFAULT_MAX_THERAPIST_SOCKETS = 3;

/** The Socket.IO room of a session's sockets, across nodes (for presence, caps and closing). */
export function sessionRoom(sessionId: string): string {
  return `session:${sessionId}`;
}

export interface LiveRelay {
  readonly namespace: SrsNamespace;
  readonly rooms: LiveRooms;
  /** The session was closed: its sockets, on every node, hear so and are let go. */
  closeSession(sessionId: string): Promise<void>;
  /** This node is shutting down: its sockets, and any that join from now on, hear `server:draining`. */
  drain(): void;
  close(): void;
}

export interface LiveRelayOptions {
  readonly limits?: RateLimits;
  /** True when an adapter links several nodes: the rooms' changes are then told to the others. */
  readonly clustered?: boolean;
  readonly logger?: Logger;
  /** Concurrent therapist sockets a session allows (default 3). */
  readonly maxTherapistSockets?: number;
  /** Told of every acknowledged request while it runs (see live-handlers.ts). */
  readonly track?: (work: Promise<void>) => void;
  /** Counts relayed marks and rate-limit refusals, and reads the sockets and rooms at scrape time. */
  readonly metrics?: Metrics | undefined;
}

const DRAINING = { reason: 'this server is shutting down: reconnect' } as const;

export function attachLiveRelay(io: SrsServer, sessions: SessionService, signer: TokenSigner, options: LiveRelayOptions = {}): LiveRelay {
  const limits = options.limits ?? DEFAULT_RATE_LIMITS;
  const logger = options.logger ?? silentLogger();
  const clustered = options.clustered ?? false;
  const metrics = options.metrics;
  const namespace: SrsNamespace = io.of(NAMESPACE);
  let draining = false;

  // Only `/srs` speaks the protocol; a socket anywhere else would hold a connection for nothing.
  io.of('/').use((socket, next) => {
    logger.warn(
      { event: 'socket.refused', code: ERROR_CODES.notFound, socketId: socket.id, address: socket.handshake.address, namespace: '/' },
      'connection refused: not the /srs namespace',
    );
    next(handshakeError(ERROR_CODES.notFound, `connect to the ${NAMESPACE} namespace`));
  });

  /**
   * Who is connected, on any node. A node that died does not answer until the adapter's heartbeat
   * gives up on it; meanwhile this node answers with what it knows rather than not at all.
   */
  async function socketsOf(sessionId: string) {
    return namespace
      .in(sessionRoom(sessionId))
      .timeout(PRESENCE_TIMEOUT_MS)
      .fetchSockets()
      .catch(() => namespace.in(sessionRoom(sessionId)).local.fetchSockets());
  }

  async function presenceOf(sessionId: string): Promise<Presence> {
    const sockets = await socketsOf(sessionId);
    return {
      client: sockets.some((socket) => socket.data.role === 'client'),
      therapist: sockets.some((socket) => socket.data.role === 'therapist'),
    };
  }

  const forwarder = new MarkForwarder(
    metrics
      ? (sessionId, mark) => {
          metrics.marksRelayed++;
          rooms.peek(sessionId)?.deliverMark(mark);
        }
      : (sessionId, mark) => rooms.peek(sessionId)?.deliverMark(mark),
  );
  const sweeper = setInterval(() => forwarder.sweep(), 60_000);
  sweeper.unref();
  const sync = clustered ? (message: RoomSync) => void namespace.serverSideEmit('srs:room', message) : () => undefined;
  const rooms = new LiveRooms({
    sessions,
    clustered,
    limits,
    logger,
    forwardMark: (sessionId, item, mm, mark) => forwarder.push(sessionId, item, mm, mark),
    discardMarks: (sessionId) => forwarder.discard(sessionId),
    sync,
    presenceOf,
  });
  namespace.on('srs:room', (message) => rooms.applySync(message));

  namespace.use(
    authenticateSocket({
      rooms,
      signer,
      logger,
      metrics,
      maxTherapistSockets: options.maxTherapistSockets ?? DEFAULT_MAX_THERAPIST_SOCKETS,
      therapistsOf: async (sessionId) => (await socketsOf(sessionId)).filter((socket) => socket.data.role === 'therapist').length,
    }),
  );

  namespace.on('connection', (socket: SrsSocket) => {
    const { sessionId, role } = socket.data;
    const admitted = admittedRoom(socket);
    if (!admitted) {
      socket.disconnect(true);
      return;
    }
    const { room, release } = admitted;
    // Every line about this socket names it, its session and its role (pseudonymous ids only).
    const log = logger.child({ socketId: socket.id, sessionId, role });
    log.info({ event: 'socket.connected' }, 'socket joined');
    void socket.join(sessionRoom(sessionId));
    registerHandlers(socket, room, { sessions, limits, logger: log, metrics, ...(options.track ? { track: options.track } : {}) });
    if (draining) socket.emit('server:draining', DRAINING);
    scheduleTokenExpiry(socket);
    socket.on('disconnect', (reason) => {
      log.info({ event: 'socket.disconnected', reason }, 'socket left');
      room.leave(socket, role);
      void guarded(log, () => room.refreshPresence());
    });
    void guarded(log, () => room.join(socket, role)).finally(release);
  });

  metrics?.observeLive({
    socketsByRole() {
      const counts = { client: 0, therapist: 0 };
      for (const socket of namespace.sockets.values()) if (socket.data.role) counts[socket.data.role]++;
      return counts;
    },
    liveSessions: () => rooms.size,
  });

  return {
    namespace,
    rooms,
    async closeSession(sessionId: string) {
      const room = await rooms.open(sessionId);
      if (!room) return;
      room.close();
      rooms.release(room);
    },
    drain() {
      draining = true;
      // This node's sockets only: through the adapter, a broadcast would reach every node's.
      namespace.local.emit('server:draining', DRAINING);
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
