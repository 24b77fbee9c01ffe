/**
 * DATA_DIR holds the SQLite database (clinical data) and the embedded default's token secret and
 * API key (the keys to it): only the server's own user may read them. What srs-live creates there
 * it creates private (the directory 0700, each file 0600); what it finds looser it reports, and
 * leaves for the operator to change, since another tool may rely on the wider mode.
 */
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from './logging.ts';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;
/** Any permission for the group or for others. */
const SHARED_BITS = 0o077;

/** Creates the directory (and any missing parent) 0700; an existing one is left as it is. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/**
 * Creates an empty file 0600 unless it exists. SQLite then opens it as a new database and creates
 * its -wal and -shm files with the database file's own mode, so they are private too.
 */
export function ensurePrivateFile(path: string): void {
  try {
    closeSync(openSync(path, 'wx', PRIVATE_FILE_MODE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

export interface LooseMode {
  readonly path: string;
  /** As `ls` and chmod write it: "0755". */
  readonly mode: string;
  readonly expected: string;
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

/** The directory and the files and folders directly in it that the group or others may use. Nothing when the directory does not exist. */
export function looseModes(dir: string): LooseMode[] {
  let dirMode: number;
  try {
    dirMode = lstatSync(dir).mode;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const loose: LooseMode[] = [];
  if (dirMode & SHARED_BITS) loose.push({ path: dir, mode: octal(dirMode), expected: octal(PRIVATE_DIR_MODE) });
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    // A symbolic link's own mode means nothing; what it points to is the operator's choice.
    if (!entry.isFile() && !entry.isDirectory()) continue;
    const path = join(dir, entry.name);
    const mode = lstatSync(path).mode;
    const expected = entry.isDirectory() ? PRIVATE_DIR_MODE : PRIVATE_FILE_MODE;
    if (mode & SHARED_BITS) loose.push({ path, mode: octal(mode), expected: octal(expected) });
  }
  return loose;
}

/** Logs one warning per path in DATA_DIR that others may read. */
export function warnAboutLooseModes(dir: string, logger: Logger): LooseMode[] {
  const loose = looseModes(dir);
  for (const { path, mode, expected } of loose) {
    logger.warn(
      { event: 'data.loose-permissions', path, mode, expected },
      `${path} has mode ${mode}: other users may read it; chmod ${expected.slice(1)} ${path}`,
    );
  }
  return loose;
}
