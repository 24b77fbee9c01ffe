/**
 * Handshake check for the `/srs` namespace: the protocol version, a valid join token, and a
 * session that exists and is not closed. A refusal reaches the peer as a `connect_error` whose
 * `data` carries `{code, message}`.
 */
import type { ExtendedError, Socket } from 'socket.io';
import { ERROR_CODES, PROTOCOL_VERSION, type ErrorCode } from '../../shared/protocol.ts';
import { HandshakeAuthSchema } from '../../shared/schemas.ts';
import type { LiveSessions } from './live-sessions.ts';
import { TokenError, type TokenSigner } from '../tokens.ts';
import type { Logger } from '../logging.ts';

export function handshakeError(code: ErrorCode, message: string): ExtendedError {
  const error: ExtendedError = new Error(message);
  error.data = { code, message };
  return error;
}

export function authenticateSocket(live: LiveSessions, signer: TokenSigner, logger: Logger) {
  return (socket: Socket, next: (error?: ExtendedError) => void): void => {
    void (async () => {
      const auth = HandshakeAuthSchema.safeParse(socket.handshake.auth);
      if (!auth.success) {
        const raw: unknown = socket.handshake.auth;
        const protocol = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)['protocol'] : undefined;
        return protocol !== undefined && protocol !== PROTOCOL_VERSION
          ? next(handshakeError(ERROR_CODES.protocolMismatch, `this server speaks protocol ${PROTOCOL_VERSION}`))
          : next(handshakeError(ERROR_CODES.unauthorized, 'a join token is required'));
      }
      try {
        const claims = await signer.verify(auth.data.token);
        // Loading the session here also primes this node's cache before the first live mark.
        const session = await live.load(claims.sid);
        if (!session) return next(handshakeError(ERROR_CODES.notFound, 'this session does not exist'));
        if (session.status === 'closed') return next(handshakeError(ERROR_CODES.sessionClosed, 'this session has ended'));
        socket.data = { sessionId: claims.sid, role: claims.role, exp: claims.exp };
        next();
      } catch (error) {
        if (error instanceof TokenError) return next(handshakeError(ERROR_CODES.unauthorized, error.message));
        logger.error({ event: 'socket.auth-error', err: error }, 'handshake check failed');
        next(handshakeError(ERROR_CODES.internal, 'the server could not check this token'));
      }
    })();
  };
}
