/**
 * The trend over sessions, as data: which totals to draw, where, and which of them to raise.
 * Pure, so the chart (trend-chart.ts) only draws what this decides.
 */
import type { Result } from '../../shared/protocol.ts';
import { MM_MAX } from '../../shared/scoring.ts';
import { SRS_ITEM_IDS } from '../../shared/instruments.ts';

export const TOTAL_MAX_MM = MM_MAX * SRS_ITEM_IDS.length;

/** The chart shows at most this many sessions, the newest. */
export const MAX_POINTS = 20;

export interface TrendOptions {
  /** A total strictly below this is below the clinical cutoff (a guide). Default 360 (36.0). */
  readonly cutoffMm: number;
  /** A fall of at least this from the previous total is worth raising. Default 10 (1.0). */
  readonly dropMm: number;
}

export const DEFAULT_TREND: TrendOptions = { cutoffMm: 360, dropMm: 10 };

export interface Trend {
  /** The results drawn, oldest first. */
  readonly results: readonly Result[];
  /** How many stored results there are in all (more than drawn when the history is long). */
  readonly count: number;
  /** The newest result, which the alerts are about. */
  readonly latest: Result | null;
  /** How far the newest total fell from the one before, in mm, when at least `dropMm`. */
  readonly dropMm: number | null;
  /** True when the newest total is below the cutoff. */
  readonly belowCutoff: boolean;
  /** True when no result came before the newest one (or there is none). */
  readonly firstRating: boolean;
}

/**
 * The history with this session's result added if the server's answer predates it (the
 * `rating:submitted` and the history can cross), oldest first, without duplicates.
 */
export function withToday(history: readonly Result[], today: Result | null): Result[] {
  const results = history.filter((result, index) => history.findIndex((other) => other.submissionId === result.submissionId) === index);
  if (today && !results.some((result) => result.submissionId === today.submissionId)) results.push(today);
  return results;
}

export function trendOf(results: readonly Result[], options: TrendOptions = DEFAULT_TREND): Trend {
  const latest = results.at(-1) ?? null;
  const previous = results.at(-2) ?? null;
  const fall = latest && previous ? previous.totalMm - latest.totalMm : 0;
  return {
    results: results.slice(-MAX_POINTS),
    count: results.length,
    latest,
    dropMm: fall >= options.dropMm && fall > 0 ? fall : null,
    belowCutoff: latest !== null && latest.totalMm < options.cutoffMm,
    firstRating: previous === null,
  };
}

/** Chart geometry in SVG user units: a 0–40 axis, sessions evenly spread, oldest on the left. */
export const CHART = { width: 320, height: 180, left: 30, right: 44, top: 10, bottom: 10 } as const;

export function yOf(totalMm: number): number {
  const plot = CHART.height - CHART.top - CHART.bottom;
  return CHART.top + ((TOTAL_MAX_MM - totalMm) / TOTAL_MAX_MM) * plot;
}

export function xOf(index: number, count: number): number {
  const plot = CHART.width - CHART.left - CHART.right;
  return count <= 1 ? CHART.left + plot / 2 : CHART.left + (index * plot) / (count - 1);
}

/** A threshold in mm as the clinicians say it: 360 → "36", 355 → "35.5". */
export function formatThreshold(mm: number): string {
  return mm % 10 === 0 ? String(mm / 10) : `${Math.trunc(mm / 10)}.${mm % 10}`;
}
