/** Platform API keys: only their SHA-256 hashes are kept, in memory and in the store. */
import { createHash, randomBytes } from 'node:crypto';

export interface ApiKey {
  readonly label: string;
  readonly key: string;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function generateApiKey(): string {
  return `srs_${randomBytes(24).toString('base64url')}`;
}

/**
 * Parses `SRS_API_KEYS`: comma-separated `label:key` pairs (or bare keys, labelled key1, key2…).
 */
export function parseApiKeys(value: string): ApiKey[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((part, index) => {
      const colon = part.indexOf(':');
      return colon > 0 ? { label: part.slice(0, colon), key: part.slice(colon + 1) } : { label: `key${index + 1}`, key: part };
    });
}
