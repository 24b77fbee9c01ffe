/**
 * Versioned delivery of the widget: a real server on port 0 over a real build of the bundle
 * (written by the project's Vite config to a temporary folder), fetched as a browser would.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WidgetRelease } from './http/widget-release.ts';
import { startTestServer, type TestServer } from './testing/test-server.ts';

const VERSION = (JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const sha384 = (bytes: Uint8Array) => `sha384-${createHash('sha384').update(bytes).digest('base64')}`;
const bytesOf = async (response: Response) => new Uint8Array(await response.arrayBuffer());

async function buildWidget(outDir: string): Promise<void> {
  // Vitest runs with NODE_ENV=test; build exactly as `npm run build` does.
  const previous = process.env['NODE_ENV'];
  process.env['NODE_ENV'] = 'production';
  await build({ configFile: 'vite.config.ts', mode: 'production', logLevel: 'silent', build: { outDir, emptyOutDir: true } }).finally(() => {
    process.env['NODE_ENV'] = previous;
  });
}

describe('versioned widget delivery with Subresource Integrity', () => {
  let widgetDir: string;
  let server: TestServer;
  let release: WidgetRelease;

  beforeAll(async () => {
    widgetDir = await mkdtemp(join(tmpdir(), 'srs-widget-'));
    await buildWidget(widgetDir);
    server = await startTestServer({ widgetDir });
    const response = await fetch(`${server.url}/widget/release.json`, { headers: { origin: 'https://platform.example' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    release = (await response.json()) as WidgetRelease;
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    if (widgetDir) await rm(widgetDir, { recursive: true, force: true });
  });

  it('publishes the package version and the versioned URL of the script', () => {
    expect(release.version).toBe(VERSION);
    expect(release.script.url).toBe(`/widget/v/${VERSION}/srs-widget.js`);
    expect(release.script.integrity).toMatch(/^sha384-[A-Za-z0-9+/]{64}$/);
  });

  it('serves the same bytes under the versioned path, immutable, with CORS, matching the published integrity', async () => {
    const versioned = await fetch(`${server.url}${release.script.url}`, { headers: { origin: 'https://platform.example' } });
    expect(versioned.status).toBe(200);
    expect(versioned.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(versioned.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(versioned.headers.get('access-control-allow-origin')).toBe('*');
    expect(versioned.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    const served = await bytesOf(versioned);
    expect(sha384(served)).toBe(release.script.integrity);

    const unversioned = await fetch(`${server.url}/widget/srs-widget.js`);
    expect(unversioned.status).toBe(200);
    expect(unversioned.headers.get('cache-control')).toBe('public, max-age=300');
    expect(unversioned.headers.get('access-control-allow-origin')).toBe('*');
    expect(Buffer.from(await bytesOf(unversioned)).equals(Buffer.from(served))).toBe(true);
  });

  it('serves each chunk the script imports beside it, under the same version, with its published integrity', async () => {
    const script = await (await fetch(`${server.url}${release.script.url}`)).text();
    const names = Object.keys(release.chunks);
    // The therapist view is a lazy chunk of the build; the release names it.
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      const chunk = release.chunks[name];
      expect(chunk?.url).toBe(`/widget/v/${VERSION}/${name}`);
      // Imported by a relative URL, so it resolves against the versioned script's URL.
      expect(script).toContain(`./${name}`);
      const response = await fetch(`${server.url}${chunk?.url}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(sha384(await bytesOf(response))).toBe(chunk?.integrity);
    }
  });

  it('answers 404 for another version, an unknown file, or a path out of the bundle', async () => {
    for (const path of [
      '/widget/v/0.0.0-unknown/srs-widget.js',
      `/widget/v/${VERSION}/no-such-chunk.js`,
      `/widget/v/${VERSION}/..%2F..%2Fpackage.json`,
      `/widget/v/${VERSION}/`,
    ]) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status, path).toBe(404);
      expect(response.headers.get('cache-control') ?? '', path).not.toMatch(/immutable/);
    }
    const unknown = await fetch(`${server.url}/widget/v/0.0.0-unknown/srs-widget.js`);
    expect(await unknown.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('keeps serving the bytes it hashed at start-up when the folder is rebuilt under it', async () => {
    await writeFile(join(widgetDir, 'srs-widget.js'), 'export {};\n');
    const response = await fetch(`${server.url}${release.script.url}`);
    expect(sha384(await bytesOf(response))).toBe(release.script.integrity);
  });

  it('without a build, answers 404 for the release and the versioned path', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'srs-widget-empty-'));
    const bare = await startTestServer({ widgetDir: empty, widgetVersion: '9.9.9' });
    try {
      expect((await fetch(`${bare.url}/widget/release.json`)).status).toBe(404);
      expect((await fetch(`${bare.url}/widget/v/9.9.9/srs-widget.js`)).status).toBe(404);
      expect((await fetch(`${bare.url}/widget/srs-widget.js`)).status).toBe(404);
    } finally {
      await bare.close();
      await rm(empty, { recursive: true, force: true });
    }
  });
});
