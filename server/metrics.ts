/**
 * Prometheus metrics, in a registry of this app's own (never prom-client's global one), so that
 * several apps in one process (tests, a benchmark) each count for themselves. Metrics are made
 * only when a scrape token is configured; without one the code below is never reached and the
 * counting sites cost an optional-chaining check.
 *
 * The live path stays cheap: a relayed mark adds one to a plain number, which the counter reads
 * at scrape time; socket and session counts are read at scrape time, not kept on every change.
 * No metric carries a session id, a clientRef or any clinical value: labels are small fixed sets.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Role } from '../shared/protocol.ts';

/** Where a rate limit refused something. */
export const RATE_LIMIT_KINDS = ['mark', 'socket_request', 'session_request', 'join', 'http_api'] as const;
export type RateLimitKind = (typeof RATE_LIMIT_KINDS)[number];

export const WEBHOOK_OUTCOMES = ['delivered', 'failed'] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What the live relay knows at scrape time. */
export interface LiveCounts {
  socketsByRole(): Readonly<Record<Role, number>>;
  liveSessions(): number;
}

export class Metrics {
  readonly registry = new Registry();
  /** Coalesced live marks sent on to therapists (and other nodes); read at scrape time. */
  marksRelayed = 0;
  /** Live marks refused by the per-socket mark limit (a flood's hot path); read at scrape time. */
  marksRateLimited = 0;
  readonly submissionsStored: Counter;
  readonly submitSeconds: Histogram;
  readonly storeSeconds: Histogram<'operation'>;
  readonly storeErrors: Counter<'operation'>;
  readonly webhookDeliveries: Counter<'outcome'>;
  readonly rateLimitRefusals: Counter<'kind'>;
  #live: LiveCounts | undefined;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const metrics = this;
    new Gauge({
      name: 'srs_sockets_connected',
      help: 'Sockets joined to a live session on this node, by role.',
      labelNames: ['role'],
      registers,
      collect() {
        const counts = metrics.#live?.socketsByRole() ?? { client: 0, therapist: 0 };
        for (const [role, count] of Object.entries(counts)) this.set({ role }, count);
      },
    });
    new Gauge({
      name: 'srs_live_sessions',
      help: 'Sessions with a live room on this node (a socket connected or being admitted).',
      registers,
      collect() {
        this.set(metrics.#live?.liveSessions() ?? 0);
      },
    });
    let reportedMarks = 0;
    new Counter({
      name: 'srs_marks_relayed_total',
      help: 'Live marks relayed to therapists after coalescing.',
      registers,
      collect() {
        this.inc(metrics.marksRelayed - reportedMarks);
        reportedMarks = metrics.marksRelayed;
      },
    });
    this.submissionsStored = new Counter({
      name: 'srs_submissions_stored_total',
      help: 'Ratings stored (a retried submission is not counted again).',
      registers,
    });
    this.submitSeconds = new Histogram({
      name: 'srs_submit_duration_seconds',
      help: 'From receiving rating:submit to sending its acknowledgement (the result is on disk first).',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.storeSeconds = new Histogram({
      name: 'srs_store_duration_seconds',
      help: 'Store operations, by operation.',
      labelNames: ['operation'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.storeErrors = new Counter({
      name: 'srs_store_errors_total',
      help: 'Store operations that failed, by operation.',
      labelNames: ['operation'],
      registers,
    });
    this.webhookDeliveries = new Counter({
      name: 'srs_webhook_deliveries_total',
      help: 'Webhook delivery attempts, by outcome.',
      labelNames: ['outcome'],
      registers,
    });
    let reportedMarksLimited = 0;
    this.rateLimitRefusals = new Counter({
      name: 'srs_rate_limit_refusals_total',
      help: 'Requests refused by a rate limit, by kind: live marks, socket requests, session requests, joins, HTTP API calls.',
      labelNames: ['kind'],
      registers,
      collect() {
        this.inc({ kind: 'mark' }, metrics.marksRateLimited - reportedMarksLimited);
        reportedMarksLimited = metrics.marksRateLimited;
      },
    });
    // Every label value from the start, so that rate() and absent() see a zero before the first event.
    for (const kind of RATE_LIMIT_KINDS) this.rateLimitRefusals.inc({ kind }, 0);
    for (const outcome of WEBHOOK_OUTCOMES) this.webhookDeliveries.inc({ outcome }, 0);
  }

  /** Tells the scrape where the live counts come from (the relay, once it exists). */
  observeLive(live: LiveCounts): void {
    this.#live = live;
  }

  rateLimited(kind: RateLimitKind): void {
    this.rateLimitRefusals.inc({ kind });
  }

  /** The Prometheus text exposition and its content type. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
