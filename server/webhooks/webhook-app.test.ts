import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../app.ts';
import { openStore } from '../store/open-store.ts';
import { memoryLogger } from '../testing/memory-logger.ts';
import { within } from '../testing/raw-http.ts';
import { startTestServer, TEST_TOKEN_SECRET, type TestServer } from '../testing/test-server.ts';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { WEBHOOK_HEADERS } from './webhook-dispatcher.ts';

const SECRET = 'hook-secret-0123456789abcdef-0123456789';
const MARKS = { relationship: 80, goals: 90, approach: 95, overall: 85 };

/** A real receiver on a loopback port that answers every delivery with `status`. */
async function receiverAnswering(status: number, deliveries: Delivery[] = []): Promise<{ url: string; close(): Promise<void> }> {
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      deliveries.push({ headers: req.headers, body });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
    close: () => new Promise<void>((resolve) => receiver.close(() => resolve())),
  };
}

interface Delivery {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

describe('webhook from a running server', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  it('posts a stored result, signed, after the client has its acknowledgement', async () => {
    const deliveries: Delivery[] = [];
    let arrived: (delivery: Delivery) => void = () => {};
    const firstDelivery = new Promise<Delivery>((resolve) => (arrived = resolve));
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const delivery = { headers: req.headers, body };
        deliveries.push(delivery);
        res.writeHead(204).end();
        arrived(delivery);
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
    const port = (receiver.address() as AddressInfo).port;

    const server: TestServer = await startTestServer({ webhook: { url: `http://127.0.0.1:${port}/hook`, secret: 'hook-secret-0123456789' } });
    closers.push(() => server.close());
    const created = await server.createSession('hook-client');
    await server.startRating(created);
    const client = await server.join(created.client.token);
    const ack = await client.emitWithAck('rating:submit', { submissionId: 'sub-hook-001', marks: { relationship: 80, goals: 90, approach: 95, overall: 85 } });
    expect(ack.ok).toBe(true);

    const delivery = await firstDelivery;
    const headers = Object.fromEntries(Object.values(WEBHOOK_HEADERS).map((name) => [name, String(delivery.headers[name])]));
    expect(headers[WEBHOOK_HEADERS.id]).toBe('sub-hook-001');
    expect(new Webhook('hook-secret-0123456789', { format: 'raw' }).verify(delivery.body, headers)).toEqual({
      event: 'result.stored',
      result: ack.ok ? ack.result : null,
    });
    expect(() => new Webhook('another-secret-000000', { format: 'raw' }).verify(delivery.body, headers)).toThrow(WebhookVerificationError);
    expect(deliveries).toHaveLength(1);
  });
});

describe('webhook settings of createApp', () => {
  it('refuses plain http to another machine, other schemes, non-URLs and a malformed whsec_ secret, with a message naming the setting', async () => {
    const store = await openStore({ sqliteFile: ':memory:' });
    try {
      for (const url of [
        'http://hooks.example/srs',
        'http://127.0.0.1.hooks.example/srs',
        'http://[::2]/hook',
        'ftp://hooks.example/srs',
        'hooks.example/srs',
      ]) {
        const attempt = createApp({
          store,
          tokenSecret: TEST_TOKEN_SECRET,
          apiKeys: [{ label: 'k', key: 'refused-key-0123456789' }],
          webhook: { url, secret: SECRET },
          logger: memoryLogger().logger,
        });
        await expect(attempt, url).rejects.toThrow(/^webhook\.url (must be|is not)/);
      }
      for (const secret of ['whsec_not base64', `whsec_${Buffer.alloc(16).toString('base64')}`]) {
        const attempt = createApp({
          store,
          tokenSecret: TEST_TOKEN_SECRET,
          apiKeys: [{ label: 'k', key: 'refused-key-0123456789' }],
          webhook: { url: 'https://hooks.example/srs', secret },
          logger: memoryLogger().logger,
        });
        await expect(attempt, secret).rejects.toThrow(/^webhook\.secret after whsec_ must be/);
      }
    } finally {
      await store.close();
    }
  });
});

describe('failed deliveries', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  it('are logged at warn with the submissionId, attempt, status and next attempt, never the body, signature or secret', async () => {
    const deliveries: Delivery[] = [];
    const receiver = await receiverAnswering(503, deliveries);
    closers.push(receiver.close);
    const log = memoryLogger('info');
    const server = await startTestServer({ webhook: { url: receiver.url, secret: SECRET }, logger: log.logger });
    closers.push(() => server.close());
    const created = await server.createSession('hook-client-2');
    await server.startRating(created);
    const client = await server.join(created.client.token);
    const ack = await client.emitWithAck('rating:submit', { submissionId: 'sub-hook-fail-01', marks: MARKS });
    expect(ack.ok).toBe(true);

    const failures = () => log.lines().filter((line) => line['event'] === 'webhook.failed');
    await within(
      (async () => {
        while (failures().length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      })(),
      5_000,
      'no failure was logged',
    );
    const [failure] = failures();
    expect(failure).toEqual(
      expect.objectContaining({
        level: 40,
        submissionId: 'sub-hook-fail-01',
        attempt: 1,
        status: 503,
        nextAttemptAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      }),
    );
    const delivery = deliveries[0];
    const signature = String(delivery?.headers[WEBHOOK_HEADERS.signature]).replace('v1,', '');
    expect(signature).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const text = log.text();
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(signature);
    expect(text).not.toContain(delivery?.body ?? 'no delivery');
    expect(text).not.toContain('hook-client-2');
    expect(text).not.toMatch(/"(relationship|totalMm|band)"/);
  });
});
