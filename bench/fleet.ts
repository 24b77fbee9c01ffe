/**
 * Opens N live sessions against a server under test: for ours, each session is created through
 * the platform API and joined with its real tokens; for the baseline, the room comes from the
 * handshake. Each session gets a client socket and a therapist socket (real socket.io-client,
 * WebSocket only, no reconnection, so a closed socket stays closed).
 */
import { setMaxListeners } from 'node:events';
import { io as connectSocket, type Socket } from 'socket.io-client';
import {
  NAMESPACE,
  PROTOCOL_VERSION,
  type ClientToServerEvents,
  type CreateSessionResponse,
  type Role,
  type ServerToClientEvents,
  type SessionState,
} from '../shared/protocol.ts';
import type { ServerUnderTest } from './server-process.ts';

export type BenchSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface BenchSession {
  readonly index: number;
  readonly client: BenchSocket;
  readonly therapist: BenchSocket;
}

export interface Fleet {
  readonly sessions: readonly BenchSession[];
  /** Sockets that dropped after they had connected (should stay 0). */
  droppedSockets(): number;
  /** `srs:error` refusals received so far, by code (rate limits, a rating not open…). */
  refusals(): Record<string, number>;
  /** Disconnects every socket. */
  close(): Promise<void>;
}

export interface FleetOptions {
  /** Sessions connected at a time, so the server is not flooded with handshakes. */
  readonly batch?: number;
  /** Concurrent POST /api/sessions (ours). */
  readonly createConcurrency?: number;
}

const CONNECT_TIMEOUT_MS = 60_000;

export async function openFleet(server: ServerUnderTest, count: number, options: FleetOptions = {}): Promise<Fleet> {
  const batch = options.batch ?? 200;
  // Thousands of sockets share a few emitters (process, timers); the default cap of 10 only warns.
  setMaxListeners(Math.max(100, 4 * count));
  const tokens = server.system === 'ours' ? await createSessions(server, count, options.createConcurrency ?? 16) : undefined;

  const sessions: BenchSession[] = [];
  const all: BenchSocket[] = [];
  let dropped = 0;
  let closing = false;
  const refusals: Record<string, number> = {};
  const open = (index: number, role: Role): BenchSocket => {
    const created = tokens?.[index];
    const auth = created ? { token: created[role].token, protocol: PROTOCOL_VERSION } : { session: `s${index}`, role };
    const socket: BenchSocket = connectSocket(`${server.url}${NAMESPACE}`, {
      transports: ['websocket'],
      auth,
      reconnection: false,
      forceNew: true,
      timeout: CONNECT_TIMEOUT_MS,
    });
    all.push(socket);
    socket.on('disconnect', () => {
      if (!closing) dropped++;
    });
    socket.on('srs:error', (error) => {
      refusals[error.code] = (refusals[error.code] ?? 0) + 1;
    });
    return socket;
  };

  try {
    for (let first = 0; first < count; first += batch) {
      const ready: Promise<unknown>[] = [];
      for (let index = first; index < Math.min(count, first + batch); index++) {
        const therapist = open(index, 'therapist');
        const client = open(index, 'client');
        sessions.push({ index, client, therapist });
        if (server.system === 'ours') {
          // Ours sends the full state on join: waiting for it means the join's work is done. A
          // session starts `waiting` until the therapist starts the rating, as in a real call.
          ready.push(
            whenJoined(therapist, 'session:state').then((state) => startRating(therapist, state)),
            whenJoined(client, 'session:state'),
          );
        } else {
          ready.push(whenJoined(therapist, 'connect'), whenJoined(client, 'connect'));
        }
      }
      await Promise.all(ready);
    }
  } catch (error) {
    closing = true;
    for (const socket of all) socket.disconnect();
    throw error;
  }

  return {
    sessions,
    droppedSockets: () => dropped,
    refusals: () => ({ ...refusals }),
    async close() {
      closing = true;
      for (const socket of all) socket.disconnect();
      // Let the close frames leave before the server is stopped.
      await new Promise((resolve) => setTimeout(resolve, 200));
    },
  };
}

function whenJoined(socket: BenchSocket, event: 'connect'): Promise<undefined>;
function whenJoined(socket: BenchSocket, event: 'session:state'): Promise<SessionState>;
function whenJoined(socket: BenchSocket, event: 'connect' | 'session:state'): Promise<SessionState | undefined> {
  return new Promise<SessionState | undefined>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`a socket did not join within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
    const done = (state?: SessionState) => {
      clearTimeout(timer);
      resolve(state);
    };
    if (event === 'connect') socket.once('connect', () => done());
    else socket.once('session:state', done);
    socket.once('connect_error', (error: Error) => {
      clearTimeout(timer);
      reject(new Error(`a socket could not connect: ${error.message}`));
    });
  });
}

/** The therapist opens the rating (acknowledged), unless the session is already open. */
async function startRating(therapist: BenchSocket, state: SessionState): Promise<void> {
  if (state.status === 'open') return;
  const response = await therapist.timeout(CONNECT_TIMEOUT_MS).emitWithAck('rating:start', {});
  if (!response.ok) throw new Error(`rating:start refused: ${response.error.code} ${response.error.message}`);
}

/** Creates sessions through the platform API, a few requests at a time; retries a 429 or 503. */
async function createSessions(server: ServerUnderTest, count: number, concurrency: number): Promise<CreateSessionResponse[]> {
  const created: CreateSessionResponse[] = new Array<CreateSessionResponse>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      created[index] = await createSession(server, `bench-${index}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return created;
}

async function createSession(server: ServerUnderTest, clientRef: string): Promise<CreateSessionResponse> {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(`${server.url}/api/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ clientRef }),
    });
    if (response.status === 201) return (await response.json()) as CreateSessionResponse;
    const body = await response.text();
    if ((response.status === 429 || response.status === 503) && attempt < 50) {
      const retryAfter = Number(response.headers.get('retry-after'));
      await new Promise((resolve) => setTimeout(resolve, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 100 * (attempt + 1)));
      continue;
    }
    throw new Error(`POST /api/sessions answered ${response.status}: ${body}`);
  }
}
