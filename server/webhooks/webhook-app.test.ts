import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../testing/test-server.ts';
import { verifyWebhookSignature, WEBHOOK_HEADERS } from './webhook-dispatcher.ts';

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
    const signature = String(delivery.headers[WEBHOOK_HEADERS.signature]);
    const timestamp = String(delivery.headers[WEBHOOK_HEADERS.timestamp]);
    expect(verifyWebhookSignature('hook-secret-0123456789', timestamp, delivery.body, signature)).toBe(true);
    expect(verifyWebhookSignature('another-secret-000000', timestamp, delivery.body, signature)).toBe(false);
    expect(JSON.parse(delivery.body)).toEqual({ event: 'result.stored', result: ack.ok ? ack.result : null });
    expect(deliveries).toHaveLength(1);
  });
});
