/**
 * Admission to the `/srs` namespace: the protocol version, a valid join token, a session that
 * exists and is not closed, within the session's budget of (re)connections, and, for therapists,
 * under the cap of therapist sockets per session. A refusal reaches the peer as a `connect_error`
 * whose `data` carries `{code, message}`, and is logged (never with the token).
 */
import type { ExtendedError, Socket } from 'socket.io';
import { ERROR_CODES, PROTOCOL_VERSION, type ErrorCode, type Role } from '../../shared/protocol.ts';
import { HandshakeAuthSchema } from '../../shared/schemas.ts';
import type { Logger } from '../logging.ts';
import type { Metrics } from '../metrics.ts';
import { TokenError, type TokenSigner } from '../tokens.ts';
import type { LiveRoom } from './live-room.ts';
import type { LiveRooms } from './live-rooms.ts';

export function handshakeError(code: ErrorCode, message: string): ExtendedError {
  const error: ExtendedError = new Error(message);
  error.data = { code, message };
  return error;
}

export interface Admission {
  readonly rooms: LiveRooms;
  readonly signer: TokenSigner;
  readonly logger: Logger;
  readonly maxTherapistSockets: number;
  readonly metrics?: Metrics | undefined;
  /** Therapist sockets of the session connected on any node. */
  therapistsOf(sessionId: string): Promise<number>;
}

/** The place a connection holds in its room until it has joined (or failed to). */
const reservations = new WeakMap<Socket, { room: LiveRoom; release: () => void }>();

/** The room an admitted socket belongs to, and the function that ends its reservation once it has joined. */
export function admittedRoom(socket: Socket): { room: LiveRoom; release: () => void } | undefined {
  const reservation = reservations.get(socket);
  reservations.delete(socket);
  return reservation;
}

export function authenticateSocket(admission: Admission) {
  const { rooms, signer, logger, metrics } = admission;
  return (socket: Socket, next: (error?: ExtendedError) => void): void => {
    const log = logger.child({ socketId: socket.id });
    const refuse = (code: ErrorCode, message: string, context: Record<string, unknown> = {}): void => {
      if (code === ERROR_CODES.rateLimited) metrics?.rateLimited('join');
      log.warn({ event: 'socket.refused', code, address: socket.handshake.address, ...context }, `connection refused: ${message}`);
      next(handshakeError(code, message));
    };
    void (async () => {
      const auth = HandshakeAuthSchema.safeParse(socket.handshake.auth);
      if (!auth.success) {
        // The version first (a client of another version is told so), then the token.
        const raw: unknown = socket.handshake.auth;
        const fields = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
        const protocolWrong = 'protocol' in fields && fields['protocol'] !== PROTOCOL_VERSION;
        const tokenGiven = HandshakeAuthSchema.shape.token.safeParse(fields['token']).success;
        return protocolWrong || tokenGiven
          ? refuse(ERROR_CODES.protocolMismatch, `this server speaks protocol ${PROTOCOL_VERSION}: send auth.protocol = ${PROTOCOL_VERSION}`)
          : refuse(ERROR_CODES.unauthorized, 'a join token is required');
      }
      let role: Role;
      let sessionId: string;
      let exp: number;
      try {
        ({ sid: sessionId, role, exp } = await signer.verify(auth.data.token));
      } catch (error) {
        if (error instanceof TokenError) return refuse(ERROR_CODES.unauthorized, error.message, { reason: error.expired ? 'expired-token' : 'invalid-token' });
        throw error;
      }
      const room = await rooms.open(sessionId);
      if (!room) return refuse(ERROR_CODES.notFound, 'this session does not exist', { sessionId, role });
      const release = room.reserve(role);
      const admitted = await admit(admission, room, role);
      if (admitted !== null) {
        release();
        return refuse(admitted.code, admitted.message, { sessionId, role });
      }
      socket.data = { sessionId, role, exp };
      reservations.set(socket, { room, release });
      // A connection that closes before it joins gives its place back.
      socket.conn.once('close', release);
      next();
    })().catch((error: unknown) => {
      log.error({ event: 'socket.auth-error', err: error }, 'handshake check failed');
      next(handshakeError(ERROR_CODES.internal, 'the server could not check this token'));
    });
  };
}

async function admit(admission: Admission, room: LiveRoom, role: Role): Promise<{ code: ErrorCode; message: string } | null> {
  if (room.status === 'closed') return { code: ERROR_CODES.sessionClosed, message: 'this session has ended' };
  if (!room.admitJoin()) return { code: ERROR_CODES.rateLimited, message: 'too many connections to this session: try again in a few seconds' };
  if (role !== 'therapist') return null;
  // Joined sockets anywhere, plus the others being admitted here (this one is counted in admitting).
  const therapists = (await admission.therapistsOf(room.sessionId)) + room.admitting('therapist') - 1;
  if (therapists >= admission.maxTherapistSockets) {
    return { code: ERROR_CODES.tooManyConnections, message: `this session already has ${admission.maxTherapistSockets} therapist connections` };
  }
  return null;
}
