/**
 * /healthz proves that the store can write, not only answer: a server whose disk is full or whose
 * database went read-only can still read, and a check that only reads would call it healthy while
 * every submission fails. Real SQLite and real PostgreSQL, each refusing writes by itself.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from './store/open-store.ts';
import type { Store } from './store/store.ts';
import { memoryLogger } from './testing/memory-logger.ts';
import { readOnlyPostgresStore, sqliteStoreWithSwitch } from './testing/read-only-store.ts';
import { dropSchema, postgresAnswers, servicesRequired, TEST_DATABASE_URL } from './testing/services.ts';
import { startTestServer, TEST_API_KEY } from './testing/test-server.ts';

const root = mkdtempSync(join(tmpdir(), 'srs-health-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function health(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${url}/healthz`);
  return { status: response.status, body: await response.json() };
}

const postgres = await postgresAnswers();
if (!postgres && servicesRequired) throw new Error(`PostgreSQL does not answer at ${TEST_DATABASE_URL}`);

const UNHEALTHY = { status: 503, body: { error: { code: 'UNAVAILABLE', message: 'the store cannot write' } } };

/** A session written while the store could write, for the read that must still work. */
async function sessionIn(store: Store): Promise<string> {
  const id = `health-${randomBytes(4).toString('hex')}`;
  await store.createSession({
    id,
    tenant: 'test',
    clientRef: 'health-client',
    therapistRef: null,
    instrument: 'srs',
    status: 'waiting',
    createdAt: new Date().toISOString(),
  });
  return id;
}

describe('/healthz', () => {
  it('SQLite: answers 503 while the store can read but not write, and 200 again once it can', async () => {
    const dataDir = join(root, 'sqlite');
    const sessionId = await (async () => {
      const writable = await openStore({ dataDir });
      try {
        return await sessionIn(writable);
      } finally {
        await writable.close();
      }
    })();
    const { store, readOnly } = sqliteStoreWithSwitch(dataDir);
    const log = memoryLogger('info');
    const server = await startTestServer({ store, logger: log.logger });
    try {
      expect(await health(server.url)).toEqual({ status: 200, body: { ok: true } });
      readOnly(true);
      expect(await health(server.url)).toEqual(UNHEALTHY);
      // It can still read: the failure is the write, which only a write would have shown. (The
      // API's reads write to the audit trail, so they fail too, and say so.)
      expect((await store.getSession(sessionId))?.id).toBe(sessionId);
      expect((await server.api(`/api/sessions/${sessionId}`, { key: TEST_API_KEY })).status).toBe(500);
      expect(log.lines().filter((line) => line['event'] === 'health.failed')).toEqual([
        expect.objectContaining({ level: 50, err: expect.objectContaining({ code: 'SQLITE_READONLY' }) }),
      ]);
      readOnly(false);
      expect(await health(server.url)).toEqual({ status: 200, body: { ok: true } });
    } finally {
      await server.close();
    }
  });

  it('answers every one of many concurrent checks by the outcome of a write', async () => {
    const dataDir = join(root, 'concurrent');
    await (await openStore({ dataDir })).close();
    const { store, readOnly } = sqliteStoreWithSwitch(dataDir);
    const server = await startTestServer({ store });
    try {
      readOnly(true);
      const answers = await Promise.all(Array.from({ length: 20 }, () => health(server.url)));
      expect(answers).toEqual(Array(20).fill(UNHEALTHY));
      readOnly(false);
      expect(await health(server.url)).toEqual({ status: 200, body: { ok: true } });
    } finally {
      await server.close();
    }
  });

  it.skipIf(!postgres)('PostgreSQL: answers 503 while every transaction is read-only', async () => {
    const schema = `srs_health_${process.pid}_${randomBytes(4).toString('hex')}`;
    try {
      const writable = await openStore({ databaseUrl: TEST_DATABASE_URL, pgSchema: schema });
      const sessionId = await sessionIn(writable);
      await writable.close();
      const store = readOnlyPostgresStore(TEST_DATABASE_URL, schema);
      const server = await startTestServer({ store });
      try {
        expect(await health(server.url)).toEqual(UNHEALTHY);
        expect((await store.getSession(sessionId))?.id).toBe(sessionId);
      } finally {
        await server.close();
      }
    } finally {
      await dropSchema(schema);
    }
  });
});
