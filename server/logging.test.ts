import { io as connectSocket } from 'socket.io-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NAMESPACE, PROTOCOL_VERSION, type SubmitAck } from '../shared/protocol.ts';
import { createLogger, prettyTarget, REDACTED_FIELDS } from './logging.ts';
import { memoryLogger, type MemoryLog } from './testing/memory-logger.ts';
import { eventWhere, startTestServer, TEST_API_KEY, type TestServer, type TestSocket } from './testing/test-server.ts';

const MARKS = { relationship: 37, goals: 58, approach: 64, overall: 29 };

function submit(socket: TestSocket, payload: unknown): Promise<SubmitAck> {
  return (socket as unknown as { emitWithAck(event: string, payload: unknown): Promise<SubmitAck> }).emitWithAck('rating:submit', payload);
}

/** Every `key: value` of a line, at any depth, as `path=value`. */
function fieldsOf(value: unknown, path = ''): [string, unknown][] {
  if (typeof value !== 'object' || value === null) return [[path, value]];
  return Object.entries(value).flatMap(([key, inner]) => fieldsOf(inner, path ? `${path}.${key}` : key));
}

describe('logging', () => {
  it('writes JSON lines with a level and the service name', () => {
    const log = memoryLogger('info');
    log.logger.warn({ event: 'auth.failed', sessionId: 's-1' }, 'refused');
    log.logger.debug('not at info');
    const lines = log.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, service: 'srs-live', event: 'auth.failed', sessionId: 's-1', msg: 'refused' });
  });

  it('redacts tokens, keys and clinical values, at the top level and one level down', () => {
    const log = memoryLogger();
    const token = 'eyJhbGciOiJIUzI1NiJ9.secret-token-payload.signature';
    log.logger.error({ token, apiKey: 'srs_live_key_value', marks: { goals: 73 }, socket: { token, mm: 42 }, result: { totalMm: 361 } }, 'x');
    // Without the timestamp, whose digits may hold any of the values by chance.
    const text = log.text().replace(/"time":\d+,/, '');
    for (const secret of [token, 'srs_live_key_value', '73', '42', '361']) expect(text).not.toContain(secret);
    expect(log.lines()[0]).toMatchObject({ token: '[redacted]', apiKey: '[redacted]', marks: '[redacted]', socket: { token: '[redacted]', mm: '[redacted]' } });
  });

  it('logs an error by name and message, without its stack at info level', () => {
    const log = memoryLogger('info');
    log.logger.error({ err: Object.assign(new Error('disk full'), { code: 'SQLITE_FULL' }) }, 'store failed');
    expect(log.lines()[0]?.['err']).toEqual({ type: 'Error', message: 'disk full', code: 'SQLITE_FULL' });
  });
});

describe('pretty form', () => {
  it('finds pino-pretty (a development dependency) and starts a logger with it', async () => {
    expect(prettyTarget()).toMatch(/pino-pretty/);
    const logger = createLogger({ format: 'pretty', level: 'silent' });
    expect(logger.level).toBe('silent');
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
  });
});

describe('lines from real requests and sockets', () => {
  let log: MemoryLog;
  let server: TestServer;

  beforeEach(async () => {
    log = memoryLogger('debug');
    server = await startTestServer({ logger: log.logger });
  });

  afterEach(async () => {
    await server.close();
  });

  describe('HTTP', () => {
    it('follows a sane X-Request-Id: echoed, and on every line of the request', async () => {
      const response = await server.api('/api/sessions', {
        method: 'POST',
        body: JSON.stringify({ clientRef: 'client-log-1' }),
        headers: { 'x-request-id': 'trace-7f3a.b2:c-9' },
      });
      expect(response.status).toBe(201);
      expect(response.headers.get('x-request-id')).toBe('trace-7f3a.b2:c-9');
      const refused = await server.api('/api/sessions/unknown', { key: 'not-a-key-0123456789abcdef', headers: { 'x-request-id': 'trace-refused-1' } });
      expect(refused.status).toBe(401);
      const lines = log.lines().filter((line) => line['requestId'] === 'trace-7f3a.b2:c-9');
      expect(lines).toEqual([
        expect.objectContaining({ event: 'http.request', method: 'POST', route: '/api/sessions', status: 201, durationMs: expect.any(Number) }),
      ]);
      const refusal = log.lines().filter((line) => line['requestId'] === 'trace-refused-1');
      expect(refusal.map((line) => line['event'])).toEqual(['api.auth.refused', 'http.request']);
      expect(refusal[0]).toMatchObject({ reason: 'unknown-key', status: 401, route: '/api/sessions/:id' });
      expect(log.text()).not.toContain('not-a-key-0123456789abcdef');
      expect(log.text()).not.toContain(TEST_API_KEY);
    });

    it('makes its own id when the caller sends none or one that is not sane', async () => {
      for (const incoming of [undefined, 'x'.repeat(129), 'two words', '{"level":60}']) {
        const response = await fetch(`${server.url}/healthz`, { headers: incoming === undefined ? {} : { 'x-request-id': incoming } });
        const id = response.headers.get('x-request-id');
        expect(id).toMatch(/^[0-9a-f-]{36}$/);
        expect(log.lines().find((line) => line['requestId'] === id)).toMatchObject({ event: 'http.request', route: '/healthz', status: 200 });
      }
    });

    it('names the key label of a platform refused a route, and the session of a refused token', async () => {
      const session = await server.createSession('client-log-2');
      const before = log.lines().length;
      const clientRead = await server.api(`/api/sessions/${session.sessionId}`, { key: session.client.token });
      expect(clientRead.status).toBe(403);
      const line = log
        .lines()
        .slice(before)
        .find((entry) => entry['event'] === 'api.auth.refused');
      expect(line).toMatchObject({ reason: 'client-token', sessionId: session.sessionId, role: 'client', requestId: clientRead.headers.get('x-request-id') });
      expect(log.text()).not.toContain(session.client.token);
    });
  });

  describe('sockets', () => {
    it('puts the socket id, session and role on every line about a socket, and no token or mark anywhere', async () => {
      const session = await server.createSession('client-log-3');
      const therapist = await server.startRating(session);
      const client = await server.join(session.client.token);
      const moved = eventWhere(therapist, 'mark:moved', (mark) => mark.item === 'overall');
      for (const [item, mm] of Object.entries(MARKS)) client.emit('mark:move', { item: item as keyof typeof MARKS, mm });
      await moved;
      expect((await submit(client, { submissionId: 'log-submission-1', marks: MARKS })).ok).toBe(true);
      // A second rating for the session is refused: logged with its code, not its marks.
      expect((await submit(client, { submissionId: 'log-submission-2', marks: { ...MARKS, goals: 61 } })).ok).toBe(false);
      // A refused connection: a token whose signature does not verify.
      await expect(server.join(`${session.client.token.slice(0, -4)}AAAA`)).rejects.toBeDefined();
      const clientId = client.id;
      client.disconnect();
      await eventWhere(therapist, 'presence', (presence) => !presence.client);

      const lines = log.lines();
      const aboutSockets = lines.filter((line) => String(line['event']).startsWith('socket.') || String(line['event']).startsWith('rating.'));
      expect(aboutSockets.length).toBeGreaterThan(0);
      for (const line of aboutSockets) expect(line['socketId'], JSON.stringify(line)).toEqual(expect.any(String));
      const ofClient = lines.filter((line) => line['socketId'] === clientId);
      expect(ofClient.map((line) => line['event'])).toEqual(['socket.connected', 'rating.submit-refused', 'socket.disconnected']);
      for (const line of ofClient) expect(line).toMatchObject({ sessionId: session.sessionId, role: 'client' });
      expect(ofClient[1]).toMatchObject({ code: 'ALREADY_SUBMITTED', submissionId: 'log-submission-2' });
      expect(lines.find((line) => line['event'] === 'socket.refused')).toMatchObject({
        code: 'UNAUTHORIZED',
        reason: 'invalid-token',
        socketId: expect.any(String),
      });

      for (const token of [session.client.token, session.therapist.token, TEST_API_KEY]) expect(log.text()).not.toContain(token);
      // No clinical value under any name: redacted fields carry nothing, and no mark appears as a number.
      for (const line of lines) {
        for (const [path, value] of fieldsOf(line)) {
          const key = path.split('.').at(-1) ?? '';
          if ((REDACTED_FIELDS as readonly string[]).includes(key)) expect(value, path).toBe('[redacted]');
          if (key !== 'level' && key !== 'time' && key !== 'pid' && key !== 'durationMs' && key !== 'status') {
            expect(Object.values(MARKS), `${path} in ${JSON.stringify(line)}`).not.toContain(value);
          }
        }
      }
    });

    it('logs a WebSocket handshake refused for its origin, with the origin and without the token', async () => {
      const guarded = await startTestServer({ logger: log.logger, allowedOrigins: ['https://platform.example'] });
      try {
        const session = await guarded.createSession('client-log-4');
        const socket = connectSocket(`${guarded.url}${NAMESPACE}`, {
          transports: ['websocket'],
          auth: { token: session.client.token, protocol: PROTOCOL_VERSION },
          extraHeaders: { origin: 'https://elsewhere.example' },
          reconnection: false,
          forceNew: true,
        });
        await new Promise<void>((resolve) => socket.once('connect_error', () => resolve()));
        socket.close();
        expect(log.lines().find((line) => line['event'] === 'ws.handshake-refused')).toMatchObject({
          reason: 'origin not allowed',
          origin: 'https://elsewhere.example',
        });
        expect(log.text()).not.toContain(session.client.token);
      } finally {
        await guarded.close();
      }
    });
  });
});
