/**
 * Every /api response carries `Cache-Control: no-store`: join tokens, sessions and results pass
 * through them, and a shared cache or the browser's disk must never keep one. That includes the
 * answers made before any route runs (preflight, refused origin, rate limit, unreadable body,
 * undecodable path) and the errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RATE_LIMITS } from '../live/token-bucket.ts';
import { startTestServer, type TestServer } from '../testing/test-server.ts';
import { openApiDocument } from './openapi.ts';

interface Probe {
  /** The documented operation it exercises (`METHOD /path/{param}`), or a note for the others. */
  readonly operation: string;
  readonly status: number;
  send(): Promise<Response>;
}

describe('Cache-Control: no-store on every /api response', () => {
  let server: TestServer;
  let limited: TestServer;
  let probes: Probe[];

  beforeAll(async () => {
    server = await startTestServer({ allowedOrigins: ['https://platform.example'] });
    limited = await startTestServer({ rateLimits: { ...DEFAULT_RATE_LIMITS, http: { capacity: 1, perSecond: 0.01 } } });
    const session = await server.createSession('cache-client');
    const closable = await server.createSession('cache-client');
    await server.startRating(session);
    const client = await server.join(session.client.token);
    const ack = await client.emitWithAck('rating:submit', { submissionId: 'cache-0001', marks: { relationship: 90, goals: 80, approach: 70, overall: 60 } });
    expect(ack.ok).toBe(true);
    client.disconnect();
    const api = server.api;
    const post = (path: string, body: string, key?: string | null) => api(path, { method: 'POST', body, ...(key === undefined ? {} : { key }) });
    const { sessionId } = session;
    probes = [
      { operation: 'GET /api/openapi.json', status: 200, send: () => api('/api/openapi.json', { key: null }) },
      { operation: 'POST /api/sessions', status: 201, send: () => post('/api/sessions', '{"clientRef":"cache-client"}') },
      { operation: 'POST /api/sessions', status: 401, send: () => post('/api/sessions', '{"clientRef":"cache-client"}', null) },
      { operation: 'POST /api/sessions', status: 403, send: () => post('/api/sessions', '{"clientRef":"cache-client"}', session.therapist.token) },
      { operation: 'POST /api/sessions', status: 422, send: () => post('/api/sessions', '{"clientRef":"jane@example.org"}') },
      { operation: 'POST /api/sessions', status: 400, send: () => post('/api/sessions', '{"clientRef":') },
      { operation: 'POST /api/sessions', status: 413, send: () => post('/api/sessions', JSON.stringify({ clientRef: 'x', pad: 'x'.repeat(17_000) })) },
      { operation: 'GET /api/sessions/{id}', status: 200, send: () => api(`/api/sessions/${sessionId}`) },
      { operation: 'GET /api/sessions/{id}', status: 200, send: () => api(`/api/sessions/${sessionId}`, { key: session.therapist.token }) },
      { operation: 'GET /api/sessions/{id}', status: 404, send: () => api('/api/sessions/no-such-session') },
      { operation: 'GET /api/sessions/{id}', status: 401, send: () => api(`/api/sessions/${sessionId}`, { key: 'wrong-key-0123456789' }) },
      { operation: 'GET /api/sessions/{id}', status: 403, send: () => api(`/api/sessions/${sessionId}`, { key: session.client.token }) },
      { operation: 'GET /api/sessions/{id}', status: 400, send: () => api('/api/sessions/%E0%A4%A') },
      { operation: 'POST /api/sessions/{id}/close', status: 200, send: () => api(`/api/sessions/${closable.sessionId}/close`, { method: 'POST' }) },
      { operation: 'POST /api/sessions/{id}/close', status: 404, send: () => api('/api/sessions/no-such-session/close', { method: 'POST' }) },
      { operation: 'GET /api/clients/{clientRef}/results', status: 200, send: () => api('/api/clients/cache-client/results') },
      { operation: 'GET /api/clients/{clientRef}/results', status: 200, send: () => api('/api/clients/cache-client/results?format=csv') },
      {
        operation: 'GET /api/clients/{clientRef}/results',
        status: 200,
        send: () => api('/api/clients/cache-client/results?format=fhir', { key: session.therapist.token }),
      },
      { operation: 'GET /api/clients/{clientRef}/results', status: 400, send: () => api('/api/clients/cache-client/results?format=xml') },
      { operation: 'GET /api/clients/{clientRef}/results', status: 404, send: () => api('/api/clients/not%20a%20ref/results') },
      { operation: 'no such endpoint', status: 404, send: () => api('/api/no-such-endpoint') },
      {
        operation: 'preflight',
        status: 204,
        send: () =>
          api('/api/sessions', { method: 'OPTIONS', key: null, headers: { origin: 'https://platform.example', 'access-control-request-method': 'POST' } }),
      },
      { operation: 'refused origin', status: 403, send: () => api(`/api/sessions/${sessionId}`, { headers: { origin: 'https://evil.example' } }) },
      {
        operation: 'rate limit',
        status: 429,
        send: async () => {
          await limited.api('/api/openapi.json', { key: null });
          return limited.api('/api/openapi.json', { key: null });
        },
      },
    ];
  });

  afterAll(async () => {
    await server.close();
    await limited.close();
  });

  it('on every route, success and error alike', async () => {
    const seen: string[] = [];
    for (const probe of probes) {
      const response = await probe.send();
      const where = `${probe.operation} → ${probe.status}`;
      expect(response.status, where).toBe(probe.status);
      expect(response.headers.get('cache-control'), where).toBe('no-store');
      await response.arrayBuffer();
      seen.push(probe.operation);
    }
    // Every documented /api operation is probed, so a new route cannot slip through untested.
    const documented = Object.entries(openApiDocument('http://localhost').paths)
      .filter(([path]) => path.startsWith('/api/'))
      .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));
    expect(documented.length).toBeGreaterThan(0);
    for (const operation of documented) expect(seen, operation).toContain(operation);
  });
});
