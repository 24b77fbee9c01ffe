import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SRS_ITEM_IDS } from '../../shared/instruments.ts';
import type { Result } from '../../shared/protocol.ts';
import { MemoryStore } from '../store/memory-store.ts';
import { memoryLogger, type MemoryLog } from '../testing/memory-logger.ts';
import { backoffMs, webhookSigner, WebhookDispatcher, type WebhookDispatcherOptions } from './webhook-dispatcher.ts';
import { webhookSecretProblem } from './webhook-url.ts';

/** A Standard Webhooks secret: `whsec_` and the base64 of a 32-byte key. */
const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
/** A secret in no particular form: its UTF-8 bytes are the key. */
const RAW_SECRET = 'plain-webhook-secret-0123456789-abcdef';
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

/** The three Standard Webhooks headers of a request, as the library takes them. */
function standardHeaders(request: Received | undefined): Record<string, string> {
  const headers = request?.headers ?? {};
  return Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((name) => [name, String(headers[name])]));
}

/**
 * Runs `verify` with the clock at `request`'s own timestamp: the library refuses a timestamp more
 * than 5 minutes from now, and these tests sign on a fixed clock in the past.
 */
function atSigningTime<T>(request: Received | undefined, verify: () => T): T {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(Number(request?.headers['webhook-timestamp']) * 1000);
  try {
    return verify();
  } finally {
    vi.useRealTimers();
  }
}

/** Verified by the off-the-shelf Standard Webhooks library, which answers the parsed body. */
function expectSigned(request: Received | undefined, secret = SECRET): void {
  const verified = atSigningTime(request, () => new Webhook(secret).verify(request?.body ?? '', standardHeaders(request)));
  expect(verified).toEqual(JSON.parse(request?.body ?? ''));
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
    expect(request?.headers['webhook-id']).toBe('sub-000000001');
    expect(request?.headers['webhook-timestamp']).toBe(String(T0 / 1000));
    expect(request?.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
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
    expect(platform.requests.map((request) => request.headers['webhook-id'])).toEqual(['sub-000000002', 'sub-000000002', 'sub-000000002']);
    expect(platform.requests.map((request) => request.headers['webhook-timestamp'])).toEqual([T0 / 1000, T0 / 1000 + 1, T0 / 1000 + 3].map(String));
    expect(new Set(platform.requests.map((request) => request.body)).size).toBe(1);
    for (const request of platform.requests) expectSigned(request);
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
      expect.objectContaining({
        level: 40,
        submissionId: 'sub-000000003',
        attempt: 1,
        error: 'network error ECONNREFUSED',
        nextAttemptAt: new Date(clock + 1_000).toISOString(),
      }),
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
    const signature = String(platform.requests[0]?.headers['webhook-signature']);
    expect(signature).toMatch(/^v1,/);
    // Scores as JSON values, not digits that a timestamp may happen to hold.
    const text = log.text();
    expect(text).not.toMatch(/relationship|fair|sess-1|hooks\/srs|[:[,]\s*(?:356|73)\b/);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(signature.slice('v1,'.length));
    expect(text).not.toContain(SECRET.slice('whsec_'.length));
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
    expect(platform.requests.map((request) => request.headers['webhook-id'])).toEqual(['sub-000000006']);
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

/** A real receiver that verifies every delivery with the Standard Webhooks library, as a platform would. */
class VerifyingReceiver {
  readonly verified: Received[] = [];
  readonly refused: Received[] = [];
  readonly #server: Server;

  /** `statuses`: what to answer verified deliveries, in turn (the last one repeats). */
  constructor(verifier: Webhook, statuses: number[] = [204]) {
    this.#server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const received = { headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
        try {
          verifier.verify(received.body, standardHeaders(received));
        } catch (error) {
          if (!(error instanceof WebhookVerificationError)) throw error;
          this.refused.push(received);
          response.writeHead(401).end();
          return;
        }
        this.verified.push(received);
        response.writeHead(statuses.length > 1 ? (statuses.shift() ?? 204) : (statuses[0] ?? 204)).end();
      });
    });
  }

  async listen(): Promise<string> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hooks/srs`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    if (this.#server.listening) await new Promise((resolve) => this.#server.close(resolve));
  }
}

describe('Standard Webhooks', () => {
  let verifying: VerifyingReceiver[];
  beforeEach(() => {
    verifying = [];
  });
  afterEach(async () => {
    await Promise.all(verifying.map((r) => r.close()));
  });

  async function verifyingReceiver(verifier: Webhook, statuses?: number[]): Promise<{ platform: VerifyingReceiver; url: string }> {
    const platform = new VerifyingReceiver(verifier, statuses);
    verifying.push(platform);
    return { platform, url: await platform.listen() };
  }

  /** A dispatcher on the real clock, `shift` ms ahead of it: the receiver checks timestamps against its own clock. */
  function liveDispatcher(url: string, secret: string, shift: { ms: number } = { ms: 0 }): WebhookDispatcher {
    return dispatcher(url, { secret, now: () => new Date(Date.now() + shift.ms) });
  }

  it('a receiver verifies a delivery with the library and a whsec_ secret as given', async () => {
    const { platform, url } = await verifyingReceiver(new Webhook(SECRET));
    await store.saveResult(result('sub-000000010'));
    expect(await liveDispatcher(url, SECRET).deliverDue()).toEqual({ delivered: 1, failed: 0 });
    expect(platform.refused).toEqual([]);
    expect(platform.verified.map((request) => request.headers['webhook-id'])).toEqual(['sub-000000010']);
  });

  it('a receiver verifies a delivery signed with a raw secret, given as raw or as whsec_ + its base64', async () => {
    for (const verifier of [new Webhook(RAW_SECRET, { format: 'raw' }), new Webhook(`whsec_${Buffer.from(RAW_SECRET).toString('base64')}`)]) {
      const { platform, url } = await verifyingReceiver(verifier);
      const submissionId = `sub-raw-${verifying.length}-0000`;
      await store.saveResult(result(submissionId, `sess-raw-${verifying.length}`));
      expect(await liveDispatcher(url, RAW_SECRET).deliverDue()).toEqual({ delivered: 1, failed: 0 });
      expect(platform.verified.map((request) => request.headers['webhook-id'])).toEqual([submissionId]);
    }
  });

  it('the receiver refuses a tampered body, another key and a stale timestamp', async () => {
    const { platform, url } = await verifyingReceiver(new Webhook(SECRET));
    await store.saveResult(result('sub-000000011'));
    await liveDispatcher(url, SECRET).deliverDue();
    const [delivery] = platform.verified;
    const verify =
      (body: string, headers = standardHeaders(delivery), secret = SECRET) =>
      () =>
        new Webhook(secret).verify(body, headers);
    const body = delivery?.body ?? '';
    expect(verify(body)).not.toThrow();
    expect(verify(body.replace('"totalMm":356', '"totalMm":357'))).toThrow(WebhookVerificationError);
    expect(verify(`${body} `)).toThrow(WebhookVerificationError);
    expect(verify(body, { ...standardHeaders(delivery), 'webhook-id': 'sub-000000012' })).toThrow(WebhookVerificationError);
    expect(verify(body, standardHeaders(delivery), `whsec_${Buffer.from('another key, 32 bytes long......').toString('base64')}`)).toThrow(
      WebhookVerificationError,
    );

    // A delivery signed with another key is refused by the receiver, so it is retried, not lost.
    await store.saveResult(result('sub-000000013', 'sess-2'));
    expect(await liveDispatcher(url, RAW_SECRET).deliverDue()).toEqual({ delivered: 0, failed: 1 });
    expect(platform.refused.map((request) => request.headers['webhook-id'])).toEqual(['sub-000000013']);
    // Signed ten minutes ago (as a captured delivery replayed now would be), it is too old.
    const { platform: later, url: laterUrl } = await verifyingReceiver(new Webhook(SECRET));
    await store.saveResult(result('sub-000000015', 'sess-3'));
    expect(await liveDispatcher(laterUrl, SECRET, { ms: -10 * 60_000 }).deliverDue()).toEqual({ delivered: 0, failed: 1 });
    expect(later.refused.map((request) => request.headers['webhook-id'])).toEqual(['sub-000000015']);
  });

  it('every retry carries the same webhook-id, a fresh timestamp and a signature that verifies', async () => {
    const { platform, url } = await verifyingReceiver(new Webhook(SECRET), [503, 500, 204]);
    await store.saveResult(result('sub-000000014'));
    // Each round runs a minute later than the last: past the back-off, within the library's 5 min.
    const shift = { ms: 0 };
    const webhooks = liveDispatcher(url, SECRET, shift);
    const rounds = [];
    for (let round = 0; round < 3; round++) {
      rounds.push(await webhooks.deliverDue());
      shift.ms += 60_000;
    }
    expect(rounds).toEqual([
      { delivered: 0, failed: 1 },
      { delivered: 0, failed: 1 },
      { delivered: 1, failed: 0 },
    ]);
    expect(platform.refused).toEqual([]);
    expect(platform.verified.map((request) => request.headers['webhook-id'])).toEqual(['sub-000000014', 'sub-000000014', 'sub-000000014']);
    expect(new Set(platform.verified.map((request) => request.headers['webhook-timestamp'])).size).toBe(3);
    expect(new Set(platform.verified.map((request) => request.body)).size).toBe(1);
  });
});

describe('webhookSigner', () => {
  const body = JSON.stringify({ event: 'result.stored' });
  const at = new Date(1_700_000_000_000);
  const signed = (secret: string) => ({
    'webhook-id': 'sub-000000001',
    'webhook-timestamp': '1700000000',
    'webhook-signature': webhookSigner(secret).sign('sub-000000001', at, body),
  });
  const verifyAt = (verifier: Webhook, headers: Record<string, string>) => atSigningTime({ headers, body }, () => verifier.verify(body, headers));

  it('takes a whsec_ secret as Standard Webhooks does, and any other string as its UTF-8 bytes', () => {
    expect(signed(SECRET)['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(verifyAt(new Webhook(SECRET), signed(SECRET))).toEqual({ event: 'result.stored' });
    expect(verifyAt(new Webhook(RAW_SECRET, { format: 'raw' }), signed(RAW_SECRET))).toEqual({ event: 'result.stored' });
    // Beyond ASCII the key is the UTF-8, which whsec_ + base64 carries to any library.
    const accented = 'clé-secrète-partagée-0123456789-abcdef';
    expect(verifyAt(new Webhook(`whsec_${Buffer.from(accented).toString('base64')}`), signed(accented))).toEqual({ event: 'result.stored' });
    expect(() => verifyAt(new Webhook(RAW_SECRET, { format: 'raw' }), signed(SECRET))).toThrow(WebhookVerificationError);
  });

  it('webhookSecretProblem refuses a whsec_ secret that is not base64 of a long enough key', () => {
    expect(webhookSecretProblem(SECRET)).toBeNull();
    expect(webhookSecretProblem(RAW_SECRET)).toBeNull();
    expect(webhookSecretProblem('whsec_not base64!!')).toMatch(/base64/);
    expect(webhookSecretProblem('whsec_')).toMatch(/at least 24 bytes/);
    expect(webhookSecretProblem(`whsec_${Buffer.alloc(23, 1).toString('base64')}`)).toMatch(/at least 24 bytes/);
    expect(webhookSecretProblem(`whsec_${Buffer.alloc(24, 1).toString('base64')}`)).toBeNull();
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
