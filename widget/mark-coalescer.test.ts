import { describe, expect, it } from 'vitest';
import { MarkCoalescer, type Scheduler } from './mark-coalescer.ts';

/** A scheduler that runs its callbacks only when the test says a frame has passed. */
function manualFrames() {
  const queue: (() => void)[] = [];
  const schedule: Scheduler = (flush) => queue.push(flush);
  const frame = (): void => {
    for (const flush of queue.splice(0)) flush();
  };
  return { schedule, frame, queue };
}

function setup() {
  const frames = manualFrames();
  const sent: [string, number][] = [];
  const coalescer = new MarkCoalescer<string>((item, mm) => sent.push([item, mm]), frames.schedule);
  return { ...frames, sent, coalescer };
}

describe('MarkCoalescer', () => {
  describe('coalescing', () => {
    it('sends nothing before the frame', () => {
      const { coalescer, sent } = setup();
      coalescer.push('goals', 10);
      expect(sent).toEqual([]);
    });

    it('sends only the last value of a line per frame', () => {
      const { coalescer, sent, frame } = setup();
      for (let mm = 0; mm <= 100; mm++) coalescer.push('goals', mm);
      frame();
      expect(sent).toEqual([['goals', 100]]);
    });

    it('sends the latest value of every changed line, once each', () => {
      const { coalescer, sent, frame } = setup();
      coalescer.push('relationship', 1);
      coalescer.push('goals', 2);
      coalescer.push('relationship', 3);
      frame();
      expect(sent).toEqual([
        ['relationship', 3],
        ['goals', 2],
      ]);
    });
  });

  describe('scheduling', () => {
    it('schedules one flush per frame however many pushes', () => {
      const { coalescer, queue } = setup();
      for (let i = 0; i < 50; i++) coalescer.push(i % 2 ? 'goals' : 'overall', i);
      expect(queue).toHaveLength(1);
    });

    it('schedules again after a flush, and sends unchanged lines no more', () => {
      const { coalescer, sent, frame, queue } = setup();
      coalescer.push('goals', 5);
      frame();
      frame();
      expect(sent).toEqual([['goals', 5]]);
      coalescer.push('overall', 7);
      expect(queue).toHaveLength(1);
      frame();
      expect(sent).toEqual([
        ['goals', 5],
        ['overall', 7],
      ]);
    });

    it('flushes at once when asked, and the scheduled frame then sends nothing twice', () => {
      const { coalescer, sent, frame } = setup();
      coalescer.push('goals', 42);
      coalescer.flush();
      expect(sent).toEqual([['goals', 42]]);
      frame();
      expect(sent).toEqual([['goals', 42]]);
    });
  });

  describe('cancel', () => {
    it('drops a pending value so a committed one is not overtaken', () => {
      const { coalescer, sent, frame } = setup();
      coalescer.push('goals', 40);
      coalescer.push('overall', 60);
      coalescer.cancel('goals');
      frame();
      expect(sent).toEqual([['overall', 60]]);
    });
  });

  describe('boundaries', () => {
    it('passes every value 0–100 through unchanged', () => {
      const { coalescer, sent, frame } = setup();
      for (let mm = 0; mm <= 100; mm++) {
        coalescer.push('approach', mm);
        frame();
      }
      expect(sent.map(([, mm]) => mm)).toEqual(Array.from({ length: 101 }, (_, mm) => mm));
    });
  });
});
