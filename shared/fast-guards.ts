/**
 * A hand-written check for the one message on the hot path, `mark:move`, which arrives up to
 * 60 times a second per line while a client drags. It accepts exactly what MarkMoveSchema
 * accepts (a property test holds the two together) without allocating, so parsing a live mark
 * costs no garbage.
 */
import type { ItemId } from './instruments.ts';
import type { MarkMove } from './protocol.ts';
import { MM_MAX, MM_MIN } from './scoring.ts';

function isItemId(value: unknown): value is ItemId {
  return value === 'relationship' || value === 'goals' || value === 'approach' || value === 'overall';
}

/** The payload itself when it is a valid `mark:move`, else null. */
export function asMarkMove(payload: unknown): MarkMove | null {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return null;
  const prototype: unknown = Object.getPrototypeOf(payload);
  if (prototype !== Object.prototype && prototype !== null) return null;
  let keys = 0;
  for (const key in payload) {
    if (key !== 'item' && key !== 'mm') return null;
    keys++;
  }
  if (keys !== 2) return null;
  const { item, mm } = payload as { item: unknown; mm: unknown };
  if (!isItemId(item) || typeof mm !== 'number' || !Number.isInteger(mm) || mm < MM_MIN || mm > MM_MAX) return null;
  return payload as MarkMove;
}
