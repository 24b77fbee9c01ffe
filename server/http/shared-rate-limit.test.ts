/**
 * The API's per-address rate limit across nodes: with REDIS_URL the nodes count against one
 * budget in Redis, and a Redis that is gone loosens the limit instead of failing requests.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createClient } from 'redis';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_RATE_LIMITS } from '../live/token-bucket.ts';
import { redisAnswers, servicesRequired, TEST_REDIS_URL } from '../testing/services.ts';
import { startTestServer, type TestServer } from '../testing/test-server.ts';
import { apiRateLimit } from './security.ts';

const available = await redisAnswers();
if (!available && servicesRequired) throw new Error(`the shared rate limit test needs Redis at ${TEST_REDIS_URL}`);

/** A budget that no test outlasts: 10 requests in a 600 s window. */
const BUDGET = { capacity: 10, perSecond: 10 / 600 };

let runs = 0;
/** Keys of this test's own, so runs sharing the Redis never count each other's requests. */
const freshPrefix = () => `srs-test-rate-${process.pid}-${Date.now()}-${++runs}`;

interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: unknown;
}

async function answer(response: Response): Promise<Answer> {
  const text = await response.text();
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: text.startsWith('{') ? JSON.parse(text) : text };
}

function expectRefusal(refusal: Answer | undefined): void {
  expect(refusal?.status).toBe(429);
  expect(refusal?.body).toEqual({ error: { code: 'RATE_LIMITED', message: expect.any(String) } });
  expect(Number(refusal?.retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(refusal?.retryAfter)).toBeLessThanOrEqual(600);
}

describe('API rate limit on one node', () => {
  let node: TestServer | undefined;
  afterEach(async () => {
    await node?.close();
  });

  it('a node without REDIS_URL keeps its own budget', async () => {
    node = await startTestServer({ rateLimits: { ...DEFAULT_RATE_LIMITS, http: BUDGET } });
    const statuses: number[] = [];
    for (let request = 0; request <= BUDGET.capacity; request++) statuses.push((await node?.api('/api/openapi.json', { key: null }))?.status ?? 0);
    expect(statuses).toEqual([...Array<number>(BUDGET.capacity).fill(200), 429]);
  });
});

describe.skipIf(!available)('API rate limit shared through Redis', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  it('two nodes share one budget per address: requests split across them are refused at the budget, not twice it', async () => {
    const redisPrefix = freshPrefix();
    const nodes: TestServer[] = [];
    for (let n = 0; n < 2; n++) {
      const node = await startTestServer({ redisUrl: TEST_REDIS_URL, redisPrefix, rateLimits: { ...DEFAULT_RATE_LIMITS, http: BUDGET } });
      closers.push(() => node.close());
      nodes.push(node);
    }
    const answers: Answer[] = [];
    for (let request = 0; request < 2 * BUDGET.capacity; request++) {
      const node = nodes[request % 2];
      if (!node) throw new Error('no node');
      answers.push(await answer(await node.api('/api/openapi.json', { key: null })));
    }
    expect(answers.map((a) => a.status)).toEqual([...Array<number>(BUDGET.capacity).fill(200), ...Array<number>(BUDGET.capacity).fill(429)]);
    answers.slice(BUDGET.capacity).forEach(expectRefusal);
  });

  /** The limit alone in front of a route, over a Redis client the test controls. */
  async function limitedRoute(redis: ReturnType<typeof createClient>): Promise<string> {
    const app = express();
    app.use(apiRateLimit(BUDGET, { redis, keyPrefix: freshPrefix() }));
    app.get('/ping', (_req, res) => {
      res.json({ ok: true });
    });
    const server: Server = createServer(app);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/ping`;
  }

  it('when Redis goes away, requests are counted in memory: answered, never a 5xx, and still limited', async () => {
    const redis = createClient({ url: TEST_REDIS_URL });
    redis.on('error', () => undefined);
    await redis.connect();
    const url = await limitedRoute(redis);
    const first = await answer(await fetch(url));
    expect(first.status).toBe(200);

    await redis.disconnect();
    const answers: Answer[] = [];
    for (let request = 0; request <= BUDGET.capacity; request++) answers.push(await answer(await fetch(url)));
    // The insurance counts from zero on this node: a full budget, then refusals of the same shape.
    expect(answers.map((a) => a.status)).toEqual([...Array<number>(BUDGET.capacity).fill(200), 429]);
    expectRefusal(answers.at(-1));
  });

  it('a Redis that never connected is no reason to refuse or fail a request', async () => {
    const redis = createClient({ url: 'redis://127.0.0.1:1' });
    redis.on('error', () => undefined);
    const url = await limitedRoute(redis);
    const statuses: number[] = [];
    for (let request = 0; request < 3; request++) statuses.push((await fetch(url)).status);
    expect(statuses).toEqual([200, 200, 200]);
  });
});
