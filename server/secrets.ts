/**
 * Secrets of the embedded default: created once under DATA_DIR and reused on every start, so
 * tokens survive a restart and the printed development API key stays the same.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from './data-dir.ts';

export function loadOrCreateSecret(dataDir: string, fileName: string, bytes = 32): string {
  ensurePrivateDir(dataDir);
  const path = join(dataDir, fileName);
  try {
    const existing = readFileSync(path, 'utf8').trim();
    if (existing.length >= 32) return existing;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(bytes).toString('base64url');
  // 'wx' fails if another process created it in between; then read theirs.
  try {
    writeFileSync(path, `${secret}\n`, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
    return secret;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(path, 'utf8').trim();
    throw error;
  }
}
