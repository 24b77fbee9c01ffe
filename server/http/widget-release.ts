/**
 * Versioned delivery of the widget bundle, with Subresource Integrity.
 *
 * At start-up the bundle's scripts (the entry `srs-widget.js` and the chunks it imports) are read
 * once into memory and hashed (sha384). They are served from that copy under
 * `/widget/v/<version>/<file>`, cached as immutable, so the bytes a browser gets are always the
 * bytes whose hash `/widget/release.json` publishes, even if `dist/widget` is rebuilt while the
 * server runs. The entry imports its chunks by relative URL (`./srs-therapist-view-….js`), which
 * resolves under the same versioned path.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Router, type Request, type Response } from 'express';
import { sendError } from './errors.ts';

export const WIDGET_ENTRY = 'srs-widget.js';
export const IMMUTABLE = 'public, max-age=31536000, immutable';

export interface ReleaseFile {
  readonly url: string;
  readonly integrity: string;
}

/** The answer of `GET /widget/release.json`. */
export interface WidgetRelease {
  readonly version: string;
  readonly script: ReleaseFile;
  /** The chunks the script imports (lazily), by file name. */
  readonly chunks: Readonly<Record<string, ReleaseFile>>;
}

/** `sha384-<base64>`, the form of an `integrity` attribute. */
export function sriOf(bytes: Uint8Array): string {
  return `sha384-${createHash('sha384').update(bytes).digest('base64')}`;
}

export function versionedPath(version: string, file: string): string {
  return `/widget/v/${encodeURIComponent(version)}/${file}`;
}

interface LoadedRelease {
  readonly release: WidgetRelease;
  readonly files: ReadonlyMap<string, Buffer>;
}

/** Reads and hashes the built bundle; undefined when it has not been built (no entry script). */
export async function loadWidgetRelease(widgetDir: string, version: string): Promise<LoadedRelease | undefined> {
  let names: string[];
  try {
    names = (await readdir(widgetDir, { withFileTypes: true })).filter((entry) => entry.isFile() && entry.name.endsWith('.js')).map((entry) => entry.name);
  } catch {
    return undefined;
  }
  if (!names.includes(WIDGET_ENTRY)) return undefined;
  const files = new Map<string, Buffer>();
  for (const name of names.sort()) files.set(name, await readFile(join(widgetDir, name)));
  const fileOf = (name: string, bytes: Buffer): ReleaseFile => ({ url: versionedPath(version, name), integrity: sriOf(bytes) });
  const chunks: Record<string, ReleaseFile> = {};
  for (const [name, bytes] of files) if (name !== WIDGET_ENTRY) chunks[name] = fileOf(name, bytes);
  const entry = files.get(WIDGET_ENTRY) as Buffer;
  return { release: { version, script: fileOf(WIDGET_ENTRY, entry), chunks }, files };
}

/** The version in package.json (read once, at start-up). */
export async function packageVersion(packageJson: URL): Promise<string> {
  const parsed = JSON.parse(await readFile(packageJson, 'utf8')) as { version?: unknown };
  if (typeof parsed.version !== 'string' || parsed.version === '') throw new TypeError(`${packageJson.pathname}: no version`);
  return parsed.version;
}

/**
 * `GET /release.json` and `GET /v/:version/:file`, to mount at `/widget` (after the CORS headers,
 * before the static folder). Without a build, both answer 404.
 */
export function widgetReleaseRoutes(loaded: LoadedRelease | undefined): Router {
  const router = Router();
  router.get('/release.json', (_req: Request, res: Response) => {
    // Changes with every deployment: revalidated each time.
    res.set('cache-control', 'no-cache');
    if (!loaded) return sendError(res, 'notFound', 'the widget has not been built (npm run build)');
    res.json(loaded.release);
  });
  router.get('/v/:version/:file', (req: Request<{ version: string; file: string }>, res: Response) => {
    const { version, file } = req.params;
    const bytes = loaded && version === loaded.release.version ? loaded.files.get(file) : undefined;
    if (!bytes) {
      res.set('cache-control', 'no-cache');
      return sendError(res, 'notFound', 'no such widget version or file');
    }
    res.set('cache-control', IMMUTABLE);
    res.type('text/javascript; charset=utf-8').send(bytes);
  });
  return router;
}
