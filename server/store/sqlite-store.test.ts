import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { describeTenantMigration } from './migration.contract.ts';
import { SQLITE_FILE_NAME, openStore } from './open-store.ts';
import type { Database } from './sql-schema.ts';
import { describeStoreContract, makeResult, newSession, at, TENANT } from './store.contract.ts';

const root = mkdtempSync(join(tmpdir(), 'srs-live-sqlite-'));
let count = 0;
/** A data directory that does not exist yet: openStore must create it. */
const freshDataDir = (): string => join(root, `store-${++count}`);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describeStoreContract('SQLite', async () => {
  const store = await openStore({ dataDir: freshDataDir() });
  return { store, cleanup: () => store.close() };
});

describeStoreContract('SQLite :memory:', async () => {
  const store = await openStore({ sqliteFile: ':memory:' });
  return { store, cleanup: () => store.close() };
});

describeTenantMigration('SQLite', async () => {
  const dir = freshDataDir();
  mkdirSync(dir);
  const database = new SqliteDatabase(join(dir, SQLITE_FILE_NAME));
  database.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  return { db, cleanup: () => db.destroy() };
});

describe('SQLite file', () => {
  it('keeps a saved result, its session and its pending webhook across close and reopen', async () => {
    const dataDir = freshDataDir();
    const result = makeResult('s-1', 'sub-0001', at(10));
    const first = await openStore({ dataDir });
    await first.createSession(newSession('s-1', 'client-a'));
    await first.saveResult(result);
    await first.close();

    const reopened = await openStore({ dataDir });
    try {
      expect(await reopened.getResult('s-1')).toEqual(result);
      expect(await reopened.saveResult(result)).toEqual({ result, created: false });
      expect(await reopened.listClientResults(TENANT, 'client-a')).toEqual([result]);
      expect(await reopened.listDueWebhooks(at(10), 10)).toEqual([{ submissionId: 'sub-0001', attempts: 0, result }]);
    } finally {
      await reopened.close();
    }
  });

  it('keeps an acknowledged result when the process is then killed with SIGKILL', async () => {
    const dataDir = freshDataDir();
    const result = makeResult('s-1', 'sub-0001', at(10));
    // The child acknowledges (prints) right after saveResult resolves, then hangs until killed.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { openStore } from ${JSON.stringify(new URL('./open-store.ts', import.meta.url).href)};
         const store = await openStore({ dataDir: ${JSON.stringify(dataDir)} });
         await store.createSession(${JSON.stringify(newSession('s-1', 'client-a'))});
         await store.saveResult(${JSON.stringify(result)});
         process.stdout.write('acked\\n');
         setInterval(() => {}, 60_000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      let output = '';
      for await (const chunk of child.stdout) {
        output += String(chunk);
        if (output.includes('acked')) break;
      }
      expect(output).toContain('acked');
    } finally {
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    }

    const reopened = await openStore({ dataDir });
    try {
      expect(await reopened.getResult('s-1')).toEqual(result);
      expect(await reopened.listDueWebhooks(at(10), 10)).toHaveLength(1);
    } finally {
      await reopened.close();
    }
  });

  it('is in WAL mode, stores millimetres as integers, and enforces one result per session', async () => {
    const dataDir = freshDataDir();
    const store = await openStore({ dataDir });
    await store.createSession(newSession('s-1', 'client-a'));
    await store.saveResult(makeResult('s-1', 'sub-0001', at(10)));
    await store.close();

    const raw = new SqliteDatabase(join(dataDir, SQLITE_FILE_NAME));
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(raw.prepare('select typeof(goals_mm) as mm, typeof(total_mm) as total from results').get()).toEqual({ mm: 'integer', total: 'integer' });
      const insertOther = raw.prepare(`insert into results values ('sub-0002', 's-1', 'srs', 1, 2, 3, 4, 10, 'poor', '[]', 'client', '${at(11)}')`);
      expect(() => insertOther.run()).toThrow(/UNIQUE/);
    } finally {
      raw.close();
    }
  });

  it('commits a row of its own on every health check', async () => {
    const dataDir = freshDataDir();
    const store = await openStore({ dataDir });
    const startedAt = new Date().toISOString();
    await store.checkHealth();
    await store.checkHealth();
    await store.close();
    const raw = new SqliteDatabase(join(dataDir, SQLITE_FILE_NAME));
    try {
      const rows = raw.prepare('select id, checked_at from health_check').all() as { id: number; checked_at: string }[];
      expect(rows).toHaveLength(1);
      expect(rows[0]?.checked_at >= startedAt).toBe(true);
    } finally {
      raw.close();
    }
  });

  it('migrates an existing file without error (migrations are idempotent at start-up)', async () => {
    const dataDir = freshDataDir();
    await (await openStore({ dataDir })).close();
    const again = await openStore({ dataDir });
    await expect(again.checkHealth()).resolves.toBeUndefined();
    await again.close();
  });
});
