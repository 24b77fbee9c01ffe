/**
 * Scoring in integer millimetres. A mark is measured from the left end of a 10 cm line to the
 * nearest millimetre, so every item is an integer 0–100 and the total an integer 0–400.
 * Floats never enter: centimetres exist only when a number is shown.
 */
import { SRS_ITEM_IDS, type ItemId } from './instruments.ts';

export const MM_MIN = 0;
export const MM_MAX = 100;

export const BANDS = { poor: 'poor', fair: 'fair', good: 'good' } as const;
export type Band = (typeof BANDS)[keyof typeof BANDS];

/** Lower bounds of the bands, in mm of the total (35.0 cm fair, 39.0 cm good). */
export const BAND_FLOORS_MM = { fair: 350, good: 390 } as const;

export interface ScoringOptions {
  /** An item strictly below this many mm is flagged for discussion. Default 90 (9.0 cm). */
  readonly flagBelowMm: number;
}

export const DEFAULT_SCORING: ScoringOptions = { flagBelowMm: 90 };

export type Marks = Readonly<Record<ItemId, number>>;
export type PartialMarks = Readonly<Record<ItemId, number | null>>;

export interface ItemScore {
  readonly id: ItemId;
  readonly mm: number;
}

export interface Score {
  readonly items: readonly ItemScore[];
  readonly totalMm: number;
  readonly band: Band;
  readonly flagged: readonly ItemId[];
}

export function isValidMm(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= MM_MIN && value <= MM_MAX;
}

/**
 * The band of a total. A total between two whole centimetres takes the band of the whole number
 * below it (34.9 → poor, 38.9 → fair): the rule errs towards showing a weak alliance.
 */
export function bandOf(totalMm: number): Band {
  if (totalMm >= BAND_FLOORS_MM.good) return BANDS.good;
  if (totalMm >= BAND_FLOORS_MM.fair) return BANDS.fair;
  return BANDS.poor;
}

export function isFlagged(mm: number, options: ScoringOptions = DEFAULT_SCORING): boolean {
  return mm < options.flagBelowMm;
}

/** Scores a complete rating. Throws a RangeError on any mark that is not an integer 0–100. */
export function scoreRating(marks: Marks, options: ScoringOptions = DEFAULT_SCORING): Score {
  const items = SRS_ITEM_IDS.map((id) => {
    const mm = marks[id];
    if (!isValidMm(mm)) throw new RangeError(`${id} must be an integer from ${MM_MIN} to ${MM_MAX} mm`);
    return { id, mm };
  });
  const totalMm = items.reduce((sum, item) => sum + item.mm, 0);
  return {
    items,
    totalMm,
    band: bandOf(totalMm),
    flagged: items.filter((item) => isFlagged(item.mm, options)).map((item) => item.id),
  };
}

/** The running total of the marks made so far, or null while no line is marked. */
export function partialTotalMm(marks: PartialMarks): number | null {
  let total: number | null = null;
  for (const id of SRS_ITEM_IDS) {
    const mm = marks[id];
    if (mm !== null) total = (total ?? 0) + mm;
  }
  return total;
}

/** True when every line carries a mark. */
export function isComplete(marks: PartialMarks): marks is Marks {
  return SRS_ITEM_IDS.every((id) => marks[id] !== null);
}

/** Millimetres as centimetres with one decimal: 73 → "7.3", 400 → "40.0". Integer arithmetic only. */
export function formatCm(mm: number): string {
  const sign = mm < 0 ? '-' : '';
  const abs = Math.abs(Math.trunc(mm));
  return `${sign}${Math.trunc(abs / 10)}.${abs % 10}`;
}

/** Centimetres (as typed by a person) to whole millimetres, or null if not a number 0.0–10.0. */
export function parseCm(text: string): number | null {
  const match = /^\s*(\d{1,2})(?:[.,](\d))?\s*$/.exec(text);
  if (!match) return null;
  const mm = Number(match[1]) * 10 + Number(match[2] ?? '0');
  return isValidMm(mm) ? mm : null;
}

export function emptyMarks(): Record<ItemId, number | null> {
  return { relationship: null, goals: null, approach: null, overall: null };
}

/** The marks of a scored rating, line by line. */
export function marksOfItems(items: readonly ItemScore[]): Record<ItemId, number | null> {
  const marks = emptyMarks();
  for (const item of items) marks[item.id] = item.mm;
  return marks;
}
