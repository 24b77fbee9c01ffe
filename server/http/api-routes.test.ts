import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../shared/protocol.ts';
import { startTestServer, type TestServer } from '../testing/test-server.ts';

describe('platform API', () => {
  let server: TestServer;

  beforeEach(async () => {
    server = await startTestServer();
  });

  afterEach(async () => {
    await server.close();
  });

  describe('authentication', () => {
    it('answers 401 without a key or with a wrong one, as JSON with a code', async () => {
      for (const key of [null, 'wrong-key-0123456789']) {
        const response = await server.api('/api/sessions', { method: 'POST', body: '{"clientRef":"c1"}', key });
        expect(response.status).toBe(401);
        expect(await response.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
      }
    });

    it('answers 403 when a join token calls a platform endpoint', async () => {
      const { therapist } = await server.createSession('c1');
      const response = await server.api('/api/sessions', { method: 'POST', body: '{"clientRef":"c2"}', key: therapist.token });
      expect(response.status).toBe(403);
    });
  });

  describe('POST /api/sessions', () => {
    it('creates a session with a token per role that travels in the URL fragment', async () => {
      const created = await server.createSession('client-42', { therapistRef: 'th-1' });
      expect(created.sessionId).toMatch(/^[0-9a-f-]{36}$/);
      for (const role of ['client', 'therapist'] as const) {
        const url = new URL(created[role].url);
        expect(url.pathname).toBe(`/${role}`);
        expect(url.search).toBe('');
        expect(url.hash).toBe(`#token=${created[role].token}`);
      }
      expect(created.client.token).not.toBe(created.therapist.token);
      const page = await fetch(created.client.url.split('#')[0] ?? '');
      expect(await page.text()).toContain('<srs-rating>');
    });

    it('refuses e-mail addresses, names and unknown fields with 422', async () => {
      for (const body of [
        { clientRef: 'jane@example.org' },
        { clientRef: 'Jane Doe' },
        {},
        { clientRef: 'c1', extra: true },
        { clientRef: 'c1', tokenTtlSeconds: 5 },
      ]) {
        const response = await server.api('/api/sessions', { method: 'POST', body: JSON.stringify(body) });
        expect(response.status, JSON.stringify(body)).toBe(422);
        const error = (await response.json()) as { error: { code: string; message: string } };
        expect(error.error.code).toBe('INVALID_BODY');
        expect(error.error.message.length).toBeGreaterThan(0);
      }
      const email = await server.api('/api/sessions', { method: 'POST', body: '{"clientRef":"jane@example.org"}' });
      expect(((await email.json()) as { error: { message: string } }).error.message).toMatch(/e-mail/);
    });

    it('answers malformed JSON with 400 and keeps serving', async () => {
      const response = await server.api('/api/sessions', { method: 'POST', body: '{"clientRef":' });
      expect(response.status).toBe(400);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    });

    it('honours the requested token lifetime', async () => {
      const created = await server.createSession('c1', { tokenTtlSeconds: 120 });
      const payload = JSON.parse(Buffer.from(created.client.token.split('.')[1] ?? '', 'base64url').toString()) as { exp: number; iat: number };
      expect(payload.exp - payload.iat).toBe(120);
    });
  });

  describe('reading and closing sessions', () => {
    it('reads a session, and its result once submitted', async () => {
      const created = await server.createSession('c9');
      let response = await server.api(`/api/sessions/${created.sessionId}`);
      expect(await response.json()).toMatchObject({ id: created.sessionId, clientRef: 'c9', status: 'waiting', result: null });
      await server.startRating(created);
      const client = await server.join(created.client.token);
      const ack = await client.emitWithAck('rating:submit', {
        submissionId: 'sub-read-01',
        marks: { relationship: 100, goals: 100, approach: 90, overall: 99 },
      });
      expect(ack.ok).toBe(true);
      response = await server.api(`/api/sessions/${created.sessionId}`);
      expect(await response.json()).toMatchObject({ status: 'submitted', result: { totalMm: 389, band: 'fair' } });
      const therapistRead = await server.api(`/api/sessions/${created.sessionId}`, { key: created.therapist.token });
      expect(therapistRead.status).toBe(200);
      expect((await server.api('/api/sessions/no-such-session')).status).toBe(404);
    });

    it('closing a session disconnects its sockets and its tokens stop working', async () => {
      const created = await server.createSession('c10');
      const client = await server.join(created.client.token);
      const disconnected = new Promise<string>((resolve) => client.once('disconnect', resolve));
      const response = await server.api(`/api/sessions/${created.sessionId}/close`, { method: 'POST' });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ status: 'closed' });
      expect(await disconnected).toBe('io server disconnect');
      await expect(server.join(created.client.token)).rejects.toMatchObject({ data: { code: ERROR_CODES.sessionClosed } });
    });
  });

  describe('client results', () => {
    it("lists a client's results oldest first, to the platform and to that client's therapist only", async () => {
      const totals: number[] = [];
      let lastTherapistToken = '';
      for (const [index, goals] of [50, 80, 100].entries()) {
        const created = await server.createSession('c11');
        lastTherapistToken = created.therapist.token;
        await server.startRating(created);
        const client = await server.join(created.client.token);
        const ack = await client.emitWithAck('rating:submit', {
          submissionId: `sub-list-${index}0`,
          marks: { relationship: 100, goals, approach: 100, overall: 100 },
        });
        if (ack.ok) totals.push(ack.result.totalMm);
      }
      const other = await server.createSession('c12');
      const platform = await server.api('/api/clients/c11/results');
      const body = (await platform.json()) as { results: { totalMm: number }[] };
      expect(body.results.map((result) => result.totalMm)).toEqual([350, 380, 400]);
      expect(totals).toEqual([350, 380, 400]);
      expect((await server.api('/api/clients/c11/results', { key: lastTherapistToken })).status).toBe(200);
      expect((await server.api('/api/clients/c11/results', { key: other.therapist.token })).status).toBe(403);
      expect((await server.api('/api/clients/c11/results', { key: other.client.token })).status).toBe(403);
      const audit = await server.store.listAudit({ clientRef: 'c11' });
      expect(audit.filter((entry) => entry.action === 'results.read').map((entry) => entry.actor)).toEqual(['api:test', expect.stringMatching(/^therapist:/)]);
    });
  });

  it('answers /healthz while the store answers', async () => {
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });
});
