import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SRS_ITEM_IDS } from '../../shared/instruments.ts';
import type { Result } from '../../shared/protocol.ts';
import { bandOf } from '../../shared/scoring.ts';
import { csvField, resultsToCsv } from './csv.ts';

/**
 * An RFC 4180 reader written for this test, independent of the writer: a small state machine that
 * requires CRLF record ends and treats a quote inside an unquoted field as an error.
 */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let i = 0;
  const endField = (): void => {
    record.push(field);
    field = '';
  };
  while (i < text.length) {
    const char = text[i];
    if (char === '"' && field === '') {
      i += 1;
      for (;;) {
        if (i >= text.length) throw new Error('unterminated quoted field');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
          } else {
            i += 1;
            break;
          }
        } else {
          field += text[i];
          i += 1;
        }
      }
      if (i < text.length && text[i] !== ',' && text[i] !== '\r') throw new Error(`junk after quoted field at ${i}`);
    } else if (char === ',') {
      endField();
      i += 1;
    } else if (char === '\r') {
      if (text[i + 1] !== '\n') throw new Error(`bare CR at ${i}`);
      endField();
      records.push(record);
      record = [];
      i += 2;
    } else if (char === '\n' || char === '"') {
      throw new Error(`unexpected ${JSON.stringify(char)} in an unquoted field at ${i}`);
    } else {
      field += char;
      i += 1;
    }
  }
  if (field !== '' || record.length > 0) throw new Error('last record has no CRLF');
  return records;
}

/** "7.3" → 73: integer parsing, so the check cannot hide a float rounding. */
function cmToMm(cell: string | undefined): number {
  const match = /^(\d{1,2})\.(\d)$/.exec(cell ?? '');
  if (!match) throw new Error(`not a one-decimal cm value: ${cell}`);
  return Number(match[1]) * 10 + Number(match[2]);
}

const mm = fc.integer({ min: 0, max: 100 });
const resultArb: fc.Arbitrary<Result> = fc
  .record({
    sessionId: fc.oneof(fc.string(), fc.constantFrom('=1+1', '+SUM(A1)', '-2', '@cmd', '\tx', '\rx', 'a,"b"\r\nc', 'plain')),
    submissionId: fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/),
    marks: fc.tuple(mm, mm, mm, mm),
    enteredBy: fc.constantFrom('client' as const, 'therapist' as const),
    submittedAt: fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((date) => date.toISOString()),
  })
  .map(({ marks, ...rest }) => {
    const items = SRS_ITEM_IDS.map((id, index) => ({ id, mm: marks[index] ?? 0 }));
    const totalMm = items.reduce((sum, item) => sum + item.mm, 0);
    return { ...rest, instrument: 'srs', items, totalMm, band: bandOf(totalMm), flagged: [] };
  });

const HEADER = ['date', 'session', 'relationship', 'goals', 'approach', 'overall', 'total', 'band', 'entered_by'];

describe('resultsToCsv', () => {
  it('writes only a header row for no results', () => {
    expect(resultsToCsv([])).toBe(`${HEADER.join(',')}\r\n`);
  });

  it('round-trips every result exactly through an independent RFC 4180 parser', () => {
    fc.assert(
      fc.property(fc.array(resultArb, { maxLength: 20 }), (results) => {
        const rows = parseCsv(resultsToCsv(results));
        expect(rows[0]).toEqual(HEADER);
        expect(rows).toHaveLength(results.length + 1);
        results.forEach((result, index) => {
          const row = rows[index + 1] ?? [];
          expect(row).toHaveLength(HEADER.length);
          const [date, session, relationship, goals, approach, overall, total, band, enteredBy] = row;
          expect(date).toBe(result.submittedAt);
          const guarded = /^[=+\-@\t\r]/.test(result.sessionId) ? `'${result.sessionId}` : result.sessionId;
          expect(session).toBe(guarded);
          expect([relationship, goals, approach, overall].map(cmToMm)).toEqual(result.items.map((item) => item.mm));
          // cm × 10 = mm, also as plain numbers: 73 / 10 and "7.3" are the same double.
          expect(Number(relationship)).toBe((result.items[0]?.mm ?? NaN) / 10);
          expect(cmToMm(total)).toBe(result.totalMm);
          expect(band).toBe(result.band);
          expect(enteredBy).toBe(result.enteredBy);
        });
      }),
    );
  });
});

describe('csvField', () => {
  it('leaves plain values alone', () => {
    expect(csvField('7.3')).toBe('7.3');
    expect(csvField('2025-03-01T10:00:00.000Z')).toBe('2025-03-01T10:00:00.000Z');
  });

  it('quotes commas, quotes and line breaks', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('a\nb')).toBe('"a\nb"');
  });

  it('defuses every formula-starting character', () => {
    for (const start of ['=', '+', '-', '@', '\t', '\r']) {
      const field = csvField(`${start}HYPERLINK("x")`);
      expect(field.replace(/^"/, '').startsWith("'")).toBe(true);
    }
  });
});
