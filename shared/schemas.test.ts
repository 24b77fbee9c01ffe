import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SRS_ITEM_IDS } from './instruments.ts';
import { CreateSessionBodySchema, HandshakeAuthSchema, MarkMoveSchema, RatingSubmitSchema, ResultSchema } from './schemas.ts';
import { scoreRating } from './scoring.ts';

const validMm = fc.integer({ min: 0, max: 100 });
const invalidMm = fc.oneof(
  fc.integer({ max: -1 }),
  fc.integer({ min: 101 }),
  fc.double({ noInteger: true }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, null, '50', true, [], {}),
);
const submissionId = fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/);
const marks = fc.record({ relationship: validMm, goals: validMm, approach: validMm, overall: validMm });

describe('mark:move payloads', () => {
  it('accepts every item with every integer mm 0–100', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SRS_ITEM_IDS), validMm, (item, mm) => {
        expect(MarkMoveSchema.parse({ item, mm })).toEqual({ item, mm });
      }),
    );
  });

  it('refuses any mm that is not an integer 0–100', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SRS_ITEM_IDS), invalidMm, (item, mm) => {
        expect(MarkMoveSchema.safeParse({ item, mm }).success).toBe(false);
      }),
    );
  });

  it('refuses unknown items, extra keys and values that are not objects', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !(SRS_ITEM_IDS as readonly string[]).includes(s)),
        validMm,
        (item, mm) => {
          expect(MarkMoveSchema.safeParse({ item, mm }).success).toBe(false);
        },
      ),
    );
    expect(MarkMoveSchema.safeParse({ item: 'goals', mm: 5, extra: 1 }).success).toBe(false);
    expect(MarkMoveSchema.safeParse(JSON.parse('{"item":"goals","mm":5,"__proto__":{"x":1}}')).success).toBe(false);
    fc.assert(
      fc.property(
        fc.anything().filter((v) => typeof v !== 'object' || v === null),
        (value) => {
          expect(MarkMoveSchema.safeParse(value).success).toBe(false);
        },
      ),
    );
  });
});

describe('rating:submit payloads', () => {
  it('accepts complete ratings with a well-formed submissionId', () => {
    fc.assert(
      fc.property(submissionId, marks, (id, m) => {
        expect(RatingSubmitSchema.safeParse({ submissionId: id, marks: m }).success).toBe(true);
      }),
    );
  });

  it('refuses a rating with any invalid, missing or extra mark', () => {
    fc.assert(
      fc.property(submissionId, marks, fc.constantFrom(...SRS_ITEM_IDS), invalidMm, (id, m, item, bad) => {
        expect(RatingSubmitSchema.safeParse({ submissionId: id, marks: { ...m, [item]: bad } }).success).toBe(false);
        const missing: Record<string, number> = { ...m };
        delete missing[item];
        expect(RatingSubmitSchema.safeParse({ submissionId: id, marks: missing }).success).toBe(false);
      }),
    );
    expect(
      RatingSubmitSchema.safeParse({ submissionId: 'abcdefgh', marks: { relationship: 1, goals: 1, approach: 1, overall: 1 }, totalMm: 400 }).success,
    ).toBe(false);
  });

  it('refuses malformed submission ids', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !/^[A-Za-z0-9_-]{8,64}$/.test(s)),
        marks,
        (id, m) => {
          expect(RatingSubmitSchema.safeParse({ submissionId: id, marks: m }).success).toBe(false);
        },
      ),
    );
  });
});

describe('handshake and API bodies', () => {
  it('requires a token and protocol 1', () => {
    expect(HandshakeAuthSchema.safeParse({ token: 'x', protocol: 1 }).success).toBe(true);
    expect(HandshakeAuthSchema.safeParse({ token: 'x', protocol: 2 }).success).toBe(false);
    expect(HandshakeAuthSchema.safeParse({ protocol: 1 }).success).toBe(false);
  });

  it('accepts pseudonymous client refs and refuses e-mail addresses and free text', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/), (clientRef) => {
        expect(CreateSessionBodySchema.safeParse({ clientRef }).success).toBe(true);
      }),
    );
    for (const clientRef of ['jane.doe@example.org', 'Jane Doe', '', 'x'.repeat(129)]) {
      expect(CreateSessionBodySchema.safeParse({ clientRef }).success, clientRef).toBe(false);
    }
  });

  it('describes a scored result', () => {
    const score = scoreRating({ relationship: 90, goals: 85, approach: 100, overall: 95 });
    const result = {
      sessionId: 's1',
      submissionId: 'sub-00001',
      instrument: 'srs',
      items: score.items,
      totalMm: score.totalMm,
      band: score.band,
      flagged: score.flagged,
      enteredBy: 'client',
      submittedAt: new Date().toISOString(),
    };
    expect(ResultSchema.parse(result)).toEqual(result);
  });
});
