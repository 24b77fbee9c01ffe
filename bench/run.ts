/**
 * `npm run bench -- --sessions N --rate R --seconds D [--rounds K] [--warmup S] [--idle N] [--json-only]`
 *
 * Streaming (default): ours and the bare Socket.IO relay, alternated A B A B for K rounds, each in
 * a fresh server process, after S seconds of unmeasured warm-up (default 1); prints a table and
 * ends with one JSON line.
 * `--idle N`: N sessions that only stay connected; server RSS per session (no streaming).
 * Progress goes to stderr; `--json-only` prints nothing but the JSON line on stdout.
 */
import { parseArgs } from 'node:util';
import { benchIdle, benchStreaming, jsonLine, maxSessions, openFileLimit } from './bench.ts';
import { idleTable, streamTable } from './report.ts';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '500' },
    rate: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '1' },
    idle: { type: 'string' },
    'json-only': { type: 'boolean', default: false },
  },
  strict: true,
});

function positiveInteger(name: string, value: string | undefined): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) {
    console.error(`--${name} must be a positive integer (got ${value})`);
    process.exit(2);
  }
  return number;
}

function nonNegative(name: string, value: string | undefined): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0) {
    console.error(`--${name} must be a number ≥ 0 (got ${value})`);
    process.exit(2);
  }
  return number;
}

const jsonOnly = values['json-only'];
const log = (line: string) => console.error(line);
const print = (text: string) => {
  if (!jsonOnly) console.log(text);
};

if (values.idle !== undefined) {
  const report = await benchIdle(positiveInteger('idle', values.idle), { log });
  print(idleTable(report));
  console.log(jsonLine(report));
} else {
  const sessions = positiveInteger('sessions', values.sessions);
  if (sessions > maxSessions()) {
    console.error(`--sessions ${sessions} needs ${2 * sessions} sockets, over the open-file limit of ${openFileLimit()}`);
    process.exit(2);
  }
  const report = await benchStreaming({
    sessions,
    rate: positiveInteger('rate', values.rate),
    seconds: positiveInteger('seconds', values.seconds),
    rounds: positiveInteger('rounds', values.rounds),
    warmupSeconds: nonNegative('warmup', values.warmup),
    log,
  });
  print(streamTable(report));
  console.log(jsonLine(report));
}
