/**
 * Fuzzing the handshake with fast-check: random namespaces, tokens (valid, expired, forged,
 * another session's, a closed session's, garbage, none), protocol versions, recovery ids and
 * extra fields, with sockets kept or dropped at random. Each case is answered exactly as the
 * admission rules say, and throughout: a session never has more than one client socket or more
 * than the cap of therapist sockets, nothing ever connects outside `/srs`, and a socket only
 * ever hears of its own token's session. `SRS_FUZZ_RUNS` scales the number of cases (5 % of it).
 */
import fc from 'fast-check';
import { io as connectSocket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NAMESPACE, PROTOCOL_VERSION, type CreateSessionResponse } from '../shared/protocol.ts';
import { anyValue } from './fuzz-arbitraries.ts';
import { memoryLogger } from './testing/memory-logger.ts';
import { startTestServer, TEST_TOKEN_SECRET, type TestServer } from './testing/test-server.ts';
import { TokenSigner } from './tokens.ts';

const RUNS = Math.max(1, Math.round(Number(process.env['SRS_FUZZ_RUNS'] ?? 10_000) * 0.05));
const MAX_THERAPISTS = 3;
const OPEN_LIMITS = {
  marks: { capacity: 1e9, perSecond: 1e9 },
  requests: { capacity: 1e9, perSecond: 1e9 },
  sessionRequests: { capacity: 1e9, perSecond: 1e9 },
  sessionJoins: { capacity: 1e9, perSecond: 1e9 },
  http: { capacity: 1e9, perSecond: 1e9 },
};
const TOKEN_KINDS = ['clientA', 'therapistA', 'clientB', 'therapistB', 'expired', 'forged', 'closed', 'garbage', 'none'] as const;
type TokenKind = (typeof TOKEN_KINDS)[number];

interface HandshakeCase {
  readonly namespace: string;
  readonly token: TokenKind;
  readonly protocol: unknown;
  readonly recovery: { pid: unknown; offset: unknown } | null;
  readonly extra: Record<string, unknown>;
  /** Keep the socket connected after the case (else it leaves at once). */
  readonly keep: boolean;
}

const handshakeCase: fc.Arbitrary<HandshakeCase> = fc.record({
  namespace: fc.oneof(fc.constant(NAMESPACE), fc.constant(NAMESPACE), fc.constant(NAMESPACE), fc.constantFrom('/', '/admin', '/srs/', '/SRS', '/srs/x')),
  token: fc.constantFrom(...TOKEN_KINDS),
  protocol: fc.oneof(fc.constant(PROTOCOL_VERSION), fc.constant(PROTOCOL_VERSION), anyValue),
  recovery: fc.option(fc.record({ pid: fc.oneof(fc.string(), anyValue), offset: fc.oneof(fc.string(), anyValue) }), { nil: null }),
  extra: fc.dictionary(fc.constantFrom('sessionId', 'role', 'sid', 'exp', 'data', '__proto__', 'constructor'), anyValue, { maxKeys: 2 }),
  keep: fc.boolean(),
});

type Socket = ReturnType<typeof connectSocket>;

function outcomeOf(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('no answer'), 3000);
    socket.once('session:state', () => {
      clearTimeout(timer);
      resolve('joined');
    });
    socket.once('connect_error', (error: Error & { data?: { code?: string } }) => {
      clearTimeout(timer);
      resolve(error.data?.code ?? error.message);
    });
  });
}

describe('fuzzing the handshake', () => {
  let server: TestServer;
  const log = memoryLogger('error');
  let a: CreateSessionResponse;
  let b: CreateSessionResponse;
  const tokens = new Map<TokenKind, string | undefined>();
  const held: { socket: Socket; kind: TokenKind }[] = [];
  const outcomes: Record<string, number> = {};

  beforeAll(async () => {
    server = await startTestServer({ rateLimits: OPEN_LIMITS, logger: log.logger, maxTherapistSockets: MAX_THERAPISTS });
    a = await server.createSession('fuzz-handshake-a');
    b = await server.createSession('fuzz-handshake-b');
    const closed = await server.createSession('fuzz-handshake-closed');
    await server.api(`/api/sessions/${closed.sessionId}/close`, { method: 'POST' });
    const signer = new TokenSigner(TEST_TOKEN_SECRET);
    tokens.set('clientA', a.client.token);
    tokens.set('therapistA', a.therapist.token);
    tokens.set('clientB', b.client.token);
    tokens.set('therapistB', b.therapist.token);
    tokens.set('expired', (await signer.sign(a.sessionId, 'therapist', -60)).token);
    tokens.set('forged', (await new TokenSigner('another-secret-0123456789abcdef-0123456789').sign(a.sessionId, 'therapist', 3600)).token);
    tokens.set('closed', closed.client.token);
    tokens.set('garbage', 'eyJhbGciOiJub25lIn0.e30.');
    tokens.set('none', undefined);
  });

  afterAll(async () => {
    for (const { socket } of held) socket.disconnect();
    console.info(`fuzz handshake: ${RUNS} cases\n${JSON.stringify(outcomes, null, 1)}`);
    await server.close();
  });

  /** Server-side sockets of a session by role, once the server has seen every departure. */
  function onServer(sessionId: string, role: 'client' | 'therapist'): number {
    return [...server.srs.io.of(NAMESPACE).sockets.values()].filter((socket) => socket.data.sessionId === sessionId && socket.data.role === role).length;
  }

  async function settled(): Promise<void> {
    const alive = (kind: TokenKind) => held.filter((entry) => entry.kind === kind && entry.socket.connected).length;
    const deadline = performance.now() + 2000;
    while (performance.now() < deadline) {
      if (onServer(a.sessionId, 'therapist') === alive('therapistA') && onServer(b.sessionId, 'therapist') === alive('therapistB')) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  function expected(test: HandshakeCase): string {
    if (test.namespace === '/') return 'NOT_FOUND';
    if (test.namespace !== NAMESPACE) return 'Invalid namespace';
    // The version is judged first when it is given; without one, a token is needed to be told of it.
    if (test.protocol !== undefined && test.protocol !== PROTOCOL_VERSION) return 'PROTOCOL_MISMATCH';
    if (tokens.get(test.token) === undefined) return 'UNAUTHORIZED';
    if (test.protocol === undefined) return 'PROTOCOL_MISMATCH';
    if (['expired', 'forged', 'garbage'].includes(test.token)) return 'UNAUTHORIZED';
    if (test.token === 'closed') return 'SESSION_CLOSED';
    if (test.token === 'therapistA' && onServer(a.sessionId, 'therapist') >= MAX_THERAPISTS) return 'TOO_MANY_CONNECTIONS';
    if (test.token === 'therapistB' && onServer(b.sessionId, 'therapist') >= MAX_THERAPISTS) return 'TOO_MANY_CONNECTIONS';
    return 'joined';
  }

  it(`answers every handshake as the admission rules say, and keeps every session within its caps (${RUNS} cases)`, {
    timeout: Math.max(60_000, RUNS * 100),
  }, async () => {
    await fc.assert(
      fc.asyncProperty(handshakeCase, async (test) => {
        await settled();
        const want = expected(test);
        const token = tokens.get(test.token);
        const auth: Record<string, unknown> = { ...test.extra, ...(test.recovery ?? {}), protocol: test.protocol, ...(token === undefined ? {} : { token }) };
        if (test.protocol === undefined) delete auth['protocol'];
        const socket = connectSocket(`${server.url}${test.namespace}`, { transports: ['websocket'], auth, reconnection: false, forceNew: true });
        const heard: string[] = [];
        socket.onAny((_event: string, payload: unknown) => heard.push(JSON.stringify(payload ?? null)));
        const got = await outcomeOf(socket);
        outcomes[got] = (outcomes[got] ?? 0) + 1;
        expect(got, JSON.stringify(test)).toBe(want);
        if (got === 'joined') {
          const own = test.token.endsWith('A') ? a.sessionId : b.sessionId;
          const other = own === a.sessionId ? b.sessionId : a.sessionId;
          expect(
            heard.some((payload) => payload.includes(other)),
            'heard of another session',
          ).toBe(false);
          held.push({ socket, kind: test.token });
        }
        if (!test.keep || got !== 'joined') socket.disconnect();
        // A client socket takes over from the last one: a session never has two.
        const deadline = performance.now() + 2000;
        while ((onServer(a.sessionId, 'client') > 1 || onServer(b.sessionId, 'client') > 1) && performance.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        for (const session of [a, b]) {
          expect(onServer(session.sessionId, 'client')).toBeLessThanOrEqual(1);
          expect(onServer(session.sessionId, 'therapist')).toBeLessThanOrEqual(MAX_THERAPISTS);
        }
        expect(server.srs.io.of('/').sockets.size).toBe(0);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    expect(log.lines()).toEqual([]);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(outcomes['joined'] ?? 0).toBeGreaterThan(0);
  });
});
