import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SRS_ITEM_IDS } from './instruments.ts';
import { asMarkMove } from './fast-guards.ts';
import { MarkMoveSchema } from './schemas.ts';

const nearMiss = fc.record(
  {
    item: fc.oneof(fc.constantFrom(...SRS_ITEM_IDS), fc.string(), fc.integer()),
    mm: fc.oneof(fc.integer({ min: -5, max: 105 }), fc.double(), fc.constantFrom(Number.NaN, '50', null)),
    extra: fc.anything(),
  },
  { requiredKeys: [] },
);

describe('asMarkMove', () => {
  it('accepts exactly what MarkMoveSchema accepts', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.anything(), nearMiss, fc.record({ item: fc.constantFrom(...SRS_ITEM_IDS), mm: fc.integer({ min: -1, max: 101 }) })),
        (payload) => {
          const parsed = MarkMoveSchema.safeParse(payload);
          const fast = asMarkMove(payload);
          expect(fast !== null).toBe(parsed.success);
          if (parsed.success) expect(fast).toEqual(parsed.data);
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it('refuses prototype tricks that the schema refuses', () => {
    for (const text of ['{"item":"goals","mm":5,"__proto__":{"x":1}}', '{"item":"goals","mm":5,"constructor":{}}']) {
      const payload: unknown = JSON.parse(text);
      expect(asMarkMove(payload)).toBeNull();
      expect(MarkMoveSchema.safeParse(payload).success).toBe(false);
    }
    expect(asMarkMove(Object.assign(Object.create({ inherited: true }) as object, { item: 'goals', mm: 5 }))).toBeNull();
  });
});
