/** A logger that keeps its JSON lines in memory, for tests that check what is (and is not) logged. */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../logging.ts';

export interface MemoryLog {
  readonly logger: Logger;
  /** Every line logged so far, parsed. */
  lines(): Record<string, unknown>[];
  /** Every line logged so far, as written. */
  text(): string;
}

export function memoryLogger(level = 'debug'): MemoryLog {
  let text = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  const logger = createLogger({ level, destination });
  return {
    logger,
    lines: () =>
      text
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    text: () => text,
  };
}
