import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { io } from 'socket.io-client';
import { createSession, expect, expectNoAxeViolations, test } from './fixtures.ts';
import { E2E_BASE_URL } from './e2e-config.ts';

test('the demo page starts a call with the two devices side by side', async ({ page }) => {
  await page.goto('/');
  await expectNoAxeViolations(page);
  await page.getByRole('button', { name: 'Start a demo call' }).click();
  const clientFrame = page.frameLocator('#client-frame');
  const therapistFrame = page.frameLocator('#therapist-frame');
  await expect(clientFrame.locator('srs-rating [data-status]')).toHaveAttribute('data-status', 'waiting');
  await therapistFrame.locator('srs-therapist [part=start]').click();
  await expect(clientFrame.locator('srs-rating [data-status]')).toHaveAttribute('data-status', 'open');
  await expect(therapistFrame.locator('srs-therapist [data-presence]')).toHaveAttribute('data-presence', 'true');
  await expect(page.locator('#client-link')).toHaveAttribute('href', /\/client#token=/);
  await expect(page.locator('#therapist-link')).toHaveAttribute('href', /\/therapist#token=/);
  await expect(therapistFrame.getByText('Introducing the scale')).toBeVisible();

  const slider = clientFrame.locator('srs-vas-line[data-item=goals] [part=slider]');
  await slider.focus();
  await slider.press('End');
  await expect(therapistFrame.locator('[data-value-for=goals]')).toHaveText('10.0');
});

test.describe('embedding on another origin', () => {
  let host: Server;
  let hostUrl = '';

  test.beforeAll(async () => {
    const session = await createSession('e2e-embedded');
    // The therapist starts the rating from another device (here, a socket of its own).
    const therapist = io(`${E2E_BASE_URL}/srs`, { transports: ['websocket'], auth: { token: session.therapist.token, protocol: 1 }, forceNew: true });
    const ack = (await therapist.emitWithAck('rating:start', {})) as { ok: boolean };
    expect(ack.ok).toBe(true);
    therapist.disconnect();
    // A platform's page: only the script tag and the element, served from another origin.
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Platform page</title></head><body><main>
<h1>Your session</h1>
<script type="module" src="${E2E_BASE_URL}/widget/srs-widget.js"></script>
<srs-rating server="${E2E_BASE_URL}" token="${session.client.token}"></srs-rating>
</main></body></html>`;
    host = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(html));
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    hostUrl = `http://localhost:${(host.address() as AddressInfo).port}/`;
  });

  test.afterAll(async () => {
    await new Promise<void>((resolve) => host.close(() => resolve()));
  });

  test('a plain page with the script tag and the element works', async ({ page }) => {
    const events: string[] = [];
    await page.exposeFunction('recordEvent', (name: string) => events.push(name));
    await page.addInitScript(() => {
      document.addEventListener('srs-change', () => (window as unknown as { recordEvent(name: string): void }).recordEvent('srs-change'));
    });
    await page.goto(hostUrl);
    await expect(page.locator('srs-rating [data-status]')).toHaveAttribute('data-status', 'open');
    const slider = page.locator('srs-vas-line[data-item=relationship] [part=slider]');
    await slider.focus();
    await slider.press('Home');
    await expect(slider).toHaveAttribute('aria-valuenow', '0.0');
    await expect.poll(() => events.length).toBeGreaterThan(0);
  });
});
