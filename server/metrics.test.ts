import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ERROR_CODES, type SubmitAck } from '../shared/protocol.ts';
import { DEFAULT_RATE_LIMITS } from './live/token-bucket.ts';
import { eventWhere, startTestServer, type TestServer, type TestSocket } from './testing/test-server.ts';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const MARKS = { relationship: 95, goals: 72, approach: 91, overall: 88 };
const WEBHOOK_SECRET = 'webhook-secret-0123456789abcdef-0123';

/** The value of one sample of the exposition (`name` plus its exact label set), or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = (match[2] ?? '')
      .split(',')
      .filter((part) => part !== '')
      .sort()
      .join(',');
    if (found === wanted) return Number(match[3]);
  }
  return undefined;
}

function emitWithAck(socket: TestSocket, event: string, payload: unknown): Promise<SubmitAck> {
  return (socket as unknown as { emitWithAck(event: string, payload: unknown): Promise<SubmitAck> }).emitWithAck(event, payload);
}

describe('metrics', () => {
  let server: TestServer;
  let receiver: Server;
  const scrape = async (target: TestServer = server): Promise<string> => {
    const response = await fetch(`${target.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return response.text();
  };

  beforeEach(async () => {
    receiver = createServer((_req, res) => res.writeHead(204).end());
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    server = await startTestServer({
      metricsToken: METRICS_TOKEN,
      webhook: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, secret: WEBHOOK_SECRET },
      // Refills too slow to matter within the test: each limit is reached by count alone.
      rateLimits: {
        ...DEFAULT_RATE_LIMITS,
        marks: { capacity: 6, perSecond: 0.001 },
        requests: { capacity: 3, perSecond: 0.001 },
        sessionJoins: { capacity: 3, perSecond: 0.001 },
        http: { capacity: 40, perSecond: 0.001 },
      },
    });
  });

  afterEach(async () => {
    await server.close();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  describe('access', () => {
    it('answers 404 when no metrics token is configured', async () => {
      const plain = await startTestServer();
      try {
        const response = await fetch(`${plain.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
        expect(response.status).toBe(404);
        expect(await response.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no such page' } });
      } finally {
        await plain.close();
      }
    });

    it('answers 401 without the token or with another, and never to an API key', async () => {
      const attempts: Record<string, string>[] = [
        {},
        { authorization: 'Bearer wrong-token-0123456789abcdef' },
        { authorization: `Bearer ${METRICS_TOKEN}x` },
        { authorization: 'Bearer test-api-key-0123456789abcdef' },
        { authorization: METRICS_TOKEN },
      ];
      for (const headers of attempts) {
        const response = await fetch(`${server.url}/metrics`, { headers });
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
      }
    });

    it('keeps a registry per app: two apps in one process count apart', async () => {
      const other = await startTestServer({ metricsToken: METRICS_TOKEN });
      try {
        await server.createSession('client-a');
        const session = await server.createSession('client-b');
        await server.join(session.client.token);
        await vi.waitFor(async () => expect(sample(await scrape(), 'srs_sockets_connected', { role: 'client' })).toBe(1), { timeout: 10_000 });
        expect(sample(await scrape(other), 'srs_sockets_connected', { role: 'client' })).toBe(0);
        expect(sample(await scrape(other), 'srs_store_duration_seconds_count', { operation: 'createSession' })).toBeUndefined();
      } finally {
        await other.close();
      }
    });
  });

  describe('counting', () => {
    it('moves with sockets, marks, submissions, store calls, webhooks and rate-limit refusals', async () => {
      const before = await scrape();
      expect(sample(before, 'srs_sockets_connected', { role: 'client' })).toBe(0);
      expect(sample(before, 'srs_sockets_connected', { role: 'therapist' })).toBe(0);
      expect(sample(before, 'srs_live_sessions')).toBe(0);
      expect(sample(before, 'srs_marks_relayed_total')).toBe(0);
      expect(sample(before, 'srs_submissions_stored_total')).toBe(0);
      for (const kind of ['mark', 'socket_request', 'session_request', 'join', 'http_api'])
        expect(sample(before, 'srs_rate_limit_refusals_total', { kind })).toBe(0);
      expect(sample(before, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);

      const session = await server.createSession('client-metrics');
      const therapist = await server.startRating(session);
      const client = await server.join(session.client.token);
      await vi.waitFor(
        async () => {
          const text = await scrape();
          expect(sample(text, 'srs_sockets_connected', { role: 'client' })).toBe(1);
          expect(sample(text, 'srs_sockets_connected', { role: 'therapist' })).toBe(1);
          expect(sample(text, 'srs_live_sessions')).toBe(1);
        },
        { timeout: 10_000 },
      );

      const moved = eventWhere(therapist, 'mark:moved', (mark) => mark.item === 'overall' && mark.mm === MARKS.overall);
      for (const [item, mm] of Object.entries(MARKS)) client.emit('mark:move', { item: item as keyof typeof MARKS, mm });
      await moved;
      const ack = await emitWithAck(client, 'rating:submit', { submissionId: 'metrics-submission-1', marks: MARKS });
      expect(ack.ok).toBe(true);
      // A retry stores nothing new and is not counted again.
      expect((await emitWithAck(client, 'rating:submit', { submissionId: 'metrics-submission-1', marks: MARKS })).ok).toBe(true);

      const afterSubmit = await scrape();
      expect(sample(afterSubmit, 'srs_marks_relayed_total')).toBeGreaterThanOrEqual(1);
      expect(sample(afterSubmit, 'srs_submissions_stored_total')).toBe(1);
      expect(sample(afterSubmit, 'srs_submit_duration_seconds_count')).toBe(2);
      expect(sample(afterSubmit, 'srs_store_duration_seconds_count', { operation: 'saveResult' })).toBeGreaterThanOrEqual(1);
      expect(sample(afterSubmit, 'srs_store_duration_seconds_count', { operation: 'createSession' })).toBe(1);
      expect(sample(afterSubmit, 'srs_store_errors_total', { operation: 'saveResult' })).toBeUndefined();
      await vi.waitFor(async () => expect(sample(await scrape(), 'srs_webhook_deliveries_total', { outcome: 'delivered' })).toBe(1), { timeout: 10_000 });

      // The client's marks: four spent above, two more within the limit (refused as submitted), then three refused by it.
      const limited = eventWhere(client, 'srs:error', (error) => error.code === ERROR_CODES.rateLimited);
      for (let i = 0; i < 5; i++) client.emit('mark:move', { item: 'goals', mm: i });
      await limited;
      await vi.waitFor(async () => expect(sample(await scrape(), 'srs_rate_limit_refusals_total', { kind: 'mark' })).toBe(3), { timeout: 10_000 });

      // The therapist's socket: one request spent on rating:start, two left, then refused.
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await emitWithAck(therapist, 'history:read', {}));
      expect(answers.map((answer) => (answer.ok ? 'ok' : answer.error.code))).toEqual(['ok', 'ok', ERROR_CODES.rateLimited]);

      // Joins: therapist, client, then one more within the session's budget of three, then refused.
      await server.join(session.therapist.token);
      await expect(server.join(session.therapist.token)).rejects.toMatchObject({ data: { code: ERROR_CODES.rateLimited } });

      // The HTTP API: 40 requests at once, then 429.
      let status = 0;
      for (let i = 0; i < 45 && status !== 429; i++) status = (await server.api('/api/openapi.json')).status;
      expect(status).toBe(429);

      const after = await scrape();
      expect(sample(after, 'srs_rate_limit_refusals_total', { kind: 'socket_request' })).toBe(1);
      expect(sample(after, 'srs_rate_limit_refusals_total', { kind: 'join' })).toBe(1);
      expect(sample(after, 'srs_rate_limit_refusals_total', { kind: 'http_api' })).toBe(1);
      expect(sample(after, 'srs_rate_limit_refusals_total', { kind: 'session_request' })).toBe(0);
      expect(sample(after, 'srs_sockets_connected', { role: 'therapist' })).toBe(2);
      // No session id, clientRef or clinical value in any label.
      expect(after).not.toContain(session.sessionId);
      expect(after).not.toContain('client-metrics');
    });
  });
});
