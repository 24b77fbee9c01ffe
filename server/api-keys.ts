/**
 * Platform API keys. Each key's label is its tenant. Keys are checked against the SHA-256 hashes
 * of the configured keys, held in memory only: a key is valid exactly while it is configured.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';

export interface ApiKey {
  readonly label: string;
  readonly key: string;
}

/** The tenant of the demo page's own key; no configured key may take its label. */
export const DEMO_TENANT = 'demo';

/** What a key lets its holder do. */
export interface KeyGrant {
  /** Whose sessions and clients the key acts on: its label. */
  readonly tenant: string;
  /** The demo page's key, which a browser holds, may only create sessions. */
  readonly createOnly: boolean;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function generateApiKey(): string {
  return `srs_${randomBytes(24).toString('base64url')}`;
}

/**
 * The demo page's key, made from the token secret rather than drawn at random: every node of a
 * deployment shares that secret, so a page served by one node can create its session through
 * another. It is never configured and never printed, and it can only create demo sessions.
 */
export function demoApiKeyFor(tokenSecret: string): string {
  return `srs_demo_${createHmac('sha256', tokenSecret).update('srs-live: the demo page API key').digest('base64url')}`;
}

export class ApiKeyRing {
  readonly #grants = new Map<string, KeyGrant>();

  /** Throws when a label is reserved or unusable, or when one key is configured under two labels. */
  constructor(keys: readonly ApiKey[], demoKey?: string) {
    for (const { label, key } of keys) {
      if (label === DEMO_TENANT) throw new Error(`API key label "${DEMO_TENANT}" is reserved for the demo page's own key: give the key another label`);
      // The audit trail names a key's holder `api:<label>`, and a colon marks tenants no key can be.
      if (label.length === 0 || label.includes(':')) throw new Error('an API key label must be non-empty and contain no colon');
      this.#add(key, { tenant: label, createOnly: false });
    }
    if (demoKey !== undefined) this.#add(demoKey, { tenant: DEMO_TENANT, createOnly: true });
  }

  /** What the key may do, or null for a key that is not configured. */
  find(key: string): KeyGrant | null {
    return this.#grants.get(hashApiKey(key)) ?? null;
  }

  #add(key: string, grant: KeyGrant): void {
    const hash = hashApiKey(key);
    const existing = this.#grants.get(hash);
    // Rotation may give a label two keys; one key under two labels would have no single tenant.
    if (existing && existing.tenant !== grant.tenant) {
      throw new Error(`the API keys labelled "${existing.tenant}" and "${grant.tenant}" are the same key: give each tenant its own`);
    }
    this.#grants.set(hash, grant);
  }
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
