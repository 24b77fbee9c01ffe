/**
 * Staying power across a crash: ratings are submitted to a real server process, which is killed
 * with SIGKILL while submissions are in flight and started again on the same store. Every
 * acknowledged result must be there exactly once, and the same tokens must rejoin.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, CreateSessionResponse, Result, ServerToClientEvents, SessionState, SubmitAck } from '../shared/protocol.ts';
import { startServerProcess, type ServerProcess } from './testing/server-process.ts';
import { dropSchema, postgresAnswers, servicesRequired, TEST_DATABASE_URL } from './testing/services.ts';

const API_KEY = 'crash-test-api-key-0123456789';
const CLIENT_REF = 'crash-client';
const SESSIONS = 60;
const DATABASE_URL = TEST_DATABASE_URL;

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

function connect(server: ServerProcess, token: string): ClientSocket {
  return io(`${server.url}/srs`, { transports: ['websocket'], auth: { token, protocol: 1 }, reconnection: false, forceNew: true });
}

function stateOnJoin(socket: ClientSocket): Promise<SessionState> {
  return new Promise((resolve, reject) => {
    socket.once('session:state', resolve);
    socket.once('connect_error', reject);
  });
}

async function createSessions(server: ServerProcess, count: number): Promise<CreateSessionResponse[]> {
  const sessions: CreateSessionResponse[] = [];
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${server.url}/api/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ clientRef: CLIENT_REF }),
    });
    sessions.push((await response.json()) as CreateSessionResponse);
  }
  return sessions;
}

async function storedResults(server: ServerProcess): Promise<Result[]> {
  const response = await fetch(`${server.url}/api/clients/${CLIENT_REF}/results`, { headers: { authorization: `Bearer ${API_KEY}` } });
  return ((await response.json()) as { results: Result[] }).results;
}

const marksFor = (index: number) => ({ relationship: index % 101, goals: (index * 7) % 101, approach: 100, overall: 50 });
const submissionIdOf = (index: number) => `crash-sub-${String(index).padStart(4, '0')}`;

const dialects = [
  { name: 'SQLite (embedded default)', available: async () => true, env: (dataDir: string): Record<string, string> => ({ DATA_DIR: dataDir }) },
  {
    name: 'PostgreSQL',
    available: postgresAnswers,
    env: (dataDir: string): Record<string, string> => ({
      DATA_DIR: dataDir,
      DATABASE_URL,
      SRS_DATABASE_SCHEMA: `crash_${process.pid}_${Date.now()}`,
      SRS_TOKEN_SECRET: 'crash-test-token-secret-0123456789abcdef',
    }),
  },
];

describe.each(dialects)('crash: kill -9 while clients submit ($name)', (dialect) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'srs-crash-'));
  const sockets: ClientSocket[] = [];
  let server: ServerProcess | undefined;

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await server?.kill();
    rmSync(dataDir, { recursive: true, force: true });
    const schema = dialect.env(dataDir)['SRS_DATABASE_SCHEMA'];
    if (schema && (await postgresAnswers())) {
      await dropSchema(schema);
    }
  });

  it('keeps every acknowledged result exactly once, and the same tokens rejoin', async (context) => {
    if (!(await dialect.available())) {
      if (servicesRequired) throw new Error(`${dialect.name} does not answer at ${DATABASE_URL}`);
      context.skip();
    }
    const env = { ...dialect.env(dataDir), SRS_API_KEY: API_KEY };
    server = await startServerProcess(env);
    const sessions = await createSessions(server, SESSIONS);
    // Each therapist starts the rating, as at the end of a meeting.
    await Promise.all(
      sessions.map(async (session) => {
        const therapist = connect(server as ServerProcess, session.therapist.token);
        sockets.push(therapist);
        await stateOnJoin(therapist);
        const ack = await therapist.emitWithAck('rating:start', {});
        expect(ack.ok).toBe(true);
        therapist.disconnect();
      }),
    );
    const clients = sessions.map((session) => connect(server as ServerProcess, session.client.token));
    sockets.push(...clients);
    await Promise.all(clients.map(stateOnJoin));

    // Half submit and are acknowledged; the other half submit at once and the server is killed mid-flight.
    const acknowledged = new Map<string, Result>();
    const submit = (index: number) =>
      (clients[index] as ClientSocket)
        .timeout(10_000)
        .emitWithAck('rating:submit', { submissionId: submissionIdOf(index), marks: marksFor(index) })
        .then((ack: SubmitAck) => {
          if (ack.ok) acknowledged.set(ack.result.submissionId, ack.result);
        })
        .catch(() => undefined);
    const half = SESSIONS / 2;
    await Promise.all(Array.from({ length: half }, (_, i) => submit(i)));
    expect(acknowledged.size).toBe(half);
    const inFlight = Array.from({ length: SESSIONS - half }, (_, i) => submit(half + i));
    await new Promise((resolve) => setTimeout(resolve, 15));
    await server.kill('SIGKILL');
    await Promise.all(inFlight);
    for (const socket of clients) socket.disconnect();

    server = await startServerProcess(env);
    let results = await storedResults(server);
    const submissionIds = results.map((result) => result.submissionId);
    expect(new Set(submissionIds).size).toBe(submissionIds.length);
    for (const [submissionId, result] of acknowledged) {
      expect(results.filter((stored) => stored.submissionId === submissionId)).toEqual([result]);
    }

    // The same tokens rejoin; a client whose submit was not acknowledged retries with the same id.
    const rejoined = sessions.map((session) => connect(server as ServerProcess, session.client.token));
    sockets.push(...rejoined);
    const states = await Promise.all(rejoined.map(stateOnJoin));
    expect(states.map((state) => state.sessionId)).toEqual(sessions.map((session) => session.sessionId));
    const retries = await Promise.all(
      rejoined.map((socket, index) => socket.emitWithAck('rating:submit', { submissionId: submissionIdOf(index), marks: marksFor(index) })),
    );
    expect(retries.every((ack) => ack.ok)).toBe(true);
    results = await storedResults(server);
    expect(results.map((result) => result.submissionId).sort()).toEqual(sessions.map((_, index) => submissionIdOf(index)).sort());
    console.log(
      `crash test (${dialect.name}): ${SESSIONS} submitted, ${acknowledged.size} acknowledged before the kill, ` +
        `${submissionIds.length} found after restart, ${acknowledged.size} of ${acknowledged.size} acknowledged found exactly once; ` +
        `${SESSIONS} after retrying with the same ids`,
    );
  }, 120_000);
});
