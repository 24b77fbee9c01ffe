/**
 * The bundle budget (measuring.md): everything a client page loads, gzipped, at most 24 KiB.
 * Builds the real bundle in memory with the project's Vite config and, past the budget, fails
 * with a table of what weighs what.
 */
import { gzipSync } from 'node:zlib';
import { build, type Rolldown } from 'vite';
import { describe, expect, it } from 'vitest';

const BUDGET_BYTES = 24 * 1024;

type OutputChunk = Rolldown.OutputChunk;

function ownerOf(moduleId: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(moduleId);
  if (match?.[1]) return match[1];
  const local = /\/(widget|shared)\//.exec(moduleId);
  return local?.[1] ? `${local[1]}/` : moduleId;
}

async function buildBundle(): Promise<OutputChunk[]> {
  // Vitest runs with NODE_ENV=test, which would make Vite resolve the packages' development
  // builds (socket.io-client's with `debug`): build exactly as `npm run build` does.
  const previous = process.env['NODE_ENV'];
  process.env['NODE_ENV'] = 'production';
  const output = await build({ configFile: 'vite.config.ts', mode: 'production', logLevel: 'silent', build: { write: false } }).finally(() => {
    process.env['NODE_ENV'] = previous;
  });
  const outputs = Array.isArray(output) ? output : [output];
  return outputs.flatMap((result) => ('output' in result ? result.output : [])).filter((item): item is OutputChunk => item.type === 'chunk');
}

describe('bundle budget', () => {
  it(`keeps the script-tag bundle within ${BUDGET_BYTES} bytes gzip, and keeps zod out`, async () => {
    const chunks = await buildBundle();
    const entry = chunks.find((chunk) => chunk.isEntry);
    expect(entry?.fileName).toBe('srs-widget.js');
    // A client page loads the entry and its static imports; lazily imported chunks are not counted.
    const loaded = chunks.filter((chunk) => chunk.isEntry || entry?.imports.includes(chunk.fileName));
    const gzipBytes = loaded.reduce((sum, chunk) => sum + gzipSync(chunk.code, { level: 9 }).length, 0);

    const weights = new Map<string, number>();
    for (const chunk of loaded) {
      for (const [id, info] of Object.entries(chunk.modules)) {
        weights.set(ownerOf(id), (weights.get(ownerOf(id)) ?? 0) + info.renderedLength);
      }
    }
    const table = [...weights.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([owner, bytes]) => `  ${owner.padEnd(28)} ${String(bytes).padStart(7)} bytes before minifying`)
      .join('\n');
    const report = `script-tag bundle: ${gzipBytes} bytes gzip (budget ${BUDGET_BYTES})\n${table}`;
    console.log(report);

    expect([...weights.keys()].filter((owner) => owner === 'zod')).toEqual([]);
    expect(gzipBytes, report).toBeLessThanOrEqual(BUDGET_BYTES);
  }, 60_000);
});
