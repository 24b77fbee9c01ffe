/**
 * Starts srs-live from the environment (see server/config.ts and README.md). The start-up lines
 * for the person at the terminal are plain text; warnings go through the logger like every other.
 * `--help` lists the settings; `--print-config` shows the ones in effect.
 */
import { createApp } from './app.ts';
import { ConfigError, helpText, printedConfig, readConfig } from './config.ts';
import { warnAboutLooseModes } from './data-dir.ts';
import { createLogger, LogSetupError } from './logging.ts';
import { loadOrCreateSecret } from './secrets.ts';
import { openStore } from './store/open-store.ts';

/** `--help` and `--print-config` answer and exit before anything is opened or created. */
function answeredArguments(args: readonly string[]): boolean {
  const [first, ...rest] = args;
  if (first === undefined) return false;
  if (rest.length > 0 || !['--help', '-h', '--print-config'].includes(first)) throw new ConfigError([`unknown arguments "${args.join(' ')}": see --help`]);
  process.stdout.write(first === '--print-config' ? printedConfig() : helpText());
  return true;
}

/** From the signal to the exit, at most; a supervisor's own (Kubernetes' default is 30 s) should be longer. */
const STOP_DEADLINE_MS = 10_000;
/** Each of the drain's two waits for requests in flight (before and after the transports close). */
const STOP_GRACE_MS = 3_500;

async function main(): Promise<void> {
  if (answeredArguments(process.argv.slice(2))) return;
  const config = readConfig();
  const { dataDir } = config.store;
  const logger = createLogger(config.log);
  const store = await openStore(config.store);
  const tokenSecret = config.tokenSecret ?? loadOrCreateSecret(dataDir, 'token-secret');
  const embeddedKey = config.apiKeys.length === 0 ? loadOrCreateSecret(dataDir, 'dev-api-key', 24) : undefined;
  const apiKeys = embeddedKey ? [{ label: 'development', key: embeddedKey }] : config.apiKeys;

  const srs = await createApp({ ...config.app, store, tokenSecret, apiKeys, logger });
  // After the store and the secrets: what they created is private; what was there before is checked.
  warnAboutLooseModes(dataDir, logger);
  const address = await srs.listen(config.listen.port, config.listen.host);
  const base = config.app.publicUrl ?? `http://localhost:${address.port}`;
  const storage = config.store.databaseUrl ? 'PostgreSQL' : `SQLite in ${dataDir}`;
  console.log(`srs-live listening on port ${address.port} (${storage}${config.app.redisUrl ? ', Redis adapter' : ''})`);
  if (config.listen.loopbackOnly)
    console.log(
      `No API keys configured: listening on ${address.address} only, out of the network's reach; set HOST (e.g. HOST=0.0.0.0) to listen on other interfaces`,
    );
  if (config.app.demo) console.log(`Demo of a telehealth call: ${base}/`);
  if (embeddedKey) console.log(`Development API key: ${embeddedKey}`);

  // SIGTERM/SIGINT: drain (docs/deploy.md, "Stopping and rolling deploys"), close the store, exit
  // 0; whatever hangs past the deadline ends the process with 1 and a line that says so.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    logger.info({ event: 'server.stopping', signal }, `${signal}: draining`);
    setTimeout(() => {
      logger.error({ event: 'server.stop-timeout', signal, ms: Date.now() - started }, `did not stop within ${STOP_DEADLINE_MS} ms: exiting anyway`);
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
    srs
      .close({ graceMs: STOP_GRACE_MS })
      .then(() => store.close())
      .then(
        () => {
          logger.info({ event: 'server.stopped', signal, ms: Date.now() - started }, 'stopped');
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ event: 'server.stop-failed', signal, err: error }, 'stopping failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) for (const problem of error.problems) console.error(`srs-live: ${problem}`);
  else if (error instanceof LogSetupError) console.error(`srs-live: ${error.message}`);
  else console.error(error);
  process.exit(1);
});
