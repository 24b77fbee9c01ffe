import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SRS_ITEM_IDS } from './instruments.ts';
import { bandOf, emptyMarks, formatCm, isComplete, isValidMm, marksOfItems, parseCm, partialTotalMm, scoreRating, type Marks } from './scoring.ts';

const marksOf = (relationship: number, goals: number, approach: number, overall: number): Marks => ({ relationship, goals, approach, overall });

describe('bands', () => {
  it('follows the floor rule at every total from 0 to 400 mm', () => {
    for (let total = 0; total <= 400; total++) {
      const wholeCm = Math.floor(total / 10);
      const expected = wholeCm >= 39 ? 'good' : wholeCm >= 35 ? 'fair' : 'poor';
      expect(bandOf(total), `total ${total} mm`).toBe(expected);
    }
  });

  it('puts the boundaries where srs.md puts them', () => {
    expect(bandOf(349)).toBe('poor'); // 34.9
    expect(bandOf(350)).toBe('fair'); // 35.0
    expect(bandOf(389)).toBe('fair'); // 38.9
    expect(bandOf(390)).toBe('good'); // 39.0
    expect(bandOf(0)).toBe('poor');
    expect(bandOf(400)).toBe('good');
  });
});

describe('scoreRating', () => {
  it('flags each item below 9.0 cm over every value 0–100 mm', () => {
    for (const id of SRS_ITEM_IDS) {
      for (let mm = 0; mm <= 100; mm++) {
        const marks = { ...marksOf(100, 100, 100, 100), [id]: mm };
        const score = scoreRating(marks);
        expect(score.totalMm).toBe(300 + mm);
        expect(score.flagged.includes(id), `${id} at ${mm} mm`).toBe(mm < 90);
        expect(score.flagged.length).toBe(mm < 90 ? 1 : 0);
        expect(score.items.find((item) => item.id === id)?.mm).toBe(mm);
      }
    }
  });

  it('takes the flag threshold from the options', () => {
    expect(scoreRating(marksOf(70, 80, 95, 100), { flagBelowMm: 80 }).flagged).toEqual(['relationship']);
    expect(scoreRating(marksOf(70, 80, 95, 100), { flagBelowMm: 0 }).flagged).toEqual([]);
  });

  it('totals and bands any complete rating consistently', () => {
    const mm = fc.integer({ min: 0, max: 100 });
    fc.assert(
      fc.property(mm, mm, mm, mm, (a, b, c, d) => {
        const score = scoreRating(marksOf(a, b, c, d));
        expect(score.totalMm).toBe(a + b + c + d);
        expect(score.band).toBe(bandOf(a + b + c + d));
        expect(score.items.map((item) => item.id)).toEqual([...SRS_ITEM_IDS]);
      }),
    );
  });

  it('refuses marks that are not integers from 0 to 100', () => {
    for (const bad of [-1, 101, 7.3, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => scoreRating(marksOf(bad, 50, 50, 50))).toThrow(RangeError);
    }
    expect(() => scoreRating({ ...marksOf(1, 2, 3, 4), goals: '50' as unknown as number })).toThrow(RangeError);
  });
});

describe('marks of a scored rating', () => {
  it("gives back each line's mark", () => {
    const marks = marksOf(12, 0, 100, 57);
    expect(marksOfItems(scoreRating(marks).items)).toEqual(marks);
    expect(marksOfItems([{ id: 'goals', mm: 40 }])).toEqual({ relationship: null, goals: 40, approach: null, overall: null });
  });
});

describe('partial ratings', () => {
  it('has no total while no line is marked, then sums what is marked', () => {
    const marks = emptyMarks();
    expect(partialTotalMm(marks)).toBeNull();
    expect(isComplete(marks)).toBe(false);
    marks.goals = 73;
    marks.overall = 0;
    expect(partialTotalMm(marks)).toBe(73);
    marks.relationship = 10;
    marks.approach = 5;
    expect(isComplete(marks)).toBe(true);
    expect(partialTotalMm(marks)).toBe(88);
  });
});

describe('centimetres', () => {
  it('formats every millimetre value with one decimal', () => {
    for (let mm = 0; mm <= 400; mm++) expect(formatCm(mm)).toBe((mm / 10).toFixed(1));
  });

  it('parses what a therapist types back to the same millimetres', () => {
    for (let mm = 0; mm <= 100; mm++) expect(parseCm(formatCm(mm))).toBe(mm);
    expect(parseCm('7')).toBe(70);
    expect(parseCm(' 7,3 ')).toBe(73);
    for (const bad of ['', '10.1', '11', '-1', '7.35', 'abc', '1e1']) expect(parseCm(bad), bad).toBeNull();
  });

  it('knows a valid mark', () => {
    expect(isValidMm(0)).toBe(true);
    expect(isValidMm(100)).toBe(true);
    for (const bad of [-1, 101, 0.5, Number.NaN, '5', null]) expect(isValidMm(bad)).toBe(false);
  });
});
