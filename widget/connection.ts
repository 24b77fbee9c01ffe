/**
 * The widget's socket: opening it, its status, and acknowledged requests that are retried.
 */
import { io, type Socket } from 'socket.io-client';
import {
  NAMESPACE,
  PROTOCOL_VERSION,
  type ClientToServerEvents,
  type EmptyAck,
  type ErrorCode,
  type HistoryAck,
  type ProtocolError,
  type RatingSubmit,
  type ServerToClientEvents,
  type SubmitAck,
} from '../shared/protocol.ts';

export type SrsSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** `replaced`: this page's socket was taken over by the same link opened elsewhere. */
export type ConnStatus = 'connecting' | 'connected' | 'reconnecting' | 'offline' | 'error' | 'replaced';

/** The token in the page's fragment (`#token=…`): a fragment never reaches server logs. */
export function tokenFromPage(): string {
  return new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
}

/**
 * Opens the socket and reports every status change. `error` means the server refused the
 * handshake (an expired token, say): Socket.IO does not retry that, so neither do we.
 */
export function openSocket(server: string | undefined, token: string, onStatus: (status: ConnStatus, error?: ProtocolError) => void): SrsSocket {
  const socket: SrsSocket = io(`${server || location.origin}${NAMESPACE}`, {
    transports: ['websocket'],
    auth: { token, protocol: PROTOCOL_VERSION },
    // In a live call a quick return matters more than sparing the server: retry after about
    // half a second, backing off to three seconds at most.
    reconnectionDelay: 500,
    reconnectionDelayMax: 3000,
  });
  socket.on('connect', () => onStatus('connected'));
  socket.on('disconnect', () => onStatus(socket.active ? 'reconnecting' : 'offline'));
  socket.on('connect_error', (err: Error & { data?: { code?: ProtocolError['code'] } }) => {
    const code = err.data?.code;
    if (socket.active) onStatus('reconnecting');
    // Too many connections to the session just now: not a final answer, try again shortly.
    else if (code === 'RATE_LIMITED') {
      onStatus('reconnecting');
      setTimeout(() => socket.connect(), 3000);
    } else onStatus('error', { code: code ?? 'UNAUTHORIZED', message: err.message });
  });
  // The link was opened on another device or tab, which took over: do not fight it.
  socket.on('session:replaced', () => onStatus('replaced'));
  // The server is shutting down. Dropping the transport (rather than socket.disconnect(), which
  // would be final) makes the manager reconnect, through the load balancer, to another server;
  // a request whose answer is lost with the transport is retried there (submitWithRetry).
  socket.on('server:draining', () => socket.io.engine.close());
  return socket;
}

/** Refusals worth another try; every other refusal is definite. (Literals keep ERROR_CODES out of the bundle.) */
const TRANSIENT: readonly ErrorCode[] = ['INTERNAL', 'RATE_LIMITED'];

/**
 * Emits `rating:submit` and retries the SAME payload (same submissionId, so the store never
 * doubles it) on a timeout or a transient refusal, until the server gives a definite answer.
 * Returns a function that stops retrying.
 */
export function submitWithRetry(socket: SrsSocket, payload: RatingSubmit, done: (ack: SubmitAck) => void, timeoutMs = 5000): () => void {
  let live = true;
  const attempt = (): void => {
    socket.timeout(timeoutMs).emit('rating:submit', payload, (err: Error | null, ack: SubmitAck) => {
      if (!live) return;
      if (err) attempt();
      else if (!ack.ok && TRANSIENT.includes(ack.error.code)) setTimeout(attempt, 1000);
      else done(ack);
    });
  };
  attempt();
  return () => {
    live = false;
  };
}

/** The acknowledged requests other than `rating:submit`, and what each answers. */
interface Requests {
  'rating:start': EmptyAck;
  'rating:withdraw': EmptyAck;
  'rating:visibility': EmptyAck;
  'history:read': HistoryAck;
}

/**
 * Emits an acknowledged request once. No answer within the timeout becomes a refusal, so the
 * caller shows an error and the person can try again (these requests are not retried by themselves).
 */
export function request<E extends keyof Requests>(
  socket: SrsSocket,
  event: E,
  payload: Parameters<ClientToServerEvents[E]>[0],
  done: (ack: Requests[E]) => void,
  timeoutMs = 5000,
): void {
  // Socket.IO's typed emit cannot follow a generic event name; the Requests map keeps callers exact.
  const timed = socket.timeout(timeoutMs) as unknown as {
    emit(event: E, payload: unknown, ack: (err: Error | null, ack: Requests[E]) => void): void;
  };
  timed.emit(event, payload, (err, ack) =>
    done(err ? ({ ok: false, error: { code: 'INTERNAL', message: 'The server did not answer. Please try again.' } } as Requests[E]) : ack),
  );
}

/** A client-made id for one submission: [A-Za-z0-9_-], 8–64 characters. */
export function newSubmissionId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  return Array.from(crypto.getRandomValues(new Uint8Array(22)), (b) => abc[b & 63]).join('');
}
