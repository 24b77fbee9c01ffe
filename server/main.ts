/**
 * Starts srs-live from the environment (see server/config.ts and README.md). The start-up lines
 * for the person at the terminal are plain text; warnings go through the logger like every other.
 */
import { createApp } from './app.ts';
import { ConfigError, readConfig } from './config.ts';
import { warnAboutLooseModes } from './data-dir.ts';
import { createLogger } from './logging.ts';
import { loadOrCreateSecret } from './secrets.ts';
import { openStore } from './store/open-store.ts';

/** From the signal to the exit, at most; a supervisor's own (Kubernetes' default is 30 s) should be longer. */
const STOP_DEADLINE_MS = 10_000;
/** Each of the drain's two waits for requests in flight (before and after the transports close). */
const STOP_GRACE_MS = 3_500;

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger();
  const store = await openStore({
    dataDir: config.dataDir,
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
    ...(config.databaseSchema ? { pgSchema: config.databaseSchema } : {}),
  });
  const tokenSecret = config.tokenSecret ?? loadOrCreateSecret(config.dataDir, 'token-secret');
  const embeddedKey = config.apiKeys.length === 0 ? loadOrCreateSecret(config.dataDir, 'dev-api-key', 24) : undefined;
  const apiKeys = embeddedKey ? [{ label: 'development', key: embeddedKey }] : config.apiKeys;
  const demoOn = config.demo ?? embeddedKey !== undefined;

  const srs = await createApp({
    store,
    tokenSecret,
    apiKeys,
    publicUrl: config.publicUrl,
    demo: demoOn,
    scoring: { flagBelowMm: config.flagBelowMm },
    tokenTtlSeconds: config.tokenTtlSeconds,
    trustProxy: config.trustProxy,
    webhook: config.webhook,
    allowedOrigins: config.allowedOrigins,
    frameAncestors: config.frameAncestors,
    redisUrl: config.redisUrl,
    redisPrefix: config.redisPrefix,
    allowedHosts: config.allowedHosts,
    connectionLimits: { maxConnections: config.maxConnections },
    maxTherapistSockets: config.maxTherapistSockets,
    logger,
  });
  // After the store and the secrets: what they created is private; what was there before is checked.
  warnAboutLooseModes(config.dataDir, logger);
  const address = await srs.listen(config.port, config.host);
  const base = config.publicUrl ?? `http://localhost:${address.port}`;
  const storage = config.databaseUrl ? 'PostgreSQL' : `SQLite in ${config.dataDir}`;
  console.log(`srs-live listening on port ${address.port} (${storage}${config.redisUrl ? ', Redis adapter' : ''})`);
  if (config.loopbackOnly) console.log(`No API keys configured: listening on ${address.address} only, out of the network's reach; set HOST (e.g. HOST=0.0.0.0) to listen on other interfaces`);
  if (demoOn) console.log(`Demo of a telehealth call: ${base}/`);
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
  console.error(error instanceof ConfigError ? `srs-live: ${error.message}` : error);
  process.exit(1);
});
