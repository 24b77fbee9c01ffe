/**
 * The IPC contract between the benchmark (parent) and a server under test (child process).
 * The child reports its own CPU time, RSS and event-loop delay, so the parent can read them just
 * before and just after a phase without touching /proc.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** The event-loop delay sampling interval; the histogram's values include it, and we subtract it. */
export const ELD_RESOLUTION_MS = 10;

export type StatsRequest =
  | {
      readonly type: 'stats';
      readonly id: number;
      /** Restart the event-loop delay histogram after reading it. */
      readonly resetEventLoop?: boolean;
      /** Collect garbage before reading the RSS (memory phases only: a full GC costs CPU). */
      readonly gc?: boolean;
    }
  | { readonly type: 'shutdown' };

export interface ServerStats {
  readonly type: 'stats';
  readonly id: number;
  /** process.cpuUsage(), microseconds. */
  readonly cpu: { readonly user: number; readonly system: number };
  readonly rss: number;
  readonly heapUsed: number;
  /** p99 and max lateness of the event loop since the last reset, ms (sampling interval removed). */
  readonly eventLoopP99Ms: number;
  readonly eventLoopMaxMs: number;
}

/** The first line a server child prints on stdout. */
export interface ReadyLine {
  readonly ready: true;
  readonly port: number;
}

export function isStatsRequest(message: unknown): message is StatsRequest {
  if (typeof message !== 'object' || message === null) return false;
  const type = (message as Record<string, unknown>)['type'];
  return type === 'stats' || type === 'shutdown';
}

/**
 * Answers the parent's stats requests over IPC; calls `shutdown` on request (or when the parent
 * goes away) and exits once it has settled.
 */
export function serveStats(shutdown: () => Promise<void>): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('a benchmark server must be started with an IPC channel');
  const delay = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  delay.enable();

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void shutdown()
      .catch((error: unknown) => console.error('bench server: shutdown failed', error))
      .finally(() => process.exit(0));
  };

  process.on('message', (message: unknown) => {
    if (!isStatsRequest(message)) return;
    if (message.type === 'shutdown') return stop();
    if (message.gc) globalThis.gc?.();
    const memory = process.memoryUsage();
    const reply: ServerStats = {
      type: 'stats',
      id: message.id,
      cpu: process.cpuUsage(),
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      eventLoopP99Ms: lateness(delay.percentile(99)),
      eventLoopMaxMs: lateness(delay.max),
    };
    if (message.resetEventLoop) delay.reset();
    send(reply);
  });
  process.on('disconnect', stop);
}

function lateness(nanoseconds: number): number {
  // An empty histogram reports a huge max and a zero percentile; both mean "no sample".
  if (!Number.isFinite(nanoseconds) || nanoseconds <= 0 || nanoseconds > 1e15) return 0;
  return Math.max(0, nanoseconds / 1e6 - ELD_RESOLUTION_MS);
}

export function printReady(port: number): void {
  const line: ReadyLine = { ready: true, port };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
