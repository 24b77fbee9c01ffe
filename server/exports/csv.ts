/**
 * Results as CSV (RFC 4180) for the clinicians' own spreadsheets: one header row, one row per
 * result, CRLF line ends. Scores are shown as a person reads them, in centimetres with one
 * decimal, straight from the stored integer millimetres (formatCm does integer arithmetic only).
 */
import { SRS_ITEM_IDS, type ItemId } from '../../shared/instruments.ts';
import type { Result } from '../../shared/protocol.ts';
import { formatCm } from '../../shared/scoring.ts';

export const CSV_COLUMNS = ['date', 'session', ...SRS_ITEM_IDS, 'total', 'band', 'entered_by'] as const;

const CRLF = '\r\n';

/**
 * A cell that a spreadsheet would read as a formula (or that starts with a control character some
 * spreadsheets strip before doing so) gets a leading apostrophe: the OWASP advice against CSV
 * injection. Our ids are pseudonymous and validated, but an export must not trust that.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/** Fields with a quote, comma or line break are quoted, and their quotes doubled (RFC 4180 §2). */
const NEEDS_QUOTES = /[",\r\n]/;

export function csvField(value: string): string {
  const guarded = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(guarded) ? `"${guarded.replaceAll('"', '""')}"` : guarded;
}

function itemCm(result: Result, id: ItemId): string {
  const item = result.items.find((candidate) => candidate.id === id);
  return item === undefined ? '' : formatCm(item.mm);
}

function row(fields: readonly string[]): string {
  return fields.map(csvField).join(',') + CRLF;
}

export function resultsToCsv(results: readonly Result[]): string {
  let csv = row(CSV_COLUMNS);
  for (const result of results) {
    csv += row([
      result.submittedAt,
      result.sessionId,
      ...SRS_ITEM_IDS.map((id) => itemCm(result, id)),
      formatCm(result.totalMm),
      result.band,
      result.enteredBy,
    ]);
  }
  return csv;
}
