import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SRS_ITEM_IDS } from '../../shared/instruments.ts';
import type { Result } from '../../shared/protocol.ts';
import { MemoryStore } from '../store/memory-store.ts';
import { memoryLogger, type MemoryLog } from '../testing/memory-logger.ts';
import { backoffMs, signWebhook, verifyWebhookSignature, WebhookDispatcher, type WebhookDispatcherOptions } from './webhook-dispatcher.ts';

const SECRET = 'test-webhook-secret';
const T0 = Date.parse('2025-03-01T10:00:00.000Z');

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A real HTTP receiver on a free loopback port that answers with the statuses it is given, in turn. */
class Receiver {
  readonly requests: Received[] = [];
  readonly #statuses: number[];
  readonly #server: Server;
  #waiters: (() => void)[] = [];

  constructor(statuses: number[] = [200]) {
    this.#statuses = statuses;
    this.#server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.requests.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
        const status = this.#statuses.length > 1 ? (this.#statuses.shift() ?? 200) : (this.#statuses[0] ?? 200);
        if (status === 0) return; // never answer: the sender must time out
        response.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no');
        for (const resolve of this.#waiters.splice(0)) resolve();
      });
    });
  }

  async listen(): Promise<string> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hooks/srs`;
  }

  nextRequest(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    if (this.#server.listening) await new Promise((resolve) => this.#server.close(resolve));
  }
}

function result(submissionId: string, sessionId = 'sess-1'): Result {
  const marks = [73, 88, 95, 100];
  const items = SRS_ITEM_IDS.map((id, index) => ({ id, mm: marks[index] ?? 0 }));
  return {
    sessionId,
    submissionId,
    instrument: 'srs',
    items,
    totalMm: 356,
    band: 'fair',
    flagged: ['relationship', 'goals'],
    enteredBy: 'client',
    submittedAt: new Date(T0).toISOString(),
  };
}

let store: MemoryStore;
let receivers: Receiver[];
let clock: number;
let log: MemoryLog;
/** The warnings about failed attempts, as logged. */
const failures = () => log.lines().filter((line) => line['event'] === 'webhook.failed');

function dispatcher(url: string, options: Partial<WebhookDispatcherOptions> = {}): WebhookDispatcher {
  return new WebhookDispatcher({
    store,
    url,
    secret: SECRET,
    now: () => new Date(clock),
    baseBackoffMs: 1_000,
    maxBackoffMs: 60_000,
    logger: log.logger,
    ...options,
  });
}

async function receiver(statuses?: number[]): Promise<{ receiver: Receiver; url: string }> {
  const created = new Receiver(statuses);
  receivers.push(created);
  return { receiver: created, url: await created.listen() };
}

function expectSigned(request: Received | undefined): void {
  const timestamp = String(request?.headers['x-srs-timestamp']);
  const signature = String(request?.headers['x-srs-signature']);
  expect(verifyWebhookSignature(SECRET, timestamp, request?.body ?? '', signature)).toBe(true);
}

beforeEach(() => {
  store = new MemoryStore();
  receivers = [];
  clock = T0;
  log = memoryLogger();
});

afterEach(async () => {
  await Promise.all(receivers.map((r) => r.close()));
});

describe('delivery', () => {
  it('POSTs a stored result, signed, with the result as the body, and marks it delivered', async () => {
    const { receiver: platform, url } = await receiver([200]);
    const stored = result('sub-000000001');
    await store.saveResult(stored);

    expect(await dispatcher(url).deliverDue()).toEqual({ delivered: 1, failed: 0 });

    expect(platform.requests).toHaveLength(1);
    const [request] = platform.requests;
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['x-srs-delivery']).toBe('sub-000000001');
    expect(request?.headers['x-srs-timestamp']).toBe(String(T0 / 1000));
    expectSigned(request);
    expect(JSON.parse(request?.body ?? '')).toEqual({ event: 'result.stored', result: stored });
    expect(await store.listDueWebhooks(new Date(T0 + 86_400_000).toISOString(), 10)).toEqual([]);
  });

  it('retries a refused delivery with back-off until the receiver accepts it, then stops', async () => {
    const { receiver: platform, url } = await receiver([500, 500, 200]);
    await store.saveResult(result('sub-000000002'));
    const webhooks = dispatcher(url);

    expect(await webhooks.deliverDue()).toEqual({ delivered: 0, failed: 1 });
    expect(await webhooks.deliverDue()).toEqual({ delivered: 0, failed: 0 }); // not due again yet
    clock += 999;
    expect(await webhooks.deliverDue()).toEqual({ delivered: 0, failed: 0 });
    clock += 1; // 1 s after the first failure
    expect(await webhooks.deliverDue()).toEqual({ delivered: 0, failed: 1 });
    clock += 1_999;
    expect(await webhooks.deliverDue()).toEqual({ delivered: 0, failed: 0 });
    clock += 1; // 2 s after the second
    expect(await webhooks.deliverDue()).toEqual({ delivered: 1, failed: 0 });
    clock += 3_600_000;
    expect(await webhooks.deliverDue()).toEqual({ delivered: 0, failed: 0 });

    expect(platform.requests).toHaveLength(3);
    expect(new Set(platform.requests.map((request) => request.headers['x-srs-delivery']))).toEqual(new Set(['sub-000000002']));
    expect(new Set(platform.requests.map((request) => request.body)).size).toBe(1);
    platform.requests.forEach(expectSigned);
    expect(failures()).toEqual([
      expect.objectContaining({ level: 40, submissionId: 'sub-000000002', attempt: 1, status: 500, nextAttemptAt: new Date(T0 + 1_000).toISOString() }),
      expect.objectContaining({ level: 40, submissionId: 'sub-000000002', attempt: 2, status: 500, nextAttemptAt: new Date(T0 + 3_000).toISOString() }),
    ]);
  });

  it('keeps a delivery whose receiver is down, and delivers it once the receiver is back', async () => {
    const { receiver: gone, url } = await receiver();
    await gone.close(); // the port is now closed: connection refused
    await store.saveResult(result('sub-000000003'));

    expect(await dispatcher(url).deliverDue()).toEqual({ delivered: 0, failed: 1 });
    expect(await store.listDueWebhooks(new Date(clock).toISOString(), 10)).toEqual([]);
    const [pending] = await store.listDueWebhooks(new Date(clock + 1_000).toISOString(), 10);
    expect(pending).toMatchObject({ submissionId: 'sub-000000003', attempts: 1 });
    expect(failures()).toEqual([
      expect.objectContaining({ level: 40, submissionId: 'sub-000000003', attempt: 1, error: 'network error ECONNREFUSED', nextAttemptAt: new Date(clock + 1_000).toISOString() }),
    ]);
    expect(failures()[0]).not.toHaveProperty('status');

    const { receiver: back, url: backUrl } = await receiver([200]);
    clock += 1_000;
    expect(await dispatcher(backUrl).deliverDue()).toEqual({ delivered: 1, failed: 0 });
    expect(back.requests).toHaveLength(1);
  });

  it('gives up on a receiver that does not answer in time, and reschedules', async () => {
    const { url } = await receiver([0]);
    await store.saveResult(result('sub-000000004'));
    expect(await dispatcher(url, { timeoutMs: 50 }).deliverDue()).toEqual({ delivered: 0, failed: 1 });
    expect(failures()).toEqual([expect.objectContaining({ submissionId: 'sub-000000004', attempt: 1, error: 'timeout' })]);
    expect(await store.listDueWebhooks(new Date(clock + 1_000).toISOString(), 10)).toHaveLength(1);
  });

  it('logs no scores, bodies, client refs, signature or secret', async () => {
    const { receiver: platform, url } = await receiver([500]);
    await store.saveResult(result('sub-000000005'));
    await dispatcher(url).deliverDue();
    expect(failures()).toHaveLength(1);
    const signature = String(platform.requests[0]?.headers['x-srs-signature']);
    expect(signature).toMatch(/^sha256=/);
    const text = log.text();
    expect(text).not.toMatch(/relationship|356|73|fair|sess-1|hooks\/srs/);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(signature.slice('sha256='.length));
  });
});

describe('loop', () => {
  it('delivers at once when notified, without waiting for the poll interval', async () => {
    const { receiver: platform, url } = await receiver([200]);
    const webhooks = dispatcher(url, { pollIntervalMs: 3_600_000, now: () => new Date() });
    webhooks.start();
    await store.saveResult({ ...result('sub-000000006'), submittedAt: new Date(Date.now() - 1_000).toISOString() });
    const arrived = platform.nextRequest();
    webhooks.notify();
    await arrived;
    await webhooks.stop();
    expect(platform.requests.map((request) => request.headers['x-srs-delivery'])).toEqual(['sub-000000006']);
    expect(await store.listDueWebhooks(new Date(Date.now() + 1_000).toISOString(), 10)).toEqual([]);
  });

  it('stop() waits for the round in flight', async () => {
    const { url } = await receiver([200]);
    await store.saveResult(result('sub-000000007'));
    const webhooks = dispatcher(url);
    const round = webhooks.deliverDue();
    await webhooks.stop();
    expect(await Promise.race([round, Promise.resolve('pending')])).toEqual({ delivered: 1, failed: 0 });
  });

  it('stop() gives up a POST still unanswered after its grace and leaves the delivery due, not counted as an attempt', async () => {
    const { receiver: platform, url } = await receiver([0]);
    await store.saveResult(result('sub-000000008'));
    const webhooks = dispatcher(url, { timeoutMs: 60_000 });
    const round = webhooks.deliverDue();
    // The receiver holds the request without answering.
    while (platform.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await webhooks.stop({ graceMs: 100 });
    expect(await Promise.race([round, Promise.resolve('pending')])).toEqual({ delivered: 0, failed: 1 });
    expect(platform.requests).toHaveLength(1);
    const due = await store.listDueWebhooks(new Date(T0).toISOString(), 10);
    expect(due.map((pending) => [pending.submissionId, pending.attempts])).toEqual([['sub-000000008', 0]]);
    expect(failures()).toEqual([]);
    expect(log.lines().filter((line) => line['event'] === 'webhook.left-pending')).toHaveLength(1);
  });
});

describe('signatures', () => {
  const body = JSON.stringify({ event: 'result.stored' });

  it('accepts its own signature and refuses any change to key, time, body or header', () => {
    const header = signWebhook(SECRET, 1_700_000_000, body);
    expect(header).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(SECRET, '1700000000', body, header)).toBe(true);
    expect(verifyWebhookSignature('other-secret', '1700000000', body, header)).toBe(false);
    expect(verifyWebhookSignature(SECRET, '1700000001', body, header)).toBe(false);
    expect(verifyWebhookSignature(SECRET, '1700000000', `${body} `, header)).toBe(false);
    expect(verifyWebhookSignature(SECRET, '1700000000', body, header.slice(0, -1))).toBe(false);
    expect(verifyWebhookSignature(SECRET, '1700000000', body, '')).toBe(false);
    expect(verifyWebhookSignature(SECRET, 'soon', body, header)).toBe(false);
  });

  it('refuses a stale timestamp when asked to', () => {
    const header = signWebhook(SECRET, 1_700_000_000, body);
    expect(verifyWebhookSignature(SECRET, 1_700_000_000, body, header, { toleranceSeconds: 300, nowSeconds: 1_700_000_299 })).toBe(true);
    expect(verifyWebhookSignature(SECRET, 1_700_000_000, body, header, { toleranceSeconds: 300, nowSeconds: 1_700_000_301 })).toBe(false);
  });
});

describe('backoffMs', () => {
  it('doubles from the base and stops at the cap', () => {
    expect([1, 2, 3, 4, 5].map((attempts) => backoffMs(attempts, 1_000, 600_000))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000]);
    expect(backoffMs(10, 1_000, 600_000)).toBe(512_000);
    expect(backoffMs(11, 1_000, 600_000)).toBe(600_000);
    expect(backoffMs(10_000, 1_000, 600_000)).toBe(600_000);
  });
});
