/**
 * Integration-test harness: a real srs-live server on port 0 over a real store, and real
 * `socket.io-client` sockets connected with real tokens.
 */
import { io as connectSocket, type Socket } from 'socket.io-client';
import { NAMESPACE, PROTOCOL_VERSION, type ClientToServerEvents, type CreateSessionResponse, type ServerToClientEvents } from '../../shared/protocol.ts';
import { createApp, type AppOptions, type SrsApp } from '../app.ts';
import { openStore } from '../store/open-store.ts';
import type { Store } from '../store/store.ts';
import { silentLogger } from '../logging.ts';

export type TestSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export const TEST_API_KEY = 'test-api-key-0123456789abcdef';
export const TEST_TOKEN_SECRET = 'test-token-secret-0123456789abcdef-0123456789';

export interface TestServer {
  readonly srs: SrsApp;
  readonly store: Store;
  readonly url: string;
  api(path: string, init?: RequestInit & { key?: string | null }): Promise<Response>;
  /** Creates a session through the API, with the test key unless another is given. */
  createSession(clientRef?: string, extra?: Record<string, unknown>, key?: string): Promise<CreateSessionResponse>;
  connect(token: string, auth?: Record<string, unknown>): TestSocket;
  /** Connects and resolves once connected (rejects with the connect_error). */
  join(token: string): Promise<TestSocket>;
  /** Starts the rating as the therapist would (the session leaves `waiting`); resolves the therapist's socket. */
  startRating(session: CreateSessionResponse): Promise<TestSocket>;
  close(): Promise<void>;
}

export async function startTestServer(options: Partial<AppOptions> = {}): Promise<TestServer> {
  const store = options.store ?? (await openStore({ sqliteFile: ':memory:' }));
  const srs = await createApp({ tokenSecret: TEST_TOKEN_SECRET, apiKeys: [{ label: 'test', key: TEST_API_KEY }], logger: silentLogger(), ...options, store });
  const address = await srs.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${address.port}`;
  const sockets: TestSocket[] = [];

  const api: TestServer['api'] = (path, init = {}) => {
    const { key = TEST_API_KEY, headers, ...rest } = init;
    const merged = new Headers(headers);
    if (key !== null) merged.set('authorization', `Bearer ${key}`);
    if (rest.body !== undefined && !merged.has('content-type')) merged.set('content-type', 'application/json');
    return fetch(`${url}${path}`, { ...rest, headers: merged });
  };

  const connect = (token: string, auth: Record<string, unknown> = {}): TestSocket => {
    const socket: TestSocket = connectSocket(`${url}${NAMESPACE}`, {
      transports: ['websocket'],
      auth: { token, protocol: PROTOCOL_VERSION, ...auth },
      reconnection: false,
      forceNew: true,
    });
    sockets.push(socket);
    return socket;
  };

  return {
    srs,
    store,
    url,
    api,
    async createSession(clientRef = 'client-1', extra = {}, key = TEST_API_KEY) {
      const response = await api('/api/sessions', { method: 'POST', body: JSON.stringify({ clientRef, ...extra }), key });
      if (response.status !== 201) throw new Error(`session not created: ${response.status} ${await response.text()}`);
      return (await response.json()) as CreateSessionResponse;
    },
    connect,
    join(token: string) {
      const socket = connect(token);
      return new Promise<TestSocket>((resolve, reject) => {
        socket.once('connect', () => resolve(socket));
        socket.once('connect_error', reject);
      });
    },
    async startRating(session) {
      const therapist = connect(session.therapist.token);
      await new Promise<void>((resolve, reject) => {
        therapist.once('connect', () => resolve());
        therapist.once('connect_error', reject);
      });
      const ack = await therapist.emitWithAck('rating:start', {});
      if (!ack.ok) throw new Error(`rating not started: ${ack.error.code}`);
      return therapist;
    },
    async close() {
      for (const socket of sockets) socket.disconnect();
      await srs.close();
      await store.close();
    },
  };
}

/** Resolves with the next payload of an event. */
export function nextEvent<E extends keyof ServerToClientEvents>(socket: TestSocket, event: E): Promise<Parameters<ServerToClientEvents[E]>[0]> {
  return new Promise((resolve) => {
    socket.once(
      event as 'session:state',
      ((payload: unknown) => resolve(payload as Parameters<ServerToClientEvents[E]>[0])) as ServerToClientEvents['session:state'],
    );
  });
}

/** Resolves once `predicate` holds for a payload of the event (including ones already queued). */
export function eventWhere<E extends keyof ServerToClientEvents>(
  socket: TestSocket,
  event: E,
  predicate: (payload: Parameters<ServerToClientEvents[E]>[0]) => boolean,
): Promise<Parameters<ServerToClientEvents[E]>[0]> {
  return new Promise((resolve) => {
    const listener = (payload: unknown) => {
      const typed = payload as Parameters<ServerToClientEvents[E]>[0];
      if (!predicate(typed)) return;
      socket.off(event as 'presence', listener as ServerToClientEvents['presence']);
      resolve(typed);
    };
    socket.on(event as 'presence', listener as ServerToClientEvents['presence']);
  });
}
