/**
 * What a webhook may be sent to, and with what key. A delivery carries a client's scores: over
 * plain http it crosses the network readable and alterable by anyone on the path, so the URL
 * must be https://, except to this machine itself (a local relay, a test receiver).
 */
import { isIPv4 } from 'node:net';

/** The shortest webhook secret: the same bar as the token secret, HMAC keys below it are guessable sooner. */
export const MIN_WEBHOOK_SECRET_LENGTH = 32;

/** The shortest key a `whsec_` secret may carry, in bytes: Standard Webhooks asks for 24 to 64. */
export const MIN_STANDARD_SECRET_BYTES = 24;

/**
 * Why `secret` may not sign webhooks, or null when it may. A `whsec_…` secret must carry base64
 * (which receivers' libraries decode, refusing anything else) of a key long enough; any other
 * string is raw key bytes, and only its length is checked (by the configuration).
 */
export function webhookSecretProblem(secret: string): string | null {
  if (!secret.startsWith('whsec_')) return null;
  const encoded = secret.slice('whsec_'.length);
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(encoded)) return 'after whsec_ must be base64';
  if (Buffer.from(encoded, 'base64').length < MIN_STANDARD_SECRET_BYTES)
    return `after whsec_ must be the base64 of at least ${MIN_STANDARD_SECRET_BYTES} bytes`;
  return null;
}

/** 127.0.0.0/8, ::1 and localhost. A name that merely starts with them (127.0.0.1.example) is not. */
export function isLoopbackHost(hostname: string): boolean {
  const name = hostname.toLowerCase();
  if (name === 'localhost' || name === '[::1]') return true;
  return isIPv4(name) && name.startsWith('127.');
}

/** Why `url` may not receive webhooks, or null when it may. */
export function webhookUrlProblem(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (parsed.protocol === 'https:') return null;
  if (parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname)) return null;
  if (parsed.protocol === 'http:') return 'must be https:// (plain http is allowed only to 127.0.0.1, ::1 or localhost)';
  return 'must be an https:// URL';
}
