/**
 * A join token is checked at the handshake and again while the socket lives: when it expires,
 * the socket is told why and disconnected at once, so no event is served past the expiry. (A
 * timer rather than a check on every packet: the live path stays free of it.)
 */
import { ERROR_CODES } from '../../shared/protocol.ts';
import type { SrsSocket } from './socket-types.ts';

// setTimeout's delay is a signed 32-bit number of milliseconds (about 24.8 days).
const MAX_TIMER_MS = 2 ** 31 - 1;

function expire(socket: SrsSocket): void {
  socket.emit('srs:error', { code: ERROR_CODES.unauthorized, message: 'the token has expired' });
  socket.disconnect(true);
}

export function scheduleTokenExpiry(socket: SrsSocket): void {
  const expiresAt = socket.data.exp * 1000;
  const timer = setTimeout(
    () => {
      // A timer capped at MAX_TIMER_MS may fire before expiry: look again later.
      if (Date.now() >= expiresAt) expire(socket);
      else timer.refresh();
    },
    Math.min(Math.max(expiresAt - Date.now(), 0), MAX_TIMER_MS),
  );
  timer.unref();
  socket.on('disconnect', () => clearTimeout(timer));
}
