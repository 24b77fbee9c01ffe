/**
 * Aggregates the rounds (the median of each figure, per system) and prints them: a table for
 * people, then one JSON line for machines.
 */
import type { IdleFigures, StreamFigures } from './load.ts';

/** One system's figures over the rounds: the per-run figures without the run's own settings. */
export type StreamSummary = Omit<StreamFigures, 'system' | 'sessions' | 'rate' | 'seconds'>;

export interface StreamReport {
  readonly bench: 'srs-live';
  readonly mode: 'stream';
  readonly sessions: number;
  readonly rate: number;
  readonly seconds: number;
  readonly rounds: number;
  readonly ours: StreamSummary;
  readonly baseline: StreamSummary;
  /** ours / baseline. */
  readonly ratios: { readonly cpu: number; readonly p50: number; readonly p99: number };
  readonly runs: readonly StreamFigures[];
}

export interface IdleReport {
  readonly bench: 'srs-live';
  readonly mode: 'idle';
  readonly requestedSessions: number;
  readonly sessions: number;
  readonly socketsPerSession: 2;
  readonly ours: IdleFigures;
  readonly baseline: IdleFigures;
  readonly ratios: { readonly rss: number };
  readonly note?: string;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export function summarize(runs: readonly StreamFigures[]): StreamSummary {
  const of = (pick: (run: StreamFigures) => number) => median(runs.map(pick));
  return {
    cpuUsPerMark: of((run) => run.cpuUsPerMark),
    cpuUsPerSentMark: of((run) => run.cpuUsPerSentMark),
    cpuUserUsPerMark: of((run) => run.cpuUserUsPerMark),
    cpuSystemUsPerMark: of((run) => run.cpuSystemUsPerMark),
    latencyMs: { p50: of((run) => run.latencyMs.p50), p99: of((run) => run.latencyMs.p99), max: of((run) => run.latencyMs.max) },
    sent: of((run) => run.sent),
    delivered: of((run) => run.delivered),
    lost: of((run) => run.lost),
    superseded: of((run) => run.superseded),
    unmatched: of((run) => run.unmatched),
    rssPerSessionKb: of((run) => run.rssPerSessionKb),
    eventLoopP99Ms: of((run) => run.eventLoopP99Ms),
    generatorCpuPct: of((run) => run.generatorCpuPct),
    droppedSockets: of((run) => run.droppedSockets),
    refusals: of((run) => run.refusals),
  };
}

export function streamReport(runs: readonly StreamFigures[], shape: { sessions: number; rate: number; seconds: number; rounds: number }): StreamReport {
  const ours = summarize(runs.filter((run) => run.system === 'ours'));
  const baseline = summarize(runs.filter((run) => run.system === 'baseline'));
  return {
    bench: 'srs-live',
    mode: 'stream',
    ...shape,
    ours,
    baseline,
    ratios: {
      cpu: ours.cpuUsPerMark / baseline.cpuUsPerMark,
      p50: ours.latencyMs.p50 / baseline.latencyMs.p50,
      p99: ours.latencyMs.p99 / baseline.latencyMs.p99,
    },
    runs,
  };
}

export function streamTable(report: StreamReport): string {
  const { ours, baseline, ratios } = report;
  const rows: [string, (summary: StreamSummary) => string][] = [
    ['CPU per delivered mark (µs)', (s) => s.cpuUsPerMark.toFixed(1)],
    ['CPU per sent mark (µs)', (s) => s.cpuUsPerSentMark.toFixed(1)],
    ['  per delivered: user / system (µs)', (s) => `${s.cpuUserUsPerMark.toFixed(1)} / ${s.cpuSystemUsPerMark.toFixed(1)}`],
    ['latency p50 (ms)', (s) => s.latencyMs.p50.toFixed(2)],
    ['latency p99 (ms)', (s) => s.latencyMs.p99.toFixed(2)],
    ['latency max (ms)', (s) => s.latencyMs.max.toFixed(1)],
    ['marks sent', (s) => count(s.sent)],
    ['marks delivered', (s) => count(s.delivered)],
    ['marks lost', (s) => count(s.lost)],
    ['  of which superseded (coalesced)', (s) => count(s.superseded)],
    ['RSS per session (KB)', (s) => s.rssPerSessionKb.toFixed(1)],
    ['event-loop delay p99 (ms)', (s) => s.eventLoopP99Ms.toFixed(2)],
    ['load generator CPU (% of a core)', (s) => s.generatorCpuPct.toFixed(0)],
  ];
  const lines = [
    `srs-live bench: ${report.sessions} sessions × ${report.rate} Hz × ${report.seconds} s, ${report.rounds} round(s) A B (median of rounds)`,
    '',
    table(
      ['', 'ours', 'bare relay'],
      rows.map(([label, format]) => [label, format(ours), format(baseline)]),
    ),
    '',
    `ours / bare relay: CPU ${ratios.cpu.toFixed(2)}×, p50 ${ratios.p50.toFixed(2)}×, p99 ${ratios.p99.toFixed(2)}×`,
  ];
  const warnings = [...new Set(report.runs.flatMap((run) => runWarnings(run)))];
  if (warnings.length > 0) lines.push('', ...warnings.map((warning) => `warning: ${warning}`));
  return lines.join('\n');
}

function runWarnings(run: StreamFigures): string[] {
  const warnings: string[] = [];
  if (run.unmatched > 0) warnings.push(`${run.system}: ${run.unmatched} deliveries matched no pending mark (duplicates?)`);
  if (run.refusals > 0) warnings.push(`${run.system}: the server refused ${run.refusals} events with srs:error`);
  if (run.droppedSockets > 0) warnings.push(`${run.system}: ${run.droppedSockets} sockets dropped during a run`);
  if (run.generatorCpuPct > 85) warnings.push(`${run.system}: the load generator was near one full core; latency includes its own queueing`);
  return warnings;
}

export function idleTable(report: IdleReport): string {
  const rows: [string, (figures: IdleFigures) => string][] = [
    ['RSS per session (KB)', (f) => f.rssPerSessionKb.toFixed(1)],
    ['JS heap per session (KB)', (f) => f.heapPerSessionKb.toFixed(1)],
    ['idle CPU (% of a core)', (f) => f.idleCpuPct.toFixed(1)],
    ['connect time (s)', (f) => f.connectSeconds.toFixed(1)],
    ['sockets dropped', (f) => String(f.droppedSockets)],
  ];
  const lines = [
    `srs-live idle: ${report.sessions} sessions connected (client + therapist socket each = ${2 * report.sessions} sockets)`,
    ...(report.note ? [report.note] : []),
    '',
    table(
      ['', 'ours', 'bare relay'],
      rows.map(([label, format]) => [label, format(report.ours), format(report.baseline)]),
    ),
    '',
    `ours / bare relay: RSS per session ${report.ratios.rss.toFixed(2)}×`,
  ];
  return lines.join('\n');
}

function count(value: number): string {
  return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(1);
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  const line = (row: readonly string[]) =>
    row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

export function idleReport(parts: {
  requestedSessions: number;
  sessions: number;
  ours: IdleFigures;
  baseline: IdleFigures;
  note: string | undefined;
}): IdleReport {
  return {
    bench: 'srs-live',
    mode: 'idle',
    requestedSessions: parts.requestedSessions,
    sessions: parts.sessions,
    socketsPerSession: 2,
    ours: parts.ours,
    baseline: parts.baseline,
    ratios: { rss: parts.ours.rssPerSessionKb / parts.baseline.rssPerSessionKb },
    ...(parts.note ? { note: parts.note } : {}),
  };
}
