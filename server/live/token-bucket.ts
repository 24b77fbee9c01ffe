/** A token bucket: `capacity` events at once, refilled at `refillPerSecond`. */
export class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(
    readonly capacity: number,
    readonly refillPerSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    this.#tokens = capacity;
    this.#last = now();
  }

  /** Takes one token; false when the bucket is empty (the event is over the limit). */
  take(): boolean {
    const now = this.now();
    this.#tokens = Math.min(this.capacity, this.#tokens + ((now - this.#last) / 1000) * this.refillPerSecond);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

export interface RateLimits {
  /** Live marks per socket: a drag sends at most one per line per frame (4 × 60/s). */
  readonly marks: { readonly capacity: number; readonly perSecond: number };
  /** Submissions (including retries), starts, withdrawals and reads per socket. */
  readonly requests: { readonly capacity: number; readonly perSecond: number };
  /** Acknowledged requests of a whole session, whichever socket sends them. */
  readonly sessionRequests: { readonly capacity: number; readonly perSecond: number };
  /** (Re)connections of a whole session, whichever token makes them. */
  readonly sessionJoins: { readonly capacity: number; readonly perSecond: number };
  /** Platform API requests per client address (the proxy's client, with SRS_TRUST_PROXY). */
  readonly http: { readonly capacity: number; readonly perSecond: number };
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  marks: { capacity: 400, perSecond: 250 },
  requests: { capacity: 20, perSecond: 2 },
  // One client and up to three therapist sockets share these; a session changes state a few times
  // in its life, and a flood of changes must not turn into a flood of broadcasts.
  sessionRequests: { capacity: 30, perSecond: 3 },
  // Loads, reloads and reconnections after a network blip; not a connection a second for long.
  sessionJoins: { capacity: 20, perSecond: 0.5 },
  // A platform's back end creates every session from one address: generous, but bounded.
  http: { capacity: 600, perSecond: 100 },
};
