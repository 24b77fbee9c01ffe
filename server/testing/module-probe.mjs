/**
 * Preloaded with `node --import` by server/production-start.test.ts: when the process exits, it
 * writes every script V8 holds (the URL of each ES module, CommonJS file and loader hook the process
 * ever loaded and still references) to the file named by SRS_MODULE_PROBE_OUT. Plain JavaScript,
 * so that it loads no TypeScript toolchain itself.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const out = process.env['SRS_MODULE_PROBE_OUT'];
if (out) {
  process.on('exit', () => {
    const urls = [];
    const session = new Session();
    session.connect();
    // Enabling the debugger replays a scriptParsed event for every script already loaded.
    session.on('Debugger.scriptParsed', (message) => {
      if (message.params.url) urls.push(message.params.url);
    });
    session.post('Debugger.enable');
    session.disconnect();
    writeFileSync(out, JSON.stringify({ urls, execArgv: process.execArgv }));
  });
}
