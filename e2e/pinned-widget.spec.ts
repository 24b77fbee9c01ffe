/**
 * A platform page on another origin that pins the widget: the versioned script with `integrity`
 * and `crossorigin`, read from /widget/release.json, as docs/api.md describes.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CreateSessionResponse } from '../shared/protocol.ts';
import type { WidgetRelease } from '../server/http/widget-release.ts';
import { createSession, expect, test } from './fixtures.ts';
import { E2E_BASE_URL } from './e2e-config.ts';

test.describe('a pinned widget version with Subresource Integrity', () => {
  let host: Server;
  let hostUrl = '';
  let release: WidgetRelease;
  let session: CreateSessionResponse;
  const pages = new Map<string, string>();

  test.beforeAll(async () => {
    release = (await (await fetch(`${E2E_BASE_URL}/widget/release.json`)).json()) as WidgetRelease;
    session = await createSession('e2e-pinned');
    const scriptTag = (integrity: string) =>
      `<script type="module" src="${E2E_BASE_URL}${release.script.url}" integrity="${integrity}" crossorigin="anonymous"></script>`;
    // The chunk the therapist's view loads lazily, pinned through the import map.
    const importMap = `<script type="importmap">${JSON.stringify({
      integrity: Object.fromEntries(Object.values(release.chunks).map((chunk) => [`${E2E_BASE_URL}${chunk.url}`, chunk.integrity])),
    })}</script>`;
    const page = (head: string, body: string) =>
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Platform page</title>${head}</head><body><main><h1>Your session</h1>${body}</main></body></html>`;
    pages.set('/client', page(scriptTag(release.script.integrity), `<srs-rating server="${E2E_BASE_URL}" token="${session.client.token}"></srs-rating>`));
    pages.set(
      '/therapist',
      page(`${importMap}${scriptTag(release.script.integrity)}`, `<srs-therapist server="${E2E_BASE_URL}" token="${session.therapist.token}"></srs-therapist>`),
    );
    // A hash that is not the bundle's: the browser must refuse the script.
    const wrong = `sha384-${Buffer.alloc(48).toString('base64')}`;
    const wrongMap = `<script type="importmap">${JSON.stringify({
      integrity: Object.fromEntries(Object.values(release.chunks).map((chunk) => [`${E2E_BASE_URL}${chunk.url}`, wrong])),
    })}</script>`;
    pages.set(
      '/tampered-chunk',
      page(`${wrongMap}${scriptTag(release.script.integrity)}`, `<srs-therapist server="${E2E_BASE_URL}" token="${session.therapist.token}"></srs-therapist>`),
    );
    pages.set('/tampered', page(scriptTag(wrong), `<srs-rating server="${E2E_BASE_URL}" token="${session.client.token}"></srs-rating>`));
    host = createServer((req, res) => {
      const html = pages.get(req.url ?? '');
      if (html) res.writeHead(200, { 'content-type': 'text/html' }).end(html);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    hostUrl = `http://localhost:${(host.address() as AddressInfo).port}`;
  });

  test.afterAll(async () => {
    await new Promise<void>((resolve) => host.close(() => resolve()));
  });

  test('the client element renders from the versioned script checked against its hash', async ({ page }) => {
    const scripts: string[] = [];
    page.on('requestfinished', (request) => {
      if (request.resourceType() === 'script') scripts.push(request.url());
    });
    await page.goto(`${hostUrl}/client`);
    await expect(page.locator('srs-rating [part=base][data-status]')).toHaveAttribute('data-status', 'waiting');
    expect(scripts).toEqual([`${E2E_BASE_URL}${release.script.url}`]);
  });

  test('the therapist element loads its chunk from the same versioned path, pinned by the import map', async ({ page }) => {
    const scripts: string[] = [];
    page.on('requestfinished', (request) => {
      if (request.resourceType() === 'script') scripts.push(request.url());
    });
    await page.goto(`${hostUrl}/therapist`);
    await expect(page.locator('srs-therapist [part=base][data-status]')).toHaveAttribute('data-status', /waiting|open/);
    const chunkUrls = Object.values(release.chunks).map((chunk) => `${E2E_BASE_URL}${chunk.url}`);
    expect(scripts.filter((url) => url !== `${E2E_BASE_URL}${release.script.url}`)).toEqual(chunkUrls);
  });

  test('a chunk whose bytes do not match the import map is refused', async ({ page }) => {
    await page.goto(`${hostUrl}/tampered-chunk`);
    await expect(page.locator('srs-therapist')).toContainText('The therapist view could not be loaded');
  });

  test('a script whose bytes do not match the integrity is refused, and no element is defined', async ({ page }) => {
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(`${hostUrl}/tampered`);
    await expect.poll(() => errors.join('\n')).toMatch(/integrity/i);
    expect(await page.evaluate(() => customElements.get('srs-rating') === undefined)).toBe(true);
  });
});
