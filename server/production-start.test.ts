/**
 * The production start: `npm start` runs the compiled JavaScript with plain node, and the process
 * that serves holds no TypeScript loader or compiler (no tsx, no typescript, no build tools).
 * Evidence from outside (the process's command line and environment, Linux's /proc) and from
 * inside (every script V8 loaded, reported at exit by a preloaded probe, which is first shown to
 * catch tsx when tsx is there).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PROBE = fileURLToPath(new URL('./testing/module-probe.mjs', import.meta.url));
const START = 'scripts/start.mjs';

/** Scripts that mean a TypeScript toolchain or a build tool is loaded. */
const TOOLCHAIN = /\/node_modules\/(tsx|typescript|esbuild|vite|rolldown|@oxc-project|get-tsconfig)\//;
function toolchainIn(urls: readonly string[]): string[] {
  return urls.filter((url) => TOOLCHAIN.test(url) || (url.startsWith('file:') && /\.[cm]?tsx?$/.test(url)));
}

interface Probed {
  readonly urls: string[];
  readonly execArgv: string[];
}

const work = mkdtempSync(join(tmpdir(), 'srs-production-start-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The environment of a production start: nothing inherited that could load TypeScript. */
function productionEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env['NODE_OPTIONS'];
  for (const key of Object.keys(env)) if (key.startsWith('VITEST') || key === 'TSX_TSCONFIG_PATH') delete env[key];
  return env;
}

describe('production start', () => {
  beforeAll(() => {
    // Compile the server from the current sources (a few seconds). The widget is built by the
    // start script itself when it is missing, as on a fresh clone.
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.server.json'], { cwd: ROOT, encoding: 'utf8' });
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
  }, 60_000);

  it('is `node scripts/start.mjs`, which imports the compiled server', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['start']).toBe(`node ${START}`);
    expect(readFileSync(join(ROOT, START), 'utf8')).toContain('../dist/server/main.js');
    expect(existsSync(join(ROOT, 'dist/server/main.js'))).toBe(true);
  });

  it('the probe catches a TypeScript loader when one is loaded', async () => {
    const script = join(work, 'typed.ts');
    writeFileSync(script, 'const answer: number = 42;\nconsole.log(answer);\n');
    const out = join(work, 'control.json');
    const run = spawnSync(process.execPath, ['--import', PROBE, '--import', 'tsx', script], {
      cwd: ROOT,
      env: productionEnv({ SRS_MODULE_PROBE_OUT: out }),
      encoding: 'utf8',
    });
    expect(run.stdout.trim()).toBe('42');
    const probed = JSON.parse(readFileSync(out, 'utf8')) as Probed;
    expect(toolchainIn(probed.urls)).toContain(pathToFileURL(script).href);
    expect(toolchainIn(probed.urls).some((url) => url.includes('/node_modules/tsx/'))).toBe(true);
  }, 30_000);

  it('serves /healthz from a process that holds no TypeScript toolchain', async () => {
    const out = join(work, 'server.json');
    const child = spawn(process.execPath, ['--import', PROBE, START], {
      cwd: ROOT,
      env: productionEnv({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: join(work, 'data'), SRS_DEMO: 'off', SRS_MODULE_PROBE_OUT: out }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      let output = '';
      const port = await new Promise<number>((resolve, reject) => {
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          const match = /listening on port (\d+)/.exec(output);
          if (match) resolve(Number(match[1]));
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        void exited.then((code) => reject(new Error(`the server exited with ${code}:\n${output}`)));
      });

      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);

      if (process.platform === 'linux') {
        const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
        expect(argv.slice(1)).toEqual(['--import', PROBE, START]);
        const environ = readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0');
        expect(environ.filter((entry) => entry.startsWith('NODE_OPTIONS='))).toEqual([]);
      }
    } finally {
      child.kill('SIGTERM');
      await exited;
    }

    const probed = JSON.parse(readFileSync(out, 'utf8')) as Probed;
    expect(probed.execArgv).toEqual(['--import', PROBE]);
    // The probe saw the compiled server (so it saw what was loaded)...
    expect(probed.urls).toContain(pathToFileURL(join(ROOT, 'dist/server/main.js')).href);
    expect(probed.urls).toContain(pathToFileURL(join(ROOT, 'dist/server/app.js')).href);
    // ...and nothing of a TypeScript toolchain.
    expect(toolchainIn(probed.urls)).toEqual([]);
  }, 90_000);
});
