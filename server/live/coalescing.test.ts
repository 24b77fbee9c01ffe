/**
 * Coalescing through a real server: a client dragging faster than a screen refreshes reaches the
 * therapist at most once per frame per line, and the therapist ends on the client's last value.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MarkMove } from '../../shared/protocol.ts';
import { startTestServer, type TestServer, type TestSocket } from '../testing/test-server.ts';
import { FRAME_MS } from './mark-forwarder.ts';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until `done` holds, checking every few milliseconds; fails after `timeoutMs`. */
async function until(done: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error('timed out waiting for the therapist');
    await sleep(5);
  }
}

describe('coalescing of live marks', () => {
  let server: TestServer;
  let client: TestSocket;
  let therapist: TestSocket;
  let received: Array<MarkMove & { at: number }>;

  beforeEach(async () => {
    // Default rate limits: a 200 Hz drag on one line is legitimate and must not be refused.
    server = await startTestServer();
    const tokens = await server.createSession('client-coalesce');
    therapist = await server.startRating(tokens);
    client = await server.join(tokens.client.token);
    received = [];
    therapist.on('mark:moved', (mark) => received.push({ ...mark, at: performance.now() }));
  });

  afterEach(async () => {
    await server.close();
  });

  it('forwards a 200 Hz drag at most about once per frame, ending on the last value', async () => {
    const refusals: string[] = [];
    client.on('srs:error', (error) => refusals.push(error.code));
    const sent: number[] = [];
    const startedAt = performance.now();
    // 300 moves at 200 Hz: about 1.5 s.
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        // Every value differs from the one before it.
        const mm = sent.length % 100;
        sent.push(mm);
        client.emit('mark:move', { item: 'goals', mm });
        if (sent.length === 300) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    const last = sent.at(-1);
    await until(() => received.at(-1)?.mm === last);
    // Anything still to come would be a stale value arriving after the last one.
    await sleep(FRAME_MS * 5);

    const seconds = ((received.at(-1)?.at ?? startedAt) - startedAt) / 1000;
    expect(refusals).toEqual([]);
    expect(received.length).toBeLessThanOrEqual(62 * seconds + 2);
    // Coalescing must not starve the therapist either: a frame's worth keeps arriving.
    expect(received.length).toBeGreaterThan(10);
    expect(received.every((mark) => mark.item === 'goals')).toBe(true);
    expect(received.at(-1)).toMatchObject({ item: 'goals', mm: last });
  });

  it('forwards each line of a fast drag on several lines, each ending on its last value', async () => {
    const lines = ['relationship', 'goals', 'approach', 'overall'] as const;
    const lastSent = new Map<string, number>();
    const startedAt = performance.now();
    await new Promise<void>((resolve) => {
      let step = 0;
      const timer = setInterval(() => {
        for (const item of lines) {
          const mm = (step * 3 + lines.indexOf(item)) % 101;
          lastSent.set(item, mm);
          client.emit('mark:move', { item, mm });
        }
        step += 1;
        if (performance.now() - startedAt >= 600) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    const lastReceived = () => new Map(lines.map((item) => [item, received.filter((mark) => mark.item === item).at(-1)?.mm]));
    await until(() => lines.every((item) => lastReceived().get(item) === lastSent.get(item)));
    await sleep(FRAME_MS * 5);

    const seconds = ((received.at(-1)?.at ?? startedAt) - startedAt) / 1000;
    for (const item of lines) {
      expect(received.filter((mark) => mark.item === item).length, item).toBeLessThanOrEqual(62 * seconds + 2);
    }
    expect(lastReceived()).toEqual(lastSent);
  });

  it('sends a single move after a pause on its own, and nothing else', async () => {
    client.emit('mark:move', { item: 'approach', mm: 30 });
    await until(() => received.length === 1);
    await sleep(100);
    client.emit('mark:move', { item: 'approach', mm: 31 });
    await until(() => received.length === 2);
    await sleep(FRAME_MS * 5);
    expect(received.map(({ item, mm }) => ({ item, mm }))).toEqual([
      { item: 'approach', mm: 30 },
      { item: 'approach', mm: 31 },
    ]);
  });

  it("sends the first move of a burst at once and the burst's last value at the frame's end", async () => {
    // Three moves in one tick: the first is not held back, the middle one is superseded.
    client.emit('mark:move', { item: 'overall', mm: 10 });
    client.emit('mark:move', { item: 'overall', mm: 11 });
    client.emit('mark:move', { item: 'overall', mm: 12 });
    await until(() => received.at(-1)?.mm === 12);
    await sleep(FRAME_MS * 5);
    expect(received.map((mark) => mark.mm)).toEqual([10, 12]);
  });
});
