/**
 * The limits docs/security.md states are the limits a running server enforces: each documented
 * figure is read from the document, compared with the defaults in the code, and measured against
 * a real server with those defaults (a burst, counting what gets through, allowing for what the
 * bucket refills while the burst lasts).
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_THERAPIST_SOCKETS } from './live/live-relay.ts';
import { DEFAULT_RATE_LIMITS } from './live/token-bucket.ts';
import { startTestServer, type TestServer, type TestSocket } from './testing/test-server.ts';

const SECURITY_DOC = readFileSync(new URL('../docs/security.md', import.meta.url), 'utf8');

/** The value column of the limits table row whose first column starts with `name`. */
function documented(name: string): string {
  const row = SECURITY_DOC.split('\n').find((line) => line.startsWith(`| ${name}`));
  if (!row) throw new Error(`docs/security.md has no limits row "${name}"`);
  return row.split('|')[2]?.trim() ?? '';
}

/** "600 at once, 100 a second" or "20 at once, one every 2 s" → {capacity, perSecond}. */
function bucketOf(text: string): { capacity: number; perSecond: number } {
  const burst = /(\d+) at once, (?:(\d+) a second|one every (\d+) s)/.exec(text);
  if (!burst) throw new Error(`not a rate: ${text}`);
  return { capacity: Number(burst[1]), perSecond: burst[2] ? Number(burst[2]) : 1 / Number(burst[3]) };
}

function handshake(socket: TestSocket): Promise<string> {
  return new Promise((resolve) => {
    socket.once('connect', () => resolve('connected'));
    socket.once('connect_error', (error: Error & { data?: { code?: string } }) => resolve(error.data?.code ?? error.message));
  });
}

/** Runs a burst and checks that between `capacity` and what the bucket could refill meanwhile got through. */
async function expectBurst(limit: { capacity: number; perSecond: number }, burst: () => Promise<boolean[]>): Promise<void> {
  const startedAt = performance.now();
  const passed = (await burst()).filter(Boolean).length;
  const seconds = (performance.now() - startedAt) / 1000;
  expect(passed).toBeGreaterThanOrEqual(limit.capacity);
  expect(passed).toBeLessThanOrEqual(limit.capacity + Math.ceil(limit.perSecond * seconds) + 1);
}

describe('the limits docs/security.md states', () => {
  let server: TestServer | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('are the defaults in the code', () => {
    expect(bucketOf(documented('live marks per socket'))).toEqual(DEFAULT_RATE_LIMITS.marks);
    expect(bucketOf(documented('acknowledged requests per socket'))).toEqual(DEFAULT_RATE_LIMITS.requests);
    expect(bucketOf(documented('acknowledged requests per session'))).toEqual(DEFAULT_RATE_LIMITS.sessionRequests);
    expect(bucketOf(documented('(re)connections per session'))).toEqual(DEFAULT_RATE_LIMITS.sessionJoins);
    expect(bucketOf(documented('API requests per address'))).toEqual(DEFAULT_RATE_LIMITS.http);
    expect(documented('therapist sockets per session')).toMatch(new RegExp(`^${DEFAULT_MAX_THERAPIST_SOCKETS} `));
  });

  it('are what a running server enforces: API requests per address', async () => {
    server = await startTestServer({ rateLimits: DEFAULT_RATE_LIMITS });
    const srs = server;
    const limit = bucketOf(documented('API requests per address'));
    await expectBurst(limit, async () => {
      const statuses: number[] = [];
      for (let batch = 0; batch < (limit.capacity + 100) / 50; batch++) {
        statuses.push(...(await Promise.all(Array.from({ length: 50 }, async () => (await srs.api('/api/openapi.json')).status))));
      }
      return statuses.map((status) => status !== 429);
    });
  });

  it('are what a running server enforces: requests per socket and per session', async () => {
    server = await startTestServer({ rateLimits: DEFAULT_RATE_LIMITS });
    const srs = server;
    const ask = (socket: TestSocket) =>
      socket
        .timeout(5000)
        .emitWithAck('history:read', {})
        .then((ack) => ack.ok || ack.error.code !== 'RATE_LIMITED');

    const single = await srs.createSession('limits-socket');
    const alone = await srs.join(single.therapist.token);
    const perSocket = bucketOf(documented('acknowledged requests per socket'));
    await expectBurst(perSocket, () => Promise.all(Array.from({ length: perSocket.capacity * 2 }, () => ask(alone))));

    const shared = await srs.createSession('limits-session');
    const perSession = bucketOf(documented('acknowledged requests per session'));
    const sockets = await Promise.all(Array.from({ length: DEFAULT_MAX_THERAPIST_SOCKETS }, () => srs.join(shared.therapist.token)));
    // Each socket stays within its own limit; together they go past the session's.
    const each = Math.min(perSocket.capacity, Math.ceil((perSession.capacity * 2) / sockets.length));
    await expectBurst(perSession, () => Promise.all(sockets.flatMap((socket) => Array.from({ length: each }, () => ask(socket)))));
  });

  it('are what a running server enforces: connections per session, and therapist sockets', async () => {
    server = await startTestServer({ rateLimits: DEFAULT_RATE_LIMITS });
    const srs = server;
    const session = await srs.createSession('limits-joins');
    const joins = bucketOf(documented('(re)connections per session'));
    await expectBurst(joins, async () => {
      const outcomes: string[] = [];
      for (let i = 0; i < joins.capacity + 10; i++) outcomes.push(await handshake(srs.connect(session.client.token)));
      return outcomes.map((outcome) => outcome === 'connected');
    });

    const other = await srs.createSession('limits-therapists');
    const outcomes: string[] = [];
    for (let i = 0; i <= DEFAULT_MAX_THERAPIST_SOCKETS; i++) outcomes.push(await handshake(srs.connect(other.therapist.token)));
    expect(outcomes).toEqual([...Array(DEFAULT_MAX_THERAPIST_SOCKETS).fill('connected'), 'TOO_MANY_CONNECTIONS']);
  });
});
