/**
 * Delivers the webhook outbox: every stored result is POSTed to the platform's URL, signed, and
 * retried with exponential back-off until the platform answers 2xx. The outbox lives in the store
 * (saveResult enqueues in the same transaction), so a crash or a restart loses nothing: the next
 * round picks up whatever is still due. Delivery is at least once; `webhook-id` (the
 * submissionId) is the same on every attempt and lets a receiver drop repeats.
 *
 * Signature: Standard Webhooks (https://www.standardwebhooks.com/), so a receiver verifies with an
 * off-the-shelf library in its own language: `webhook-signature: v1,<base64 HMAC-SHA256(key,
 * "<webhook-id>.<webhook-timestamp>.<raw body>")>`. Signing the id and the timestamp with the body
 * lets a receiver refuse replays of old deliveries.
 */
import { Webhook } from 'standardwebhooks';
import type { Result } from '../../shared/protocol.ts';
import { silentLogger, type Logger } from '../logging.ts';
import type { PendingWebhook, Store } from '../store/store.ts';

export interface WebhookDispatcherOptions {
  readonly store: Store;
  /** Where results are POSTed. */
  readonly url: string;
  /** The key shared with the platform, as SRS_WEBHOOK_SECRET gives it: see {@link webhookSigner}. */
  readonly secret: string;
  readonly fetch?: typeof fetch;
  readonly now?: () => Date;
  /** How often the loop looks for due deliveries when nothing wakes it. Default 5 s. */
  readonly pollIntervalMs?: number;
  /** The first retry's delay; each failure doubles it. Default 1 s. */
  readonly baseBackoffMs?: number;
  /** The longest delay between retries. Default 10 min. */
  readonly maxBackoffMs?: number;
  /** How long one POST may take. Default 5 s. */
  readonly timeoutMs?: number;
  /** Deliveries attempted per round. Default 20. */
  readonly batchSize?: number;
  /**
   * Failed attempts are logged at warn: the submissionId, the attempt, the HTTP status or the kind
   * of error, and when the next attempt is due. Never the body, the signature or the secret.
   */
  readonly logger?: Logger;
}

export interface DeliveryRound {
  readonly delivered: number;
  readonly failed: number;
}

export interface WebhookBody {
  readonly event: 'result.stored';
  readonly result: Result;
}

export const WEBHOOK_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
} as const;

/** The prefix of a Standard Webhooks secret: the base64 of the key follows it. */
export const STANDARD_SECRET_PREFIX = 'whsec_';

/**
 * The Standard Webhooks signer for SRS_WEBHOOK_SECRET. A `whsec_…` secret is a Standard Webhooks
 * secret: the key is the base64 after the prefix, and receivers' libraries take it as is. Any
 * other string is taken as raw key bytes (its UTF-8), which is what the earlier signatures used:
 * a receiver passes it with the library's `{ format: 'raw' }`, or as `whsec_` + its base64.
 */
export function webhookSigner(secret: string): Webhook {
  if (secret.startsWith(STANDARD_SECRET_PREFIX)) return new Webhook(secret);
  // As bytes: the library's raw string form keeps only the low byte of each UTF-16 unit.
  return new Webhook(new Uint8Array(Buffer.from(secret, 'utf8')), { format: 'raw' });
}

/** The delay before retry number `attempts` (1-based): base, 2 × base, 4 × base …, capped. */
export function backoffMs(attempts: number, baseMs: number, maxMs: number): number {
  const exponent = Math.min(Math.max(attempts - 1, 0), 40);
  return Math.min(baseMs * 2 ** exponent, maxMs);
}

/** A short, value-free kind of error for a failed attempt (the error's own message may echo the URL). */
function describeError(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'timeout';
    const cause: unknown = error.cause;
    if (cause instanceof Error && 'code' in cause && typeof cause.code === 'string') return `network error ${cause.code}`;
    return `network error (${error.name})`;
  }
  return 'network error';
}

/** What went wrong with one attempt: the receiver's status, or the kind of error when there was no answer. */
type Failure = { readonly status: number } | { readonly error: string };

const failureText = (failure: Failure) => ('status' in failure ? `HTTP ${failure.status}` : failure.error);

export class WebhookDispatcher {
  readonly #store: Store;
  readonly #url: string;
  readonly #signer: Webhook;
  readonly #fetch: typeof fetch;
  readonly #now: () => Date;
  readonly #pollIntervalMs: number;
  readonly #baseBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #timeoutMs: number;
  readonly #batchSize: number;
  readonly #logger: Logger;

  #running = false;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #inFlight: Promise<DeliveryRound> | null = null;
  #ticking = false;
  /** Set by notify() during the loop's round: run another as soon as this one ends. */
  #wakeAgain = false;
  /** Aborted by stop() once its grace is over: the POSTs still in flight are given up. */
  #halt = new AbortController();

  constructor(options: WebhookDispatcherOptions) {
    this.#store = options.store;
    this.#url = options.url;
    this.#signer = webhookSigner(options.secret);
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#now = options.now ?? (() => new Date());
    this.#pollIntervalMs = options.pollIntervalMs ?? 5_000;
    this.#baseBackoffMs = options.baseBackoffMs ?? 1_000;
    this.#maxBackoffMs = options.maxBackoffMs ?? 10 * 60_000;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#batchSize = options.batchSize ?? 20;
    this.#logger = options.logger ?? silentLogger();
  }

  /** Starts the delivery loop. Its timers are unref'd: they never keep the process alive. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    if (this.#halt.signal.aborted) this.#halt = new AbortController();
    this.#schedule(0);
  }

  /** Wakes the loop now, e.g. right after a result is stored. Never throws, never waits. */
  notify(): void {
    if (!this.#running) return;
    if (this.#ticking) this.#wakeAgain = true;
    else this.#schedule(0);
  }

  /**
   * Stops the loop and waits for a round in flight to finish. A POST still unanswered after
   * `graceMs` (default: the POST's own timeout) is given up without counting as an attempt: its
   * delivery stays due in the outbox, for another node or the next start.
   */
  async stop(options: { readonly graceMs?: number } = {}): Promise<void> {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const round = this.#inFlight;
    if (!round) return;
    const halt = setTimeout(() => this.#halt.abort(), options.graceMs ?? this.#timeoutMs);
    try {
      await round.catch(() => undefined);
    } finally {
      clearTimeout(halt);
    }
  }

  /**
   * One round: attempts every due delivery (up to the batch size). Concurrent calls share the
   * round in flight, so one delivery is never POSTed twice at once.
   */
  deliverDue(): Promise<DeliveryRound> {
    this.#inFlight ??= this.#round().finally(() => {
      this.#inFlight = null;
    });
    return this.#inFlight;
  }

  async #round(): Promise<DeliveryRound> {
    const due = await this.#store.listDueWebhooks(this.#now().toISOString(), this.#batchSize);
    const outcomes = await Promise.all(due.map((pending) => this.#deliver(pending)));
    const delivered = outcomes.filter(Boolean).length;
    return { delivered, failed: outcomes.length - delivered };
  }

  async #deliver(pending: PendingWebhook): Promise<boolean> {
    const body = JSON.stringify({ event: 'result.stored', result: pending.result } satisfies WebhookBody);
    // The id is the outbox row's key: every attempt at this delivery carries the same one.
    const id = pending.submissionId;
    const signedAt = this.#now();
    let failure: Failure;
    try {
      const response = await this.#fetch(this.#url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [WEBHOOK_HEADERS.id]: id,
          [WEBHOOK_HEADERS.timestamp]: String(Math.floor(signedAt.getTime() / 1000)),
          [WEBHOOK_HEADERS.signature]: this.#signer.sign(id, signedAt, body),
        },
        body,
        // A redirect is a failure to retry, not a reason to send a signed result somewhere else.
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(this.#timeoutMs), this.#halt.signal]),
      });
      await response.body?.cancel().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) {
        await this.#store.markWebhookDelivered(pending.submissionId, this.#now().toISOString());
        return true;
      }
      failure = { status: response.status };
    } catch (error) {
      if (this.#halt.signal.aborted) {
        this.#logger.info(
          { event: 'webhook.left-pending', submissionId: pending.submissionId },
          'webhook delivery given up at shutdown; it stays in the outbox',
        );
        return false;
      }
      failure = { error: describeError(error) };
    }
    const attempts = pending.attempts + 1;
    const delay = backoffMs(attempts, this.#baseBackoffMs, this.#maxBackoffMs);
    const nextAttemptAt = new Date(this.#now().getTime() + delay).toISOString();
    await this.#store.rescheduleWebhook(pending.submissionId, attempts, nextAttemptAt, failureText(failure));
    this.#logger.warn(
      { event: 'webhook.failed', submissionId: pending.submissionId, attempt: attempts, ...failure, nextAttemptAt },
      `webhook delivery failed (${failureText(failure)}); attempt ${attempts + 1} at ${nextAttemptAt}`,
    );
    return false;
  }

  async #tick(): Promise<void> {
    this.#timer = null;
    this.#ticking = true;
    let round: DeliveryRound | null = null;
    try {
      // A round started elsewhere may have listed the outbox before the result we were woken for.
      await this.#inFlight?.catch(() => undefined);
      if (this.#running) round = await this.deliverDue();
    } catch (error) {
      this.#logger.error({ event: 'webhook.round-failed', err: error }, 'webhook round failed');
    } finally {
      this.#ticking = false;
    }
    if (!this.#running) return;
    // A full batch means more may be due; a notify() during the round means a new result is.
    const more = this.#wakeAgain || (round !== null && round.delivered + round.failed >= this.#batchSize);
    this.#wakeAgain = false;
    this.#schedule(more ? 0 : this.#pollIntervalMs);
  }

  #schedule(delayMs: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#tick(), delayMs);
    this.#timer.unref();
  }
}
