/**
 * MarkForwarder on an injected clock and fake timers: no real waiting and no timing assertions,
 * only which marks go out and in what order as the clock moves.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { MarkMove } from '../../shared/protocol.ts';
import { FRAME_MS, MarkForwarder } from './mark-forwarder.ts';

describe('MarkForwarder', () => {
  let sent: Array<{ sessionId: string } & MarkMove>;
  /** When each mark went out, on the injected clock. */
  let sentAt: number[];
  let forwarder: MarkForwarder;

  /** The injected clock: the fake timers' clock, so timers and `now` move together. */
  const clock = () => Date.now();
  const advance = (ms: number) => vi.advanceTimersByTime(ms);
  /** Sets the injected clock without running timers. */
  const setClock = (ms: number) => vi.setSystemTime(ms);

  beforeEach(() => {
    vi.useFakeTimers({ now: 10_000 });
    sent = [];
    sentAt = [];
    forwarder = new MarkForwarder(
      (sessionId, mark) => {
        sent.push({ sessionId, ...mark });
        sentAt.push(clock());
      },
      FRAME_MS,
      clock,
    );
  });

  afterEach(() => {
    forwarder.close();
    vi.useRealTimers();
  });

  describe('first move after a pause', () => {
    it('is sent at once, without waiting for a frame', () => {
      forwarder.push('s1', 'goals', 40);
      expect(sent).toEqual([{ sessionId: 's1', item: 'goals', mm: 40 }]);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('is sent at once again after a pause of a frame or more', () => {
      forwarder.push('s1', 'goals', 40);
      advance(FRAME_MS);
      forwarder.push('s1', 'goals', 41);
      advance(FRAME_MS * 10);
      forwarder.push('s1', 'goals', 42);
      expect(sent.map((mark) => mark.mm)).toEqual([40, 41, 42]);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('does not hold back another session', () => {
      forwarder.push('s1', 'goals', 1);
      forwarder.push('s2', 'goals', 2);
      expect(sent).toEqual([
        { sessionId: 's1', item: 'goals', mm: 1 },
        { sessionId: 's2', item: 'goals', mm: 2 },
      ]);
    });
  });

  describe('coalescing within a frame', () => {
    it('sends only the last value of a line, at the end of the frame', () => {
      forwarder.push('s1', 'goals', 10);
      advance(2);
      forwarder.push('s1', 'goals', 11);
      advance(3);
      forwarder.push('s1', 'goals', 12);
      forwarder.push('s1', 'goals', 13);
      expect(sent.map((mark) => mark.mm)).toEqual([10]);
      advance(FRAME_MS - 5 - 1);
      expect(sent.map((mark) => mark.mm)).toEqual([10]);
      advance(1);
      expect(sent).toEqual([
        { sessionId: 's1', item: 'goals', mm: 10 },
        { sessionId: 's1', item: 'goals', mm: 13 },
      ]);
    });

    it('gives each line its own frame: another line never waits, and each ends on its last value', () => {
      forwarder.push('s1', 'relationship', 5);
      advance(1);
      forwarder.push('s1', 'goals', 20);
      forwarder.push('s1', 'overall', 70);
      forwarder.push('s1', 'goals', 24);
      forwarder.push('s1', 'approach', 33);
      forwarder.push('s1', 'overall', 71);
      // The first move of each line went out at once; the later moves of a line wait for its frame.
      expect(sent.slice(1)).toEqual([
        { sessionId: 's1', item: 'goals', mm: 20 },
        { sessionId: 's1', item: 'overall', mm: 70 },
        { sessionId: 's1', item: 'approach', mm: 33 },
      ]);
      advance(FRAME_MS);
      expect(sent.slice(4)).toEqual([
        { sessionId: 's1', item: 'goals', mm: 24 },
        { sessionId: 's1', item: 'overall', mm: 71 },
      ]);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('sends at most once per frame while a drag goes on, and ends on the last value', () => {
      forwarder.push('s1', 'goals', 0);
      // 200 moves a second for one second: one every 5 ms.
      for (let i = 1; i <= 200; i++) {
        advance(5);
        forwarder.push('s1', 'goals', i % 101);
      }
      advance(FRAME_MS);
      const gaps = sentAt.slice(1).map((at, i) => at - (sentAt[i] ?? 0));
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(FRAME_MS);
      expect(sent.length).toBeLessThanOrEqual(Math.ceil(1000 / FRAME_MS) + 2);
      expect(sent.length).toBeGreaterThan(1000 / FRAME_MS / 2);
      expect(sent.at(-1)).toEqual({ sessionId: 's1', item: 'goals', mm: 200 % 101 });
    });

    it('a move just after a frame was flushed waits for the next frame', () => {
      forwarder.push('s1', 'goals', 1);
      advance(1);
      forwarder.push('s1', 'goals', 2);
      advance(FRAME_MS);
      expect(sent.map((mark) => mark.mm)).toEqual([1, 2]);
      advance(1);
      forwarder.push('s1', 'goals', 3);
      expect(sent.map((mark) => mark.mm)).toEqual([1, 2]);
      advance(FRAME_MS);
      expect(sent.map((mark) => mark.mm)).toEqual([1, 2, 3]);
    });
  });

  describe('a timer that fires early', () => {
    // libuv starts a timer from its cached loop time, so by performance.now() it may fire a
    // millisecond or two before the frame is over: the frame must still be waited out.
    it('still sends at most once per frame', () => {
      forwarder.push('s1', 'goals', 1);
      advance(1);
      forwarder.push('s1', 'goals', 2);
      setClock(clock() - 2);
      advance(FRAME_MS - 1);
      expect(sent.map((mark) => mark.mm)).toEqual([1]);
      advance(2);
      expect(sent.map((mark) => mark.mm)).toEqual([1, 2]);
      expect(sentAt[1]! - sentAt[0]!).toBeGreaterThanOrEqual(FRAME_MS);
    });
  });

  describe('discard', () => {
    it('drops what is pending and cancels the frame timer', () => {
      forwarder.push('s1', 'goals', 10);
      forwarder.push('s1', 'goals', 11);
      forwarder.push('s2', 'goals', 50);
      forwarder.push('s2', 'goals', 51);
      expect(vi.getTimerCount()).toBe(2);
      forwarder.discard('s1');
      expect(vi.getTimerCount()).toBe(1);
      advance(FRAME_MS * 2);
      expect(sent.map((mark) => `${mark.sessionId}:${mark.mm}`)).toEqual(['s1:10', 's2:50', 's2:51']);
    });

    it('forgets the session, so its next move goes out at once', () => {
      forwarder.push('s1', 'goals', 10);
      forwarder.discard('s1');
      advance(1);
      forwarder.push('s1', 'goals', 12);
      expect(sent.map((mark) => mark.mm)).toEqual([10, 12]);
    });

    it('is harmless for an unknown session', () => {
      expect(() => forwarder.discard('nobody')).not.toThrow();
    });
  });

  describe('sweep', () => {
    // The map is private; its memory of a session shows in whether a move within a frame of the
    // last send is held back. Winding the injected clock back after the sweep probes exactly that.
    it('forgets a session idle for longer than a frame', () => {
      forwarder.push('s1', 'goals', 10);
      advance(FRAME_MS + 1);
      forwarder.sweep();
      setClock(clock() - FRAME_MS);
      forwarder.push('s1', 'goals', 11);
      expect(sent.map((mark) => mark.mm)).toEqual([10, 11]);
    });

    it('keeps a session that sent within the last frame', () => {
      forwarder.push('s1', 'goals', 10);
      advance(FRAME_MS - 6);
      forwarder.sweep();
      advance(1);
      forwarder.push('s1', 'goals', 11);
      expect(sent.map((mark) => mark.mm)).toEqual([10]);
      advance(FRAME_MS);
      expect(sent.map((mark) => mark.mm)).toEqual([10, 11]);
    });

    it('keeps a session with a pending frame, whose last value still goes out', () => {
      forwarder.push('s1', 'goals', 10);
      forwarder.push('s1', 'goals', 11);
      setClock(clock() + FRAME_MS * 5);
      forwarder.sweep();
      advance(FRAME_MS);
      expect(sent.map((mark) => mark.mm)).toEqual([10, 11]);
    });
  });

  it('close cancels every pending frame', () => {
    forwarder.push('s1', 'goals', 1);
    forwarder.push('s1', 'goals', 2);
    forwarder.push('s2', 'overall', 3);
    forwarder.push('s2', 'overall', 4);
    forwarder.close();
    expect(vi.getTimerCount()).toBe(0);
    advance(FRAME_MS * 2);
    expect(sent.map((mark) => mark.mm)).toEqual([1, 3]);
  });
});
