import { describe, expect, it } from 'vitest';
import type { Result } from '../../shared/protocol.ts';
import { bandOf } from '../../shared/scoring.ts';
import { CHART, DEFAULT_TREND, formatThreshold, MAX_POINTS, trendOf, withToday, xOf, yOf } from './trend.ts';

let counter = 0;
function result(totalMm: number): Result {
  counter++;
  const item = Math.floor(totalMm / 4);
  const last = totalMm - 3 * item;
  return {
    sessionId: `s${counter}`,
    submissionId: `submission-${counter}`,
    instrument: 'srs',
    items: [
      { id: 'relationship', mm: item },
      { id: 'goals', mm: item },
      { id: 'approach', mm: item },
      { id: 'overall', mm: last },
    ],
    totalMm,
    band: bandOf(totalMm),
    flagged: [],
    enteredBy: 'client',
    submittedAt: new Date(Date.UTC(2025, 0, counter)).toISOString(),
  };
}

describe('trendOf', () => {
  describe('drop alert', () => {
    it('raises a fall of exactly the threshold and more, never less, never a rise', () => {
      for (let fall = -20; fall <= 30; fall++) {
        const trend = trendOf([result(380), result(380 - fall)]);
        expect(trend.dropMm, `fall ${fall}`).toBe(fall >= DEFAULT_TREND.dropMm ? fall : null);
      }
    });

    it('compares the newest with the one just before it, not with older ones', () => {
      expect(trendOf([result(400), result(350), result(345)]).dropMm).toBeNull();
      expect(trendOf([result(350), result(400), result(385)]).dropMm).toBe(15);
    });

    it('follows a configured threshold', () => {
      expect(trendOf([result(380), result(375)], { cutoffMm: 360, dropMm: 5 }).dropMm).toBe(5);
      expect(trendOf([result(380), result(376)], { cutoffMm: 360, dropMm: 5 }).dropMm).toBeNull();
    });
  });

  describe('cutoff', () => {
    it('is strictly below the cutoff, for every total around it', () => {
      for (let total = 340; total <= 380; total++) {
        expect(trendOf([result(total)]).belowCutoff, `total ${total}`).toBe(total < 360);
      }
    });

    it('is about the newest result only', () => {
      expect(trendOf([result(300), result(370)]).belowCutoff).toBe(false);
    });
  });

  describe('boundaries', () => {
    it('has nothing to raise without results', () => {
      const trend = trendOf([]);
      expect(trend).toMatchObject({ latest: null, dropMm: null, belowCutoff: false, firstRating: true, count: 0 });
      expect(trend.results).toEqual([]);
    });

    it('knows a first rating has no earlier one', () => {
      expect(trendOf([result(390)]).firstRating).toBe(true);
      expect(trendOf([result(390), result(390)]).firstRating).toBe(false);
    });

    it(`draws at most ${MAX_POINTS} sessions, the newest, and alerts on the newest`, () => {
      const results = Array.from({ length: MAX_POINTS + 5 }, (_, i) => result(300 + i));
      const trend = trendOf(results);
      expect(trend.results).toHaveLength(MAX_POINTS);
      expect(trend.results.at(-1)).toBe(results.at(-1));
      expect(trend.count).toBe(MAX_POINTS + 5);
    });
  });
});

describe('withToday', () => {
  it("adds this session's result when the history does not have it yet", () => {
    const older = [result(350), result(360)];
    const today = result(370);
    expect(withToday(older, today)).toEqual([...older, today]);
  });

  it('does not add it twice, and drops duplicates', () => {
    const older = result(350);
    const today = result(370);
    expect(withToday([older, older, today], today)).toEqual([older, today]);
  });

  it('keeps the history as it is without a result', () => {
    const older = [result(350)];
    expect(withToday(older, null)).toEqual(older);
  });
});

describe('chart geometry', () => {
  it('maps 0–40 onto the plot, 40 at the top', () => {
    expect(yOf(400)).toBe(CHART.top);
    expect(yOf(0)).toBe(CHART.height - CHART.bottom);
    for (let mm = 1; mm <= 400; mm++) expect(yOf(mm)).toBeLessThan(yOf(mm - 1));
  });

  it('spreads sessions from left to right, one session in the middle', () => {
    expect(xOf(0, 1)).toBe((CHART.left + CHART.width - CHART.right) / 2);
    expect(xOf(0, 5)).toBe(CHART.left);
    expect(xOf(4, 5)).toBe(CHART.width - CHART.right);
  });
});

describe('formatThreshold', () => {
  it('says whole centimetres without a decimal', () => {
    expect(formatThreshold(360)).toBe('36');
    expect(formatThreshold(355)).toBe('35.5');
    expect(formatThreshold(0)).toBe('0');
  });
});
