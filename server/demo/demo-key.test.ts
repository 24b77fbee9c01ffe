/**
 * The demo page's key: a browser receives it, so it is a key of its own that can only create
 * sessions in the `demo` tenant. No configured or development key ever reaches a browser.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { CreateSessionResponse } from '../../shared/protocol.ts';
import { startServerProcess, type ServerProcess } from '../testing/server-process.ts';
import { startTestServer, TEST_API_KEY, type TestServer } from '../testing/test-server.ts';

const KEY_A = 'clinic-a-key-0123456789abcdef';
const KEY_B = 'clinic-b-key-0123456789abcdef';

/** The key a page's demo script sends, read the way a browser's user could read it. */
function keyInScript(script: string): string {
  const match = /const apiKey = "([^"]+)";/.exec(script);
  if (!match?.[1]) throw new Error(`no key in the demo script:\n${script.slice(0, 300)}`);
  return match[1];
}

async function demoScript(url: string): Promise<string> {
  const response = await fetch(`${url}/demo.js`);
  expect(response.status).toBe(200);
  return response.text();
}

describe('the demo key (in-process server)', () => {
  let server: TestServer;

  afterEach(async () => {
    await server.close();
  });

  async function startWithDemo(): Promise<{ script: string; demoKey: string }> {
    server = await startTestServer({
      apiKeys: [
        { label: 'clinic-a', key: KEY_A },
        { label: 'clinic-b', key: KEY_B },
      ],
      demo: true,
    });
    const script = await demoScript(server.url);
    return { script, demoKey: keyInScript(script) };
  }

  it('serves a key of its own, never a configured one, that creates sessions in the demo tenant', async () => {
    const { script, demoKey } = await startWithDemo();
    for (const configured of [KEY_A, KEY_B]) expect(script).not.toContain(configured);
    expect([KEY_A, KEY_B]).not.toContain(demoKey);
    const created = await server.createSession('demo-client-1', {}, demoKey);
    expect((await server.store.getSession(created.sessionId))?.tenant).toBe('demo');
    expect((await server.store.listAudit({ sessionId: created.sessionId })).map((entry) => entry.actor)).toEqual(['api:demo']);
  });

  it("can only create: 403 on reading, exporting and closing, even its own tenant's sessions", async () => {
    const { demoKey } = await startWithDemo();
    const own = await server.createSession('demo-client-1', {}, demoKey);
    const other = await server.createSession('clinic-client', {}, KEY_A);
    const attempts = [
      server.api(`/api/sessions/${own.sessionId}`, { key: demoKey }),
      server.api(`/api/sessions/${own.sessionId}/close`, { method: 'POST', key: demoKey }),
      server.api('/api/clients/demo-client-1/results', { key: demoKey }),
      server.api('/api/clients/demo-client-1/results?format=csv', { key: demoKey }),
      server.api('/api/clients/demo-client-1/results?format=fhir', { key: demoKey }),
      server.api(`/api/sessions/${other.sessionId}`, { key: demoKey }),
      server.api(`/api/sessions/${other.sessionId}/close`, { method: 'POST', key: demoKey }),
      server.api('/api/clients/clinic-client/results', { key: demoKey }),
    ];
    for (const response of await Promise.all(attempts)) {
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    }
    expect((await server.store.getSession(own.sessionId))?.status).toBe('waiting');
    expect((await server.store.getSession(other.sessionId))?.status).toBe('waiting');
    expect((await server.store.listAudit({})).map((entry) => entry.action)).toEqual(['session.create', 'session.create']);
  });

  it('is no join token: the live relay refuses it', async () => {
    const { demoKey } = await startWithDemo();
    await expect(server.join(demoKey)).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
  });

  it('makes sessions that no configured tenant can see', async () => {
    const { demoKey } = await startWithDemo();
    const demo = await server.createSession('demo-client-1', {}, demoKey);
    for (const key of [KEY_A, KEY_B]) {
      expect((await server.api(`/api/sessions/${demo.sessionId}`, { key })).status).toBe(404);
      expect((await server.api(`/api/sessions/${demo.sessionId}/close`, { method: 'POST', key })).status).toBe(404);
      expect((await server.api('/api/clients/demo-client-1/results', { key })).status).toBe(404);
    }
    expect((await server.store.getSession(demo.sessionId))?.status).toBe('waiting');
  });

  it('serves no demo and no key when the demo is off', async () => {
    server = await startTestServer({ demo: false });
    expect((await fetch(`${server.url}/demo.js`)).status).toBe(404);
    expect(await (await fetch(`${server.url}/`)).text()).not.toContain(TEST_API_KEY);
  });
});

describe('the demo key (server/main.ts)', () => {
  const root = mkdtempSync(join(tmpdir(), 'srs-demo-key-'));
  let child: ServerProcess | undefined;

  afterEach(async () => {
    await child?.kill();
    child = undefined;
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** Nothing inherited from the environment of the test run decides the keys. */
  const clean = { SRS_API_KEY: '', SRS_API_KEYS: '', SRS_DEMO: '', DATABASE_URL: '', REDIS_URL: '' };

  it('embedded default: /demo.js carries neither the development key nor a printed key, and its key creates a session', async () => {
    const dataDir = join(root, 'embedded');
    child = await startServerProcess({ ...clean, DATA_DIR: dataDir });
    const script = await demoScript(child.url);
    const developmentKey = readFileSync(join(dataDir, 'dev-api-key'), 'utf8').trim();
    expect(developmentKey.length).toBeGreaterThan(16);
    expect(script).not.toContain(developmentKey);
    const demoKey = keyInScript(script);
    expect(child.output()).not.toContain(demoKey);
    const created = await fetch(`${child.url}/api/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${demoKey}`, 'content-type': 'application/json' },
      body: '{"clientRef":"demo-client-1"}',
    });
    expect(created.status).toBe(201);
    const { sessionId } = (await created.json()) as CreateSessionResponse;
    // The development key belongs to another tenant: the demo's session is not its to read.
    const read = await fetch(`${child.url}/api/sessions/${sessionId}`, { headers: { authorization: `Bearer ${developmentKey}` } });
    expect(read.status).toBe(404);
  });

  it('SRS_API_KEYS with SRS_DEMO=on: /demo.js carries none of the configured keys', async () => {
    child = await startServerProcess({ ...clean, DATA_DIR: join(root, 'configured'), SRS_API_KEYS: `clinic-a:${KEY_A},clinic-b:${KEY_B}`, SRS_DEMO: 'on' });
    const script = await demoScript(child.url);
    for (const key of [KEY_A, KEY_B]) expect(script).not.toContain(key);
    expect([KEY_A, KEY_B]).not.toContain(keyInScript(script));
  });

  it('refuses to start with a configured key labelled demo, saying why', async () => {
    const outcome = await startServerProcess({ ...clean, DATA_DIR: join(root, 'reserved'), SRS_API_KEYS: `demo:${KEY_A}` }).then(
      async (started) => {
        await started.kill();
        return 'started';
      },
      (error: Error) => error.message,
    );
    expect(outcome).toMatch(/server exited with 1[\s\S]*"demo" is reserved/);
    expect(outcome).not.toContain(KEY_A);
  });
});
