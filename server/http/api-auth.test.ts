/**
 * Every refused API authentication or authorization is logged at warn, with the reason, the route
 * and the caller's address, so that probing shows in the logs; never the key or the token, nor any
 * piece of one, nor the clientRef of the path.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreateSessionResponse } from '../../shared/protocol.ts';
import { memoryLogger, type MemoryLog } from '../testing/memory-logger.ts';
import { startTestServer, TEST_API_KEY, TEST_TOKEN_SECRET, type TestServer } from '../testing/test-server.ts';
import { TokenSigner } from '../tokens.ts';

interface Case {
  readonly name: string;
  /** The credential sent, if any: no piece of it may reach the log. */
  readonly credential: string | null;
  send(): Promise<Response>;
  readonly expected: { status: number; reason: string; method: string; route: string };
}

/** Every piece of `secret` at least `size` characters long, to look for in the log. */
function piecesOf(secret: string, size = 10): string[] {
  return Array.from({ length: Math.max(0, secret.length - size + 1) }, (_, start) => secret.slice(start, start + size));
}

describe('refused API authentication is logged', () => {
  let log: MemoryLog;
  let server: TestServer;
  let open: CreateSessionResponse;
  let closed: CreateSessionResponse;
  let cases: Case[];

  beforeAll(async () => {
    log = memoryLogger('info');
    server = await startTestServer({ logger: log.logger, demo: true });
    open = await server.createSession('logged-client-7f3a');
    closed = await server.createSession('logged-client-7f3a');
    expect((await server.api(`/api/sessions/${closed.sessionId}/close`, { method: 'POST' })).status).toBe(200);
    const demoKey = /const apiKey = "([^"]+)";/.exec(await (await fetch(`${server.url}/demo.js`)).text())?.[1] ?? '';
    const signer = new TokenSigner(TEST_TOKEN_SECRET);
    const unknownKey = `srs_${randomBytes(24).toString('base64url')}`;
    const nearMiss = `${TEST_API_KEY.slice(0, -1)}X`;
    const forged = (await new TokenSigner(`forger-${randomBytes(24).toString('hex')}`).sign(open.sessionId, 'therapist', 3600)).token;
    const expired = (await signer.sign(open.sessionId, 'therapist', -60)).token;
    const noSession = (await signer.sign('00000000-0000-4000-8000-000000000000', 'therapist', 3600)).token;
    const other = await server.createSession('another-client-9c2d');
    const get = (path: string, key: string | null) => () => server.api(path, { key });
    const post = (path: string, key: string | null, body?: string) => () => server.api(path, { method: 'POST', key, ...(body ? { body } : {}) });
    const session = `/api/sessions/${open.sessionId}`;
    const results = '/api/clients/logged-client-7f3a/results';
    cases = [
      {
        name: 'no credential',
        credential: null,
        send: get(session, null),
        expected: { status: 401, reason: 'missing-credential', method: 'GET', route: '/api/sessions/:id' },
      },
      {
        name: 'Basic scheme',
        credential: 'dGVzdDp0ZXN0LXBhc3N3b3Jk',
        send: () =>
          server.api('/api/sessions', { method: 'POST', key: null, headers: { authorization: 'Basic dGVzdDp0ZXN0LXBhc3N3b3Jk' }, body: '{"clientRef":"c"}' }),
        expected: { status: 401, reason: 'missing-credential', method: 'POST', route: '/api/sessions' },
      },
      {
        name: 'unknown key',
        credential: unknownKey,
        send: post('/api/sessions', unknownKey, '{"clientRef":"c"}'),
        expected: { status: 401, reason: 'unknown-key', method: 'POST', route: '/api/sessions' },
      },
      {
        name: 'near miss of the key',
        credential: nearMiss,
        send: get(results, nearMiss),
        expected: { status: 401, reason: 'unknown-key', method: 'GET', route: '/api/clients/:clientRef/results' },
      },
      {
        name: 'token of another deployment',
        credential: forged,
        send: get(session, forged),
        expected: { status: 401, reason: 'invalid-token', method: 'GET', route: '/api/sessions/:id' },
      },
      {
        name: 'expired token',
        credential: expired,
        send: get(results, expired),
        expected: { status: 401, reason: 'expired-token', method: 'GET', route: '/api/clients/:clientRef/results' },
      },
      {
        name: 'token of a closed session',
        credential: closed.therapist.token,
        send: get(`/api/sessions/${closed.sessionId}`, closed.therapist.token),
        expected: { status: 401, reason: 'closed-session', method: 'GET', route: '/api/sessions/:id' },
      },
      {
        name: 'token of no session',
        credential: noSession,
        send: get(session, noSession),
        expected: { status: 401, reason: 'unknown-session', method: 'GET', route: '/api/sessions/:id' },
      },
      {
        name: 'therapist token of another session',
        credential: other.therapist.token,
        send: get(session, other.therapist.token),
        expected: { status: 403, reason: 'other-session', method: 'GET', route: '/api/sessions/:id' },
      },
      {
        name: "therapist token on another client's history",
        credential: other.therapist.token,
        send: get(results, other.therapist.token),
        expected: { status: 403, reason: 'other-client', method: 'GET', route: '/api/clients/:clientRef/results' },
      },
      {
        name: 'client token',
        credential: open.client.token,
        send: get(results, open.client.token),
        expected: { status: 403, reason: 'client-token', method: 'GET', route: '/api/clients/:clientRef/results' },
      },
      {
        name: 'token on a platform-only route',
        credential: open.therapist.token,
        send: post(`${session}/close`, open.therapist.token),
        expected: { status: 403, reason: 'token-on-platform-route', method: 'POST', route: '/api/sessions/:id/close' },
      },
      {
        name: 'demo key beyond creating',
        credential: demoKey,
        send: get(session, demoKey),
        expected: { status: 403, reason: 'demo-key-creates-only', method: 'GET', route: '/api/sessions/:id' },
      },
    ];
  });

  afterAll(async () => {
    await server.close();
  });

  it('writes one warn line per refusal, with reason, route and address, and no piece of the credential nor the clientRef', async () => {
    for (const test of cases) {
      const before = log.lines().length;
      const response = await test.send();
      expect(response.status, test.name).toBe(test.expected.status);
      const lines = log.lines().slice(before);
      expect(
        lines.filter((line) => line['event'] === 'api.auth.refused'),
        test.name,
      ).toEqual([expect.objectContaining({ level: 40, ...test.expected, ip: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$/) })]);
      const written = lines.map((line) => JSON.stringify(line)).join('\n');
      for (const piece of test.credential ? piecesOf(test.credential) : []) expect(written, test.name).not.toContain(piece);
      for (const ref of ['logged-client-7f3a', 'another-client-9c2d']) expect(written, test.name).not.toContain(ref);
    }
    for (const secret of [TEST_API_KEY, open.therapist.token, open.client.token]) expect(log.text()).not.toContain(secret);
  });

  it('logs nothing for an accepted call', async () => {
    const before = log.lines().length;
    expect((await server.api(`/api/sessions/${open.sessionId}`)).status).toBe(200);
    expect((await server.api(`/api/sessions/${open.sessionId}`, { key: open.therapist.token })).status).toBe(200);
    expect(
      log
        .lines()
        .slice(before)
        .filter((line) => line['event'] === 'api.auth.refused'),
    ).toEqual([]);
  });
});
