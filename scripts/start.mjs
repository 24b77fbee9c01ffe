/**
 * `npm start`: runs the compiled server (dist/server/main.js) in this very process, with plain
 * node: no TypeScript compiler or loader is loaded at run time.
 *
 * It builds only when there is nothing built yet, so `npm install && npm start` works on a fresh
 * clone, and a production machine that installed with `npm ci --omit=dev` after `npm run build`
 * (no build tools left) starts from its build. It never rebuilds what is there: after changing the
 * sources, run `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const server = new URL('../dist/server/main.js', import.meta.url);
const widget = new URL('../dist/widget/srs-widget.js', import.meta.url);

if (!existsSync(server) || !existsSync(widget)) {
  console.log('srs-live: nothing built yet, building first (npm run build)');
  // The build runs in a child process, so none of its tools stay loaded in the server's.
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (build.status !== 0 || !existsSync(server) || !existsSync(widget)) {
    console.error('srs-live: the build failed; it needs the development dependencies (npm ci), then npm run build');
    process.exit(1);
  }
}

// Stack traces name the TypeScript sources (the build writes source maps).
process.setSourceMapsEnabled(true);
await import(server.href);
