/**
 * The benchmark itself, at a tiny size against both servers: the figures must be sane and the
 * JSON line complete. No timing thresholds: this machine is shared.
 */
import { describe, expect, it } from 'vitest';
import { benchIdle, benchStreaming, jsonLine } from './bench.ts';
import type { StreamSummary } from './report.ts';

describe('streaming', () => {
  it('measures ours and the bare relay at 5 sessions × 10 Hz × 1 s', async () => {
    const report = await benchStreaming({ sessions: 5, rate: 10, seconds: 1, rounds: 1, warmupSeconds: 0 });
    const parsed = JSON.parse(jsonLine(report)) as Record<string, unknown>;
    expect(parsed).toMatchObject({ bench: 'srs-live', mode: 'stream', sessions: 5, rate: 10, seconds: 1, rounds: 1 });
    for (const system of ['ours', 'baseline'] as const) {
      const summary = parsed[system] as StreamSummary;
      expect(summary.sent).toBe(50);
      expect(summary.delivered).toBe(50);
      expect(summary.lost).toBe(0);
      expect(summary.unmatched).toBe(0);
      expect(summary.superseded).toBe(0);
      expect(summary.droppedSockets).toBe(0);
      expect(summary.refusals).toBe(0);
      expect(summary.cpuUsPerMark).toBeGreaterThan(0);
      expect(summary.latencyMs.p50).toBeGreaterThan(0);
      expect(summary.latencyMs.p99).toBeGreaterThanOrEqual(summary.latencyMs.p50);
      expect(summary.latencyMs.max).toBeGreaterThanOrEqual(summary.latencyMs.p99);
      expect(Number.isFinite(summary.rssPerSessionKb)).toBe(true);
      expect(summary.eventLoopP99Ms).toBeGreaterThanOrEqual(0);
    }
    const ratios = parsed['ratios'] as Record<string, number>;
    for (const ratio of ['cpu', 'p50', 'p99']) expect(ratios[ratio]).toBeGreaterThan(0);
    expect(parsed['runs']).toHaveLength(2);
  });
});

describe('idle', () => {
  it('reports RSS per session for 10 connected sessions', async () => {
    const report = await benchIdle(10, { holdSeconds: 0.2 });
    const parsed = JSON.parse(jsonLine(report)) as Record<string, unknown>;
    expect(parsed).toMatchObject({ bench: 'srs-live', mode: 'idle', requestedSessions: 10, sessions: 10, socketsPerSession: 2 });
    for (const system of ['ours', 'baseline'] as const) {
      const figures = parsed[system] as Record<string, number>;
      expect(figures['sockets']).toBe(20);
      expect(figures['droppedSockets']).toBe(0);
      expect(Number.isFinite(figures['rssPerSessionKb'])).toBe(true);
    }
  });
});
