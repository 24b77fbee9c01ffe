/**
 * Staying power in a real browser: the connection is cut in the middle of a drag (a TCP proxy
 * between the client's page and the server drops every connection and refuses new ones for a
 * while), and separately the server itself is killed and restarted. After reconnecting, the
 * therapist's view must equal the client's marks within 1 s, and the submission must go
 * through exactly once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { startServerProcess, type ServerProcess } from '../server/testing/server-process.ts';
import type { ItemId } from '../shared/instruments.ts';
import type { CreateSessionResponse, Result } from '../shared/protocol.ts';
import { E2E_API_KEY, E2E_PORT } from './e2e-config.ts';
import { ClientPage, ITEMS, TherapistPage, createSession, expect, expectNoAxeViolations, openPage, test } from './fixtures.ts';

/** A TCP proxy that can drop every connection and refuse new ones until resumed. */
class CuttableProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #cut = false;

  constructor(targetPort: number) {
    this.#server = createServer((incoming) => {
      if (this.#cut) {
        incoming.destroy();
        return;
      }
      const outgoing = tcpConnect(targetPort, '127.0.0.1');
      for (const socket of [incoming, outgoing]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      incoming.pipe(outgoing).pipe(incoming);
      incoming.on('close', () => outgoing.destroy());
      outgoing.on('close', () => incoming.destroy());
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return address.port;
  }

  cut(): void {
    this.#cut = true;
    for (const socket of this.#sockets) socket.destroy();
  }

  resume(): void {
    this.#cut = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

async function dragWithGap(client: ClientPage, item: ItemId, during: () => Promise<void>): Promise<void> {
  await client.slider(item).scrollIntoViewIfNeeded();
  const box = await client.slider(item).boundingBox();
  if (!box) throw new Error('no slider');
  const y = box.y + box.height / 2;
  await client.page.mouse.move(box.x + box.width * 0.2, y);
  await client.page.mouse.down();
  await client.page.mouse.move(box.x + box.width * 0.45, y, { steps: 6 });
  await during();
  // The drag goes on while the connection is down, and ends there.
  await client.page.mouse.move(box.x + box.width * 0.77, y, { steps: 6 });
  await client.page.mouse.up();
}

async function expectTherapistEqualsClient(client: ClientPage, therapist: TherapistPage): Promise<void> {
  // Once both pages say they are connected again, the therapist's view must equal the client's within 1 s.
  await expect(client.page.locator('srs-rating [part=connection]')).toHaveText('', { timeout: 20_000 });
  await expect(therapist.page.locator('srs-therapist [part=connection]')).toHaveText('', { timeout: 20_000 });
  for (const item of ITEMS) {
    const value = await client.valueOf(item);
    await expect(therapist.valueFor(item)).toHaveText(value ?? '—', { timeout: 1_000 });
  }
}

async function resultsOf(baseUrl: string, clientRef: string): Promise<Result[]> {
  const response = await fetch(`${baseUrl}/api/clients/${clientRef}/results`, { headers: { authorization: `Bearer ${E2E_API_KEY}` } });
  return ((await response.json()) as { results: Result[] }).results;
}

async function markEveryLineButFirst(client: ClientPage): Promise<void> {
  for (const item of ITEMS.slice(1)) {
    await client.slider(item).focus();
    await client.page.keyboard.press('End');
  }
}

test('a connection cut in the middle of a drag loses nothing', async ({ browser }) => {
  const clientRef = `e2e-cut-${Date.now()}`;
  const session = await createSession(clientRef);
  const proxy = new CuttableProxy(E2E_PORT);
  const proxyPort = await proxy.listen();
  try {
    const therapist = new TherapistPage(await openPage(browser, session.therapist.url));
    await therapist.startRating();
    // The client's page reaches the server only through the proxy.
    const clientUrl = session.client.url.replace(`:${E2E_PORT}/`, `:${proxyPort}/`);
    const client = new ClientPage(await openPage(browser, clientUrl));
    await expect(client.root).toHaveAttribute('data-status', 'open');
    await markEveryLineButFirst(client);

    await dragWithGap(client, 'relationship', async () => {
      proxy.cut();
      await expect(client.page.locator('srs-rating [part=connection]')).not.toHaveText('');
    });
    await client.page.waitForTimeout(1_500);
    proxy.resume();
    await expectTherapistEqualsClient(client, therapist);

    await client.submitButton.click();
    await expect(client.page.locator('srs-rating [data-state=submitted]')).toBeVisible();
    await expect(therapist.root).toHaveAttribute('data-status', 'submitted');
    expect((await resultsOf(new URL(session.client.url).origin, clientRef)).length).toBe(1);
    await therapist.page.context().close();
    await client.page.context().close();
  } finally {
    await proxy.close();
  }
});

/** The server a test runs itself; stopped after each test even when the test times out. */
let ownServer: ServerProcess | undefined;
test.afterEach(async () => {
  await ownServer?.kill('SIGKILL');
  ownServer = undefined;
});

test('a server killed and restarted in the middle of a drag loses nothing', async ({ browser }) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'srs-e2e-restart-'));
  const env = { DATA_DIR: dataDir, SRS_API_KEY: E2E_API_KEY };
  ownServer = await startServerProcess(env);
  let server: ServerProcess = ownServer;
  const pages: Page[] = [];
  try {
    const clientRef = `e2e-restart-${Date.now()}`;
    const response = await fetch(`${server.url}/api/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${E2E_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ clientRef }),
    });
    const session = (await response.json()) as CreateSessionResponse;
    const therapist = new TherapistPage(await openPage(browser, session.therapist.url));
    pages.push(therapist.page);
    await therapist.startRating();
    const client = new ClientPage(await openPage(browser, session.client.url));
    pages.push(client.page);
    await expect(client.root).toHaveAttribute('data-status', 'open');
    await markEveryLineButFirst(client);

    await dragWithGap(client, 'relationship', async () => {
      await server.kill('SIGKILL');
      await expect(client.page.locator('srs-rating [part=connection]')).not.toHaveText('');
    });
    server = ownServer = await startServerProcess({ ...env, PORT: String(server.port) });
    await expectTherapistEqualsClient(client, therapist);

    await client.submitButton.click();
    await expect(client.page.locator('srs-rating [data-state=submitted]')).toBeVisible();
    await expect(therapist.root).toHaveAttribute('data-status', 'submitted');
    expect((await resultsOf(server.url, clientRef)).length).toBe(1);
  } finally {
    for (const page of pages) await page.context().close();
    await server.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a client who reloads the page finds their marks again', async ({ client, therapist }) => {
  await therapist.startRating();
  await expect(client.root).toHaveAttribute('data-status', 'open');
  await client.drag('goals', 0.1, 0.64);
  await client.slider('approach').focus();
  await client.page.keyboard.press('End');
  const goals = await client.valueOf('goals');
  await expect(therapist.valueFor('goals')).toHaveText(goals ?? '');
  await expect(therapist.valueFor('approach')).toHaveText('10.0');

  await client.page.reload();
  await expect(client.root).toHaveAttribute('data-status', 'open');
  await expect(client.slider('goals')).toHaveAttribute('aria-valuenow', goals ?? '');
  await expect(client.slider('approach')).toHaveAttribute('aria-valuenow', '10.0');
  await expect(client.slider('relationship')).toHaveAttribute('aria-valuetext', 'not rated');
  await expect(therapist.valueFor('goals')).toHaveText(goals ?? '');
});

test('the link opened on a second device takes over: the first says so and can take it back, the therapist is told', async ({
  browser,
  session,
  client,
  therapist,
}) => {
  await therapist.startRating();
  await expect(client.root).toHaveAttribute('data-status', 'open');
  await client.drag('goals', 0.1, 0.3);
  await expect(therapist.valueFor('goals')).not.toHaveText('—');

  const second = new ClientPage(await openPage(browser, session.client.url));
  try {
    await expect(second.root).toHaveAttribute('data-status', 'open');
    await expect(client.page.locator('srs-rating [part=connection]')).toContainText('open on another device or tab');
    await expect(therapist.page.locator('srs-therapist [part=switched]')).toContainText('another device or tab');
    // The second device carries on, with the marks made so far.
    await expect(second.slider('goals')).toHaveAttribute('aria-valuenow', (await client.valueOf('goals')) ?? '');
    await second.drag('overall', 0.2, 0.8);
    await expect(therapist.valueFor('overall')).toHaveText((await second.valueOf('overall')) ?? '');
    // "Use it here" takes the form back to the first device.
    await client.page.locator('srs-rating [part=reconnect]').click();
    await expect(second.page.locator('srs-rating [part=connection]')).toContainText('open on another device or tab');
    await expect(client.page.locator('srs-rating [part=connection]')).not.toContainText('another device');
    await expectNoAxeViolations(second.page);
  } finally {
    await second.page.context().close();
  }
});
