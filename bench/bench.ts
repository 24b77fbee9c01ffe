/**
 * The benchmark's orchestration, apart from the command line so tests can call it: alternates
 * ours and the bare relay (A B A B), each run in a fresh server process, and reports.
 */
import { readFileSync } from 'node:fs';
import { runIdle, runStreaming, type StreamFigures } from './load.ts';
import { idleReport, streamReport, type IdleReport, type StreamReport } from './report.ts';
import { SYSTEMS } from './server-process.ts';

export interface StreamBenchOptions {
  readonly sessions: number;
  readonly rate: number;
  readonly seconds: number;
  readonly rounds: number;
  /** Unmeasured streaming before each measured run (default 1 s). */
  readonly warmupSeconds?: number;
  readonly log?: (line: string) => void;
}

export async function benchStreaming(options: StreamBenchOptions): Promise<StreamReport> {
  const log = options.log ?? (() => {});
  const runs: StreamFigures[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    for (const system of SYSTEMS) {
      log(`round ${round}/${options.rounds}: ${system}`);
      const figures = await runStreaming(system, { ...options, log });
      log(
        `  ${system}: ${figures.cpuUsPerMark.toFixed(1)} µs/mark, p50 ${figures.latencyMs.p50.toFixed(2)} ms, ` +
          `p99 ${figures.latencyMs.p99.toFixed(2)} ms, ${figures.delivered}/${figures.sent} delivered`,
      );
      runs.push(figures);
    }
  }
  return streamReport(runs, options);
}

export async function benchIdle(requested: number, options: { holdSeconds?: number; log?: (line: string) => void } = {}): Promise<IdleReport> {
  const log = options.log ?? (() => {});
  const sessions = Math.min(requested, maxSessions());
  const note =
    sessions < requested
      ? `note: ${requested} sessions need ${2 * requested} sockets in one process, but the open-file limit is ${openFileLimit()} ` +
        `(hard limit, cannot be raised here); measured ${sessions}.`
      : undefined;
  if (note) log(note);
  const ours = await runIdle('ours', sessions, options.holdSeconds ?? 3, log);
  const baseline = await runIdle('baseline', sessions, options.holdSeconds ?? 3, log);
  return idleReport({ requestedSessions: requested, sessions, ours, baseline, note });
}

/** The machine-readable line that ends every benchmark's output. */
export function jsonLine(report: StreamReport | IdleReport): string {
  // Three decimals are more than any of these figures can claim.
  return JSON.stringify(report, (_key, value: unknown) => (typeof value === 'number' && !Number.isInteger(value) ? Math.round(value * 1000) / 1000 : value));
}

/**
 * Sessions that fit under the open-file limit: the load generator and the server each hold one
 * descriptor per socket (two per session), plus a margin for everything else.
 */
export function maxSessions(): number {
  return Math.floor((openFileLimit() - FD_MARGIN) / 2);
}

const FD_MARGIN = 300;

export function openFileLimit(): number {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    if (match?.[1] && match[1] !== 'unlimited') return Number(match[1]);
  } catch {
    // Not Linux: assume enough.
  }
  return Number.MAX_SAFE_INTEGER;
}
