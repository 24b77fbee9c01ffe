/**
 * Several nodes: two server processes share one PostgreSQL and one Redis (the Redis Streams
 * adapter). The client is on node A, the therapist on node B: live marks, the start of the rating
 * and the submission cross between them. Then node A is killed and the client reconnects through
 * node B with nothing lost.
 */
import { rmSync } from 'node:fs';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, CreateSessionResponse, MarkMove, ServerToClientEvents, SessionState } from '../shared/protocol.ts';
import { startServerProcess, type ServerProcess } from './testing/server-process.ts';
import { dropSchema, postgresAnswers, redisAnswers, servicesRequired, TEST_DATABASE_URL, TEST_REDIS_URL } from './testing/services.ts';

const DATABASE_URL = TEST_DATABASE_URL;
const REDIS_URL = TEST_REDIS_URL;
const API_KEY = 'multi-node-api-key-0123456789';
const schema = `multinode_${process.pid}_${Date.now()}`;

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

function connect(node: ServerProcess, token: string): ClientSocket {
  return io(`${node.url}/srs`, { transports: ['websocket'], auth: { token, protocol: 1 }, reconnection: false, forceNew: true });
}

function until<T>(socket: ClientSocket, event: 'session:state' | 'mark:moved' | 'rating:submitted', predicate: (payload: T) => boolean): Promise<T> {
  return new Promise((resolve) => {
    const listener = (payload: T) => {
      if (!predicate(payload)) return;
      socket.off(event, listener as never);
      resolve(payload);
    };
    socket.on(event, listener as never);
  });
}

const available = (await redisAnswers()) && (await postgresAnswers());
if (!available && servicesRequired) throw new Error(`the multi-node test needs Redis at ${REDIS_URL} and PostgreSQL at ${DATABASE_URL}`);

describe.skipIf(!available)('two nodes through Redis and PostgreSQL', () => {
  const env = {
    DATABASE_URL,
    SRS_DATABASE_SCHEMA: schema,
    REDIS_URL,
    // A stream of this run's own, so runs that share the Redis never hear each other.
    SRS_REDIS_PREFIX: schema,
    SRS_TOKEN_SECRET: 'multi-node-token-secret-0123456789abcdef',
    SRS_API_KEY: API_KEY,
    DATA_DIR: `/tmp/srs-multi-node-${process.pid}`,
  };
  const sockets: ClientSocket[] = [];
  let nodeA: ServerProcess;
  let nodeB: ServerProcess;

  async function createSession(node: ServerProcess): Promise<CreateSessionResponse> {
    const response = await fetch(`${node.url}/api/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ clientRef: 'multi-node-client' }),
    });
    expect(response.status).toBe(201);
    return (await response.json()) as CreateSessionResponse;
  }

  async function join(node: ServerProcess, token: string): Promise<{ socket: ClientSocket; state: SessionState }> {
    const socket = connect(node, token);
    sockets.push(socket);
    const state = await new Promise<SessionState>((resolve, reject) => {
      socket.once('session:state', resolve);
      socket.once('connect_error', reject);
    });
    return { socket, state };
  }

  beforeAll(async () => {
    // Node A migrates first, so the two do not race to create the schema's tables.
    nodeA = await startServerProcess(env);
    nodeB = await startServerProcess(env);
  }, 60_000);

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await nodeA?.kill('SIGTERM');
    await nodeB?.kill('SIGTERM');
    await dropSchema(schema);
    rmSync(env.DATA_DIR, { recursive: true, force: true });
  });

  it('carries the start, live marks and the submission between nodes, and survives losing a node', async () => {
    const session = await createSession(nodeA);
    const therapist = await join(nodeB, session.therapist.token);
    const client = await join(nodeA, session.client.token);
    expect(client.state.status).toBe('waiting');

    // The therapist on B starts the rating; the client on A sees the form open.
    const opened = until<SessionState>(client.socket, 'session:state', (state) => state.status === 'open');
    expect(await therapist.socket.emitWithAck('rating:start', {})).toEqual({ ok: true });
    await opened;

    // Live marks from A reach the therapist on B.
    const marks = { relationship: 91, goals: 64, approach: 88, overall: 77 };
    const crossed = until<MarkMove>(therapist.socket, 'mark:moved', (mark) => mark.item === 'goals' && mark.mm === marks.goals);
    client.socket.emit('mark:move', { item: 'relationship', mm: marks.relationship });
    client.socket.emit('mark:move', { item: 'goals', mm: marks.goals });
    await crossed;

    // Node A dies in the middle of the rating.
    await nodeA.kill('SIGKILL');

    // The client reconnects through B with the same token, gets the whole state, re-sends its marks, and submits.
    const rejoined = await join(nodeB, session.client.token);
    expect(rejoined.state.status).toBe('open');
    const seen = new Map<string, number>();
    therapist.socket.on('mark:moved', (mark) => seen.set(mark.item, mark.mm));
    const allSeen = until<MarkMove>(therapist.socket, 'mark:moved', (mark) => mark.item === 'overall');
    for (const [item, mm] of Object.entries(marks)) rejoined.socket.emit('mark:move', { item: item as keyof typeof marks, mm });
    await allSeen;
    expect(Object.fromEntries(seen)).toEqual(marks);
    const submitted = until<{ result: { submissionId: string } }>(therapist.socket, 'rating:submitted', () => true);
    const ack = await rejoined.socket.emitWithAck('rating:submit', { submissionId: 'multi-node-sub-1', marks });
    expect(ack).toMatchObject({ ok: true, result: { totalMm: 320, band: 'poor' } });
    expect((await submitted).result.submissionId).toBe('multi-node-sub-1');

    // The result is stored exactly once, and node B serves it.
    const results = await fetch(`${nodeB.url}/api/clients/multi-node-client/results`, { headers: { authorization: `Bearer ${API_KEY}` } });
    const body = (await results.json()) as { results: { submissionId: string }[] };
    expect(body.results.map((result) => result.submissionId)).toEqual(['multi-node-sub-1']);
  }, 60_000);

  it('carries a submission made on one node to the therapist on the other', async () => {
    nodeA = nodeA.child.exitCode === null && nodeA.child.signalCode === null ? nodeA : await startServerProcess(env);
    const session = await createSession(nodeB);
    const therapist = await join(nodeB, session.therapist.token);
    await therapist.socket.emitWithAck('rating:start', {});
    const client = await join(nodeA, session.client.token);
    expect(client.state.status).toBe('open');
    const submitted = until<{ result: { totalMm: number; enteredBy: string } }>(therapist.socket, 'rating:submitted', () => true);
    const ack = await client.socket.emitWithAck('rating:submit', {
      submissionId: 'multi-node-sub-2',
      marks: { relationship: 100, goals: 100, approach: 95, overall: 99 },
    });
    expect(ack.ok).toBe(true);
    expect((await submitted).result).toMatchObject({ totalMm: 394, enteredBy: 'client' });
  }, 60_000);
});
