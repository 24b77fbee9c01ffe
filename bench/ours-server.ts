/**
 * Child-process entry: the real srs-live server (createApp over a real SQLite store) on port 0,
 * for the benchmark. The parent passes the API key (BENCH_API_KEY) and the store's folder
 * (BENCH_DATA_DIR); the token secret is random per run. Prints `{"ready":true,"port":…}` and
 * answers stats requests over IPC (see server-stats.ts).
 */
import { randomBytes } from 'node:crypto';
import { createApp } from '../server/app.ts';
import { DEFAULT_RATE_LIMITS } from '../server/live/token-bucket.ts';
import { openStore } from '../server/store/open-store.ts';
import { printReady, serveStats } from './server-stats.ts';

const apiKey = process.env['BENCH_API_KEY'];
const dataDir = process.env['BENCH_DATA_DIR'];
if (!apiKey || !dataDir) throw new Error('ours-server needs BENCH_API_KEY and BENCH_DATA_DIR');

const store = await openStore({ dataDir });
const srs = await createApp({
  store,
  tokenSecret: randomBytes(32).toString('base64url'),
  apiKeys: [{ label: 'bench', key: apiKey }],
  // The platform API's per-address limit would pace the set-up (thousands of sessions from one
  // address); the live limits, which are on the measured path, stay as shipped.
  rateLimits: { ...DEFAULT_RATE_LIMITS, http: { capacity: 1_000_000, perSecond: 1_000_000 } },
});
const address = await srs.listen(0, '127.0.0.1');
serveStats(async () => {
  await srs.close();
  await store.close();
});
printReady(address.port);
