/**
 * Starts a server under test (ours or the bare baseline) in a fresh child process and talks to it
 * over IPC: its port, its stats, its shutdown.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReadyLine, ServerStats, StatsRequest } from './server-stats.ts';

export const SYSTEMS = ['ours', 'baseline'] as const;
export type System = (typeof SYSTEMS)[number];

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRY: Record<System, string> = { ours: 'bench/ours-server.ts', baseline: 'bench/bare-server.ts' };

export interface ServerUnderTest {
  readonly system: System;
  readonly url: string;
  readonly pid: number;
  /** Platform API key (ours only). */
  readonly apiKey: string;
  stats(options?: { resetEventLoop?: boolean; gc?: boolean }): Promise<ServerStats>;
  /** Asks the child to close, kills it if it does not, and removes its store. */
  stop(): Promise<void>;
}

export async function startServer(system: System, timeoutMs = 30_000): Promise<ServerUnderTest> {
  const apiKey = `bench_${randomBytes(18).toString('base64url')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'srs-bench-'));
  // BENCH_CPU_PROF_DIR=dir writes V8 CPU profiles of each server child under dir/<system>
  // (node --cpu-prof; one file per thread, the main thread's is the big one).
  const profileDir = process.env['BENCH_CPU_PROF_DIR'];
  const profile = profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, system)] : [];
  // BENCH_NODE_FLAGS adds Node/V8 flags to the server children only (e.g. --trace-gc).
  const extraFlags = (process.env['BENCH_NODE_FLAGS'] ?? '').split(/\s+/).filter((flag) => flag.length > 0);
  const child = spawn(process.execPath, ['--expose-gc', ...extraFlags, ...profile, '--import', 'tsx', ENTRY[system]], {
    cwd: ROOT,
    env: { ...process.env, BENCH_API_KEY: apiKey, BENCH_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let port: number;
  try {
    port = await readPort(child, timeoutMs);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }

  const pending = new Map<number, (stats: ServerStats) => void>();
  let nextId = 1;
  child.on('message', (message: unknown) => {
    const stats = message as ServerStats;
    if (stats?.type !== 'stats') return;
    pending.get(stats.id)?.(stats);
    pending.delete(stats.id);
  });

  return {
    system,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid ?? -1,
    apiKey,
    stats(options = {}) {
      const id = nextId++;
      return new Promise<ServerStats>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${system} server did not answer a stats request`)), 30_000);
        pending.set(id, (stats) => {
          clearTimeout(timer);
          resolve(stats);
        });
        const request: StatsRequest = { type: 'stats', id, ...options };
        child.send(request);
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const request: StatsRequest = { type: 'shutdown' };
        child.send(request);
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function readPort(child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`the server did not start in time:\n${output}`)), timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const lines = output.split('\n');
      lines.pop(); // not yet a whole line
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        const parsed = JSON.parse(line) as Partial<ReadyLine>;
        if (parsed.ready && typeof parsed.port === 'number') {
          clearTimeout(timer);
          resolve(parsed.port);
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code} before it was ready:\n${output}`));
    });
  });
}
