/**
 * Start-up as an operator meets it: `server/main.ts` in a real process, configured through the
 * environment. Where it listens, what it refuses to start with, and what it leaves on disk.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SQLITE_FILE_NAME } from './store/open-store.ts';
import { sendRaw, within } from './testing/raw-http.ts';
import { startServerProcess, type ServerProcess } from './testing/server-process.ts';

const API_KEY = 'start-up-api-key-0123456789';
/** Unset in the child: the embedded default, as `npm start` runs it. */
const EMBEDDED = { HOST: '', SRS_ALLOWED_HOSTS: '', SRS_API_KEY: '', SRS_API_KEYS: '' };

/** This machine's address on its network, if it has one. */
const externalAddress = Object.values(networkInterfaces())
  .flat()
  .find((entry) => entry !== undefined && entry.family === 'IPv4' && !entry.internal)?.address;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Whether a TCP connection to address:port is accepted. */
function reachable(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, address);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const modeOf = (path: string) => `0${(statSync(path).mode & 0o777).toString(8)}`;

/** The JSON log lines the process printed so far. */
function logLines(server: ServerProcess): Record<string, unknown>[] {
  return server
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('start-up', () => {
  const processes: ServerProcess[] = [];
  const dirs: string[] = [];

  afterEach(async () => {
    await Promise.all(processes.splice(0).map((server) => server.kill('SIGTERM')));
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'srs-start-up-'));
    dirs.push(dir);
    return dir;
  }

  async function start(env: Record<string, string>): Promise<ServerProcess> {
    const server = await startServerProcess(env);
    processes.push(server);
    return server;
  }

  /** Starts a process that must refuse to start; resolves with what it printed. */
  async function refusedStart(env: Record<string, string>): Promise<string> {
    const outcome = await startServerProcess(env).then(
      (server) => {
        processes.push(server);
        return 'started';
      },
      (error: unknown) => (error as Error).message,
    );
    expect(outcome).toMatch(/^server exited with 1:/);
    return outcome;
  }

  describe('the embedded default (no keys, no HOST)', () => {
    // One process for these checks: starting one takes a few seconds.
    let server: ServerProcess;
    let dataDir: string;

    beforeAll(async () => {
      dataDir = join(mkdtempSync(join(tmpdir(), 'srs-start-up-')), 'nested', 'data');
      server = await startServerProcess({ ...EMBEDDED, SRS_DEMO: 'on', DATA_DIR: dataDir });
    }, 60_000);

    afterAll(async () => {
      await server.kill('SIGTERM');
      rmSync(join(dataDir, '..', '..'), { recursive: true, force: true });
    });

    it('listens on 127.0.0.1 only, and says so in one line', async () => {
      const lines = server
        .output()
        .split('\n')
        .filter((line) => /127\.0\.0\.1 only/.test(line));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/HOST/);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    });

    it.skipIf(externalAddress === undefined)("cannot be reached on the machine's network address", async () => {
      expect(await reachable('127.0.0.1', server.port)).toBe(true);
      expect(await reachable(externalAddress as string, server.port)).toBe(false);
    });

    it("answers only to this machine's names: a foreign Host gets 421, on the demo page too", async () => {
      const port = new URL(server.url).port;
      for (const host of ['rebound.example', `rebound.example:${port}`]) {
        for (const path of ['/', '/api/openapi.json', '/fhir/Questionnaire/srs']) {
          const answer = await sendRaw(server.url, path, { headers: { host } });
          expect({ host, path, status: answer.status, body: JSON.parse(answer.body) as unknown }).toEqual({
            host,
            path,
            status: 421,
            body: { error: { code: 'MISDIRECTED_REQUEST', message: expect.any(String) } },
          });
        }
      }
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`]) {
        const demo = await sendRaw(server.url, '/', { headers: { host } });
        expect(demo.status, host).toBe(200);
        expect(demo.body).toContain('srs-live demo');
      }
    });

    it('creates DATA_DIR (and its missing parent) 0700, and the database, its -wal and -shm, the token secret and the development key 0600', () => {
      // The -wal and -shm files exist while the database is open.
      const db = join(dataDir, SQLITE_FILE_NAME);
      const files = [db, `${db}-wal`, `${db}-shm`, join(dataDir, 'token-secret'), join(dataDir, 'dev-api-key')];
      expect({ dir: modeOf(dataDir), parent: modeOf(join(dataDir, '..')), files: files.map(modeOf) }).toEqual({
        dir: '0700',
        parent: '0700',
        files: Array(files.length).fill('0600'),
      });
      expect(logLines(server).filter((line) => line['event'] === 'data.loose-permissions')).toEqual([]);
    });
  });

  describe('where it listens when told', () => {
    it.skipIf(externalAddress === undefined)("can be reached on the machine's network address with HOST=0.0.0.0, and does not claim loopback", async () => {
      const everywhere = await start({ ...EMBEDDED, HOST: '0.0.0.0', DATA_DIR: join(tempDir(), 'data') });
      expect(await reachable(externalAddress as string, everywhere.port)).toBe(true);
      expect(everywhere.output()).not.toMatch(/127\.0\.0\.1 only/);
    });
  });

  describe('what it refuses to start with', () => {
    it('keys without SRS_PUBLIC_URL or SRS_ALLOWED_HOSTS; a webhook over plain http to another machine; a short webhook secret', async () => {
      const base = { SRS_API_KEY: API_KEY, DATA_DIR: join(tempDir(), 'data') };
      const [hostless, plain, short] = await Promise.all([
        refusedStart({ ...base, SRS_ALLOWED_HOSTS: '', SRS_PUBLIC_URL: '' }),
        refusedStart({ ...base, SRS_WEBHOOK_URL: 'http://hooks.example/srs', SRS_WEBHOOK_SECRET: 'w'.repeat(32) }),
        refusedStart({ ...base, SRS_WEBHOOK_URL: 'https://hooks.example/srs', SRS_WEBHOOK_SECRET: 'w'.repeat(31) }),
      ]);
      expect(hostless).toMatch(/srs-live: .*SRS_PUBLIC_URL.*SRS_ALLOWED_HOSTS/);
      expect(plain).toContain('srs-live: SRS_WEBHOOK_URL must be https://');
      expect(short).toContain('srs-live: SRS_WEBHOOK_SECRET must be at least 32 characters');
    });

    it('starts with a loopback http webhook and a long enough secret', async () => {
      const server = await start({
        SRS_API_KEY: API_KEY,
        DATA_DIR: join(tempDir(), 'data'),
        SRS_WEBHOOK_URL: 'http://localhost:9/hook',
        SRS_WEBHOOK_SECRET: 'w'.repeat(32),
      });
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    });
  });

  describe('data at rest', () => {
    it('warns, once per path with its mode, about an existing 0755 DATA_DIR and a 0644 secret, and leaves them as they are', async () => {
      const dataDir = join(tempDir(), 'data');
      mkdirSync(dataDir);
      chmodSync(dataDir, 0o755);
      const secret = join(dataDir, 'token-secret');
      writeFileSync(secret, `${'s'.repeat(43)}\n`);
      chmodSync(secret, 0o644);
      const server = await start({ ...EMBEDDED, DATA_DIR: dataDir });
      const warnings = async () => logLines(server).filter((line) => line['event'] === 'data.loose-permissions');
      await within(
        (async () => {
          while ((await warnings()).length < 2) await sleep(20);
        })(),
        5_000,
        'no warnings',
      );
      expect(await warnings()).toEqual([
        expect.objectContaining({ level: 40, path: dataDir, mode: '0755', expected: '0700', msg: expect.stringContaining(`${dataDir} has mode 0755`) }),
        expect.objectContaining({ level: 40, path: secret, mode: '0644', expected: '0600', msg: expect.stringContaining(`${secret} has mode 0644`) }),
      ]);
      expect([modeOf(dataDir), modeOf(secret)]).toEqual(['0755', '0644']);
      // What it created itself is private even in a loose directory.
      expect(modeOf(join(dataDir, SQLITE_FILE_NAME))).toBe('0600');
    });
  });
});
