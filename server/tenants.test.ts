/**
 * Tenants: each API key label is a tenant. A session, its result and a clientRef's history belong
 * to the tenant that created them; another tenant gets 404, as for something that does not exist.
 * Real servers on port 0, real SQLite, real sockets.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { CreateSessionResponse, Result } from '../shared/protocol.ts';
import { createApp } from './app.ts';
import { silentLogger } from './logging.ts';
import { openStore } from './store/open-store.ts';
import type { Store } from './store/store.ts';
import { startTestServer, TEST_TOKEN_SECRET, type TestServer } from './testing/test-server.ts';

const KEY_A = 'clinic-a-key-0123456789abcdef';
const KEY_B = 'clinic-b-key-0123456789abcdef';
const TWO_TENANTS = [
  { label: 'clinic-a', key: KEY_A },
  { label: 'clinic-b', key: KEY_B },
];
const MARKS = { relationship: 95, goals: 72, approach: 91, overall: 88 };

const root = mkdtempSync(join(tmpdir(), 'srs-tenants-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(apiKeys = TWO_TENANTS): Promise<TestServer> {
  server = await startTestServer({ apiKeys });
  return server;
}

/** The therapist starts the rating and the client submits it, as in a meeting. */
async function rate(srv: TestServer, session: CreateSessionResponse, submissionId: string, goals = MARKS.goals): Promise<Result> {
  const therapist = await srv.startRating(session);
  const client = await srv.join(session.client.token);
  const ack = await client.emitWithAck('rating:submit', { submissionId, marks: { ...MARKS, goals } });
  client.disconnect();
  therapist.disconnect();
  if (!ack.ok) throw new Error(`not stored: ${ack.error.code}`);
  return ack.result;
}

/** An app over a store that outlives it, as a restart with another configuration would be. */
async function runApp(store: Store, apiKeys: { label: string; key: string }[]) {
  const app = await createApp({ store, tokenSecret: TEST_TOKEN_SECRET, apiKeys, logger: silentLogger() });
  const { port } = await app.listen(0, '127.0.0.1');
  return {
    call: (path: string, key: string, init: RequestInit = {}) =>
      fetch(`http://127.0.0.1:${port}${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${key}` } }),
    close: () => app.close(),
  };
}

async function statusAndBody(response: Response): Promise<{ status: number; body: unknown }> {
  return { status: response.status, body: await response.json() };
}

const sessionIdsOf = async (response: Response): Promise<string[]> =>
  ((await response.json()) as { results: Result[] }).results.map((result) => result.sessionId);

describe('tenants', () => {
  it('another tenant reading or closing a session gets the 404 of a session that does not exist, and nothing changes', async () => {
    const srv = await start();
    const session = await srv.createSession('shared-1', {}, KEY_A);
    await rate(srv, session, 'tenant-a-0001');
    const client = await srv.join(session.client.token);
    const before = await srv.srs.sessions.get(session.sessionId);

    const missing = await statusAndBody(await srv.api('/api/sessions/00000000-0000-4000-8000-000000000000', { key: KEY_B }));
    expect(missing.status).toBe(404);
    expect(await statusAndBody(await srv.api(`/api/sessions/${session.sessionId}`, { key: KEY_B }))).toEqual(missing);
    const missingClose = await statusAndBody(await srv.api('/api/sessions/00000000-0000-4000-8000-000000000000/close', { method: 'POST', key: KEY_B }));
    expect(missingClose.status).toBe(404);
    expect(await statusAndBody(await srv.api(`/api/sessions/${session.sessionId}/close`, { method: 'POST', key: KEY_B }))).toEqual(missingClose);

    expect(await srv.srs.sessions.get(session.sessionId)).toEqual(before);
    expect(client.connected).toBe(true);
    const read = await srv.api(`/api/sessions/${session.sessionId}`, { key: KEY_A });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ id: session.sessionId, status: 'submitted', result: { submissionId: 'tenant-a-0001' } });
  });

  it('the same clientRef under two tenants is two clients: history and exports stay in their tenant', async () => {
    const srv = await start();
    const ofA = await srv.createSession('shared-1', {}, KEY_A);
    const ofB = await srv.createSession('shared-1', {}, KEY_B);
    await rate(srv, ofA, 'tenant-a-0002', 10);
    await rate(srv, ofB, 'tenant-b-0002', 20);
    await srv.createSession('only-in-a', {}, KEY_A);

    expect(await sessionIdsOf(await srv.api('/api/clients/shared-1/results', { key: KEY_A }))).toEqual([ofA.sessionId]);
    expect(await sessionIdsOf(await srv.api('/api/clients/shared-1/results', { key: KEY_B }))).toEqual([ofB.sessionId]);
    const csvOfB = await (await srv.api('/api/clients/shared-1/results?format=csv', { key: KEY_B })).text();
    expect(csvOfB).toContain(ofB.sessionId);
    expect(csvOfB).not.toContain(ofA.sessionId);
    const fhirOfB = (await (await srv.api('/api/clients/shared-1/results?format=fhir', { key: KEY_B })).json()) as { entry: unknown[] };
    expect(fhirOfB.entry).toHaveLength(1);
    expect(JSON.stringify(fhirOfB)).not.toContain(ofA.sessionId);

    // A client that only another tenant has answers exactly as one that nobody has: no oracle.
    const nobody = await statusAndBody(await srv.api('/api/clients/nobody-has-this/results', { key: KEY_B }));
    expect(nobody).toEqual({ status: 404, body: { error: { code: 'NOT_FOUND', message: expect.any(String) } } });
    for (const format of ['', '?format=csv', '?format=fhir']) {
      expect(await statusAndBody(await srv.api(`/api/clients/only-in-a/results${format}`, { key: KEY_B }))).toEqual(nobody);
    }
    // A tenant's own client without results is still a client: 200 with none.
    expect(await statusAndBody(await srv.api('/api/clients/only-in-a/results', { key: KEY_A }))).toEqual({
      status: 200,
      body: { clientRef: 'only-in-a', results: [] },
    });
  });

  it("a therapist token reads its own client's history within its own tenant only, over the API and over history:read", async () => {
    const srv = await start();
    const ofA = await srv.createSession('shared-1', {}, KEY_A);
    const ofB = await srv.createSession('shared-1', {}, KEY_B);
    await rate(srv, ofA, 'tenant-a-0003');
    await rate(srv, ofB, 'tenant-b-0003');

    const key = ofB.therapist.token;
    expect(await sessionIdsOf(await srv.api('/api/clients/shared-1/results', { key }))).toEqual([ofB.sessionId]);
    expect(await (await srv.api('/api/clients/shared-1/results?format=csv', { key })).text()).not.toContain(ofA.sessionId);
    const therapist = await srv.join(key);
    const history = await therapist.emitWithAck('history:read', {});
    therapist.disconnect();
    expect(history).toMatchObject({ ok: true });
    expect(history.ok && history.results.map((result) => result.sessionId)).toEqual([ofB.sessionId]);
    expect((await srv.api(`/api/sessions/${ofA.sessionId}`, { key })).status).toBe(403);
  });

  it('keeps identifying the actor as api:<label> in the audit trail', async () => {
    const srv = await start();
    const session = await srv.createSession('shared-1', {}, KEY_B);
    await srv.api(`/api/sessions/${session.sessionId}`, { key: KEY_B });
    await srv.api(`/api/sessions/${session.sessionId}/close`, { method: 'POST', key: KEY_B });
    const audit = await srv.store.listAudit({ sessionId: session.sessionId });
    expect(audit.map((entry) => [entry.actor, entry.action])).toEqual([
      ['api:clinic-b', 'session.create'],
      ['api:clinic-b', 'session.read'],
      ['api:clinic-b', 'session.close'],
    ]);
  });

  describe('configured keys', () => {
    it('refuses a key once it is removed from the configuration, even over the store it wrote to; a rotated key keeps its tenant', async () => {
      const store = await openStore({ dataDir: join(root, 'removed-key') });
      try {
        // A first run with both keys: clinic-b creates a session.
        const first = await runApp(store, TWO_TENANTS);
        const created = await first.call('/api/sessions', KEY_B, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"clientRef":"shared-1"}',
        });
        expect(created.status).toBe(201);
        const { sessionId } = (await created.json()) as CreateSessionResponse;
        await first.close();

        // Then clinic-b's key is removed from the configuration.
        const second = await runApp(store, [{ label: 'clinic-a', key: KEY_A }]);
        const refused = [
          await second.call('/api/sessions', KEY_B, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"clientRef":"shared-2"}' }),
          await second.call(`/api/sessions/${sessionId}`, KEY_B),
          await second.call('/api/clients/shared-1/results', KEY_B),
          await second.call(`/api/sessions/${sessionId}/close`, KEY_B, { method: 'POST' }),
        ];
        expect(refused.map((response) => response.status)).toEqual([401, 401, 401, 401]);
        expect((await store.getSession(sessionId))?.status).toBe('waiting');
        expect((await store.listAudit({})).filter((entry) => entry.action === 'session.create')).toHaveLength(1);
        await second.close();

        // clinic-b comes back with a new key: its sessions are its own again; the old key stays refused.
        const rotated = 'clinic-b-new-key-0123456789abcdef';
        const third = await runApp(store, [{ label: 'clinic-b', key: rotated }]);
        expect((await third.call(`/api/sessions/${sessionId}`, rotated)).status).toBe(200);
        expect((await third.call(`/api/sessions/${sessionId}`, KEY_B)).status).toBe(401);
        await third.close();
      } finally {
        await store.close();
      }
    });

    it('refuses to start with a key labelled as the demo tenant, or one key under two labels', async () => {
      const store = await openStore({ sqliteFile: ':memory:' });
      try {
        const start = (apiKeys: { label: string; key: string }[]) => createApp({ store, tokenSecret: TEST_TOKEN_SECRET, apiKeys, logger: silentLogger() });
        await expect(start([{ label: 'demo', key: KEY_A }])).rejects.toThrow(/"demo" is reserved/);
        await expect(
          start([
            { label: 'clinic-a', key: KEY_A },
            { label: 'clinic-b', key: KEY_A },
          ]),
        ).rejects.toThrow(/same key/);
      } finally {
        await store.close();
      }
    });
  });
});
