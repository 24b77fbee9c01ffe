import { parseCm } from '../../shared/scoring.ts';

/**
 * Why a rating typed by the therapist is not accepted, or '' when it is: a number of cm from
 * 0.0 to 10.0 with at most one decimal, read by the same `parseCm` as everywhere else.
 * `badInput` is the browser's word that a number input holds something that is not a number.
 */
export function problemOf(text: string, label: string, badInput = false): string {
  if (!badInput && text.trim() === '') return `Enter the client's rating for ${label}.`;
  return parseCm(text) === null ? 'Enter a number from 0.0 to 10.0 with at most one decimal, such as 7.5.' : '';
}
