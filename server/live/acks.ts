/** Answers to the peer: acknowledgements and `srs:error` events, never exceptions. */
import type { z } from 'zod';
import { ERROR_CODES, type ErrorCode, type ProtocolError } from '../../shared/protocol.ts';

/** Calls an ack only if the peer sent one: an event without a callback must not crash the server. */
export function answer(ack: unknown, response: unknown): void {
  if (typeof ack === 'function') (ack as (value: unknown) => void)(response);
}

export function refusal(code: ErrorCode, message: string): { ok: false; error: ProtocolError } {
  return { ok: false, error: { code, message } };
}

export function invalid(error: z.ZodError): { ok: false; error: ProtocolError } {
  return refusal(ERROR_CODES.invalidPayload, describeIssues(error));
}

export function describeIssues(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid payload';
  const path = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return `${path}${issue.message}`.slice(0, 200);
}
