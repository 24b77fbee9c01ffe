/**
 * The load generator: one streaming run (N sessions, every client streams `mark:move` at R Hz for
 * D seconds; latency at the therapist, CPU per delivered mark at the server), and one idle run
 * (N sessions that only stay connected; server RSS per session). Each run starts its own server
 * child and stops it, with every socket closed, before it returns.
 */
import { performance } from 'node:perf_hooks';
import { SRS_ITEM_IDS, type ItemId } from '../shared/instruments.ts';
import type { MarkMove } from '../shared/protocol.ts';
import { openFleet, type Fleet } from './fleet.ts';
import { startServer, type System } from './server-process.ts';
import type { ServerStats } from './server-stats.ts';

export interface StreamOptions {
  readonly sessions: number;
  readonly rate: number;
  readonly seconds: number;
  /** How long to wait for the last marks after the streaming ends. */
  readonly drainMs?: number;
  /** Streaming before the measurement starts, unmeasured (default 1 s). */
  readonly warmupSeconds?: number;
  readonly batch?: number;
  readonly log?: (line: string) => void;
}

export interface StreamFigures {
  readonly system: System;
  readonly sessions: number;
  readonly rate: number;
  readonly seconds: number;
  /** Server CPU time (user + system) during the streaming, per delivered mark. */
  readonly cpuUsPerMark: number;
  /** Server CPU per mark sent: the fair figure when a server coalesces (it handled every mark it received). */
  readonly cpuUsPerSentMark: number;
  /** CPU per delivered mark, split: user (JavaScript, GC) and system (mostly the kernel's socket writes). */
  readonly cpuUserUsPerMark: number;
  readonly cpuSystemUsPerMark: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly sent: number;
  readonly delivered: number;
  /** sent − delivered, after the drain. */
  readonly lost: number;
  /** Lost marks whose line had a later mark delivered: coalesced by the server (latest wins). */
  readonly superseded: number;
  /** Deliveries that matched no pending send (duplicates); should be 0. */
  readonly unmatched: number;
  /** Server RSS growth from before the sockets connected to after, per session (2 sockets). */
  readonly rssPerSessionKb: number;
  readonly eventLoopP99Ms: number;
  /** The load generator's own CPU over the streaming, % of one core (near 100 % = it is the bottleneck). */
  readonly generatorCpuPct: number;
  readonly droppedSockets: number;
  /** `srs:error` refusals over the whole run (ours only: rate limits, a rating not open…). */
  readonly refusals: number;
}

export interface IdleFigures {
  readonly system: System;
  readonly sessions: number;
  readonly sockets: number;
  readonly rssPerSessionKb: number;
  readonly heapPerSessionKb: number;
  /** Server CPU while the sessions sit idle, % of one core. */
  readonly idleCpuPct: number;
  readonly connectSeconds: number;
  readonly droppedSockets: number;
}

/**
 * `mm` must be an integer 0–100, so a mark carries a sequence number modulo 404: the item
 * (4 lines) and the mm (101 values). Per session, the send time of each pending code; at 10 Hz a
 * code comes back round after 40 s, far beyond any latency we could accept.
 */
const MM_VALUES = 101;
const SEQ_SPACE = SRS_ITEM_IDS.length * MM_VALUES;
const ITEM_INDEX = new Map<ItemId, number>(SRS_ITEM_IDS.map((id, index) => [id, index]));

export async function runStreaming(system: System, options: StreamOptions): Promise<StreamFigures> {
  const { sessions: count, rate, seconds } = options;
  const log = options.log ?? (() => {});
  const server = await startServer(system);
  let fleet: Fleet | undefined;
  try {
    const empty = await server.stats({ gc: true });
    const connectStart = performance.now();
    fleet = await openFleet(server, count, { batch: options.batch ?? 200 });
    log(`${system}: ${count} sessions connected in ${((performance.now() - connectStart) / 1000).toFixed(1)} s`);

    const total = count * rate * seconds;
    const pending = Array.from({ length: count }, () => new Float64Array(SEQ_SPACE).fill(Number.NaN));
    const sequence = new Uint32Array(count);
    const latencies = new Float64Array(total);
    let delivered = 0;
    let unmatched = 0;
    let measuring = false;
    // Per session and line, the send time of the newest mark delivered.
    const newestDelivered = new Float64Array(count * SRS_ITEM_IDS.length).fill(-Infinity);
    for (const session of fleet.sessions) {
      const times = pending[session.index] as Float64Array;
      session.therapist.on('mark:moved', (payload: MarkMove) => {
        if (!measuring) return;
        const now = performance.now();
        const code = (ITEM_INDEX.get(payload.item) ?? 0) * MM_VALUES + payload.mm;
        const sentAt = times[code] ?? Number.NaN;
        if (Number.isNaN(sentAt)) {
          unmatched++;
          return;
        }
        times[code] = Number.NaN;
        const line = session.index * SRS_ITEM_IDS.length + Math.floor(code / MM_VALUES);
        if (sentAt > (newestDelivered[line] as number)) newestDelivered[line] = sentAt;
        if (delivered < total) latencies[delivered] = now - sentAt;
        delivered++;
      });
    }
    const send = (index: number) => {
      const code = (sequence[index] as number) % SEQ_SPACE;
      sequence[index] = (sequence[index] as number) + 1;
      const item = SRS_ITEM_IDS[Math.floor(code / MM_VALUES)] as ItemId;
      (pending[index] as Float64Array)[code] = performance.now();
      // Volatile, as the widget sends a drag: a mark that cannot leave at once is dropped.
      fleet?.sessions[index]?.client.volatile.emit('mark:move', { item, mm: code % MM_VALUES });
    };

    const connected = await server.stats({ gc: true });
    // Warm up (JIT, buffers) on the same schedule, unmeasured; then forget what is in flight.
    const warmupSeconds = options.warmupSeconds ?? 1;
    if (warmupSeconds > 0) {
      await stream(count, rate, warmupSeconds, send);
      await sleep(500);
      for (const times of pending) times.fill(Number.NaN);
    }
    measuring = true;
    // The GC runs before the CPU is read, so its cost stays out of the streaming figure.
    const start = await server.stats({ gc: true, resetEventLoop: true });
    const generatorBefore = process.cpuUsage();
    const streamStart = performance.now();
    await stream(count, rate, seconds, send);
    const sent = total;
    const drainUntil = performance.now() + (options.drainMs ?? 1000);
    while (delivered + unmatched < sent && performance.now() < drainUntil) await sleep(5);
    const after = await server.stats();
    const generatorCpu = process.cpuUsage(generatorBefore);
    const streamMs = performance.now() - streamStart;

    let superseded = 0;
    pending.forEach((times, index) => {
      times.forEach((sentAt, code) => {
        const line = index * SRS_ITEM_IDS.length + Math.floor(code / MM_VALUES);
        if (!Number.isNaN(sentAt) && sentAt < (newestDelivered[line] as number)) superseded++;
      });
    });
    const measured = latencies.subarray(0, Math.min(delivered, total)).sort();
    return {
      system,
      sessions: count,
      rate,
      seconds,
      cpuUsPerMark: delivered > 0 ? (cpuMicros(after) - cpuMicros(start)) / delivered : 0,
      cpuUsPerSentMark: (cpuMicros(after) - cpuMicros(start)) / sent,
      cpuUserUsPerMark: delivered > 0 ? (after.cpu.user - start.cpu.user) / delivered : 0,
      cpuSystemUsPerMark: delivered > 0 ? (after.cpu.system - start.cpu.system) / delivered : 0,
      latencyMs: { p50: percentile(measured, 0.5), p99: percentile(measured, 0.99), max: measured.at(-1) ?? 0 },
      sent,
      delivered,
      lost: sent - delivered,
      superseded,
      unmatched,
      rssPerSessionKb: (connected.rss - empty.rss) / count / 1024,
      eventLoopP99Ms: after.eventLoopP99Ms,
      generatorCpuPct: ((generatorCpu.user + generatorCpu.system) / 1000 / streamMs) * 100,
      droppedSockets: fleet.droppedSockets(),
      refusals: Object.values(fleet.refusals()).reduce((sum, n) => sum + n, 0),
    };
  } finally {
    await fleet?.close();
    await server.stop();
  }
}

export async function runIdle(system: System, count: number, holdSeconds = 3, log: (line: string) => void = () => {}): Promise<IdleFigures> {
  const server = await startServer(system);
  let fleet: Fleet | undefined;
  try {
    const empty = await server.stats({ gc: true });
    const connectStart = performance.now();
    fleet = await openFleet(server, count, { batch: 200 });
    const connectSeconds = (performance.now() - connectStart) / 1000;
    log(`${system}: ${count} idle sessions (${2 * count} sockets) connected in ${connectSeconds.toFixed(1)} s`);
    const holdStart = await server.stats({ gc: true });
    const started = performance.now();
    await sleep(holdSeconds * 1000);
    // CPU first, then memory: the collection that precedes the memory reading must not count as idle CPU.
    const heldCpu = await server.stats();
    const heldMs = performance.now() - started;
    const held = await server.stats({ gc: true });
    return {
      system,
      sessions: count,
      sockets: 2 * count,
      rssPerSessionKb: (held.rss - empty.rss) / count / 1024,
      heapPerSessionKb: (held.heapUsed - empty.heapUsed) / count / 1024,
      idleCpuPct: ((cpuMicros(heldCpu) - cpuMicros(holdStart)) / 1000 / heldMs) * 100,
      connectSeconds,
      droppedSockets: fleet.droppedSockets(),
    };
  } finally {
    await fleet?.close();
    await server.stop();
  }
}

/**
 * Every client sends once per period, its start spread evenly over the first period: mark j
 * (session j mod N) is due at j·period/N. One timer loop sends whatever is due, so the schedule
 * never drifts, whatever the timers' granularity.
 */
function stream(count: number, rate: number, seconds: number, send: (index: number) => void): Promise<void> {
  const total = count * rate * seconds;
  const spacing = 1000 / rate / count;
  const start = performance.now();
  let next = 0;
  return new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      // After a stall, catch up by at most one period per turn: a second volatile emit on the same
      // socket in the same tick would find its transport busy and be dropped by the client itself.
      const stop = Math.min(total, next + count);
      while (next < stop && start + next * spacing <= now) {
        send(next % count);
        next++;
      }
      if (next >= total) return resolve();
      const wait = start + next * spacing - performance.now();
      if (wait <= 0) setImmediate(tick);
      else setTimeout(tick, wait);
    };
    tick();
  });
}

function cpuMicros(stats: ServerStats): number {
  return stats.cpu.user + stats.cpu.system;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: ArrayLike<number>, fraction: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank] as number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
