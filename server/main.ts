/**
 * Starts srs-live from the environment (see server/config.ts and README.md). The start-up lines
 * for the person at the terminal are plain text; warnings go through the logger like every other.
 */
import { createApp } from './app.ts';
import { ConfigError, readConfig } from './config.ts';
import { warnAboutLooseModes } from './data-dir.ts';
import { createLogger, LogSetupError } from './logging.ts';
import { loadOrCreateSecret } from './secrets.ts';
import { openStore } from './store/open-store.ts';

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
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
    metricsToken: config.metricsToken,
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

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`srs-live: ${signal}, closing`);
    void srs
      .close()
      .then(() => store.close())
      .finally(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError || error instanceof LogSetupError ? `srs-live: ${error.message}` : error);
  process.exit(1);
});
