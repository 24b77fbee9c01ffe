/**
 * createApp builds the whole server (platform API, live relay, pages, widget bundle) around a
 * store, without listening: server/main.ts reads the configuration and listens; tests listen on
 * port 0.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import express, { type Express } from 'express';
import { Server } from 'socket.io';
import { DEFAULT_SCORING, type ScoringOptions } from '../shared/scoring.ts';
import { ApiKeyRing, demoApiKeyFor, type ApiKey } from './api-keys.ts';
import { pagesRoutes } from './demo/pages.ts';
import { apiRoutes, baseUrlOf, noStore } from './http/api-routes.ts';
import { jsonErrorHandler, sendError } from './http/errors.ts';
import { healthRoute } from './http/health.ts';
import { srsQuestionnaire } from './exports/fhir.ts';
import { attachLiveRelay, type LiveRelay, type SrsServer } from './live/live-relay.ts';
import { DEFAULT_RATE_LIMITS, type RateLimits } from './live/token-bucket.ts';
import { allowSocketRequest, apiCors, apiRateLimit, securityHeaders } from './http/security.ts';
import { capConnections, connectionLimits, dropUnansweredCloses, httpServerOptions, type ConnectionLimits } from './http/connection-limits.ts';
import { engineHostGuard, hostGuard, HostAllowList } from './http/host-guard.ts';
import { connectRedis } from './live/redis.ts';
import { SessionService } from './sessions.ts';
import type { Store } from './store/store.ts';
import { TokenSigner } from './tokens.ts';
import { WebhookDispatcher } from './webhooks/webhook-dispatcher.ts';
import { webhookSecretProblem, webhookUrlProblem } from './webhooks/webhook-url.ts';
import { createLogger, type Logger } from './logging.ts';
import { closeTransports, Drain } from './draining.ts';
import { Metrics } from './metrics.ts';
import { metricsRoute } from './http/metrics-route.ts';
import { refusedHandshakesLogged, requestContext } from './http/request-log.ts';
import { instrumentStore } from './store/instrumented-store.ts';
import { loadWidgetRelease, packageVersion, widgetReleaseRoutes } from './http/widget-release.ts';

export interface AppOptions {
  readonly store: Store;
  /** HS256 secret for join tokens (≥ 32 characters); shared by every node. */
  readonly tokenSecret: string;
  /** Platform API keys, each label a tenant; only their hashes are kept, in memory. */
  readonly apiKeys: readonly ApiKey[];
  readonly publicUrl?: string | undefined;
  /**
   * Shows the demo page at `/`. Its script carries a key of its own (demoApiKeyFor), which can only
   * create sessions, in the `demo` tenant: a configured key never reaches a browser.
   */
  readonly demo?: boolean | undefined;
  readonly scoring?: ScoringOptions;
  /** `waiting` (default): the client's form opens when the therapist starts the rating. */
  readonly initialStatus?: 'waiting' | 'open';
  readonly tokenTtlSeconds?: number;
  /** Folder of the built widget bundle. */
  readonly widgetDir?: string;
  /** The version the bundle is served under at `/widget/v/<version>/` (default: package.json's, read at start-up). */
  readonly widgetVersion?: string;
  /** Trust X-Forwarded-* from a proxy in front (for the request's protocol and host). */
  readonly trustProxy?: boolean;
  /** Browser origins allowed to open the WebSocket and call the API; undefined = any (tokens still required). */
  readonly allowedOrigins?: readonly string[] | undefined;
  /** Who may frame the pages (CSP frame-ancestors). Default: the server itself and the allowed origins. */
  readonly frameAncestors?: readonly string[] | undefined;
  readonly rateLimits?: RateLimits;
  /** Redis for several nodes: the Socket.IO Redis Streams adapter. */
  readonly redisUrl?: string | undefined;
  /** Prefix of the Redis stream, channels and keys: deployments sharing one Redis each use their own. */
  readonly redisPrefix?: string | undefined;
  /** POST every stored result here (https://, or http:// to a loopback address), signed with an HMAC of the secret; retried until accepted. */
  readonly webhook?: { readonly url: string; readonly secret: string } | undefined;
  /** Concurrent therapist sockets per session (default 3); one more is refused with TOO_MANY_CONNECTIONS. */
  readonly maxTherapistSockets?: number;
  /** Structured logs (default: JSON lines on stdout at info level). */
  readonly logger?: Logger;
  /**
   * The hosts this server answers for (`name` or `name:port`); with publicUrl, its host too. A
   * request naming another host (Host, or X-Forwarded-Host behind a trusted proxy) is refused with
   * 421 before any route. undefined = any host (then links follow the Host unless publicUrl is set).
   */
  readonly allowedHosts?: readonly string[] | undefined;
  /** Deadlines for slow and idle connections, and an optional cap (defaults: DEFAULT_CONNECTION_LIMITS). */
  readonly connectionLimits?: Partial<ConnectionLimits>;
  /** Serves Prometheus metrics at /metrics to `Authorization: Bearer <metricsToken>`; undefined = no metrics (404). */
  readonly metricsToken?: string | undefined;
}

export interface SrsApp {
  readonly app: Express;
  readonly httpServer: HttpServer;
  readonly io: SrsServer;
  readonly relay: LiveRelay;
  readonly sessions: SessionService;
  readonly logger: Logger;
  /** This app's metrics (its own registry); undefined without a metricsToken. */
  readonly metrics: Metrics | undefined;
  listen(port: number, host?: string): Promise<AddressInfo>;
  /**
   * Drains and closes (the store stays open: it is the caller's). At once: /healthz answers 503,
   * the listener closes, new socket handshakes are refused and every socket hears
   * `server:draining`. Then the sockets' requests in flight are answered (up to `graceMs`), the
   * transports are closed (clients reconnect elsewhere), a request still running is waited for
   * (up to `graceMs` again: its write ends before the store may close), a webhook delivery in
   * flight finishes or is left pending in the outbox, and Redis is let go. Calling it again
   * returns the same promise.
   */
  close(options?: { readonly graceMs?: number }): Promise<void>;
}

/**
 * The built widget, found from this module: the compiled server runs from `dist/server/`, beside
 * `dist/widget/`; the sources (tests, tsx) from `server/`, with the build under `dist/`.
 */
export const DEFAULT_WIDGET_DIR = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../dist/widget' : '../widget', import.meta.url));
/** The project's package.json, from `server/` or from `dist/server/`. */
const PACKAGE_JSON = new URL(import.meta.url.endsWith('.ts') ? '../package.json' : '../../package.json', import.meta.url);

/** How long close() waits, by default, for the sockets' requests and a webhook delivery in flight. */
export const DEFAULT_CLOSE_GRACE_MS = 5_000;
const TWELVE_HOURS = 12 * 3600;

export async function createApp(options: AppOptions): Promise<SrsApp> {
  // Refuse unsafe options before anything is written or opened.
  const webhookProblem = options.webhook ? webhookUrlProblem(options.webhook.url) : null;
  if (webhookProblem) throw new TypeError(`webhook.url ${webhookProblem}`);
  const secretProblem = options.webhook ? webhookSecretProblem(options.webhook.secret) : null;
  if (secretProblem) throw new TypeError(`webhook.secret ${secretProblem}`);
  const limits = connectionLimits(options.connectionLimits);
  const allowList = options.allowedHosts ? new HostAllowList(options.allowedHosts, options.publicUrl) : undefined;
  const trustProxy = options.trustProxy ?? false;
  const logger = options.logger ?? createLogger();
  const metrics = options.metricsToken ? new Metrics() : undefined;
  // Every store call is timed (with metrics) and a failing one logged with its operation.
  const store = instrumentStore(options.store, logger, metrics);
  const demoKey = options.demo ? demoApiKeyFor(options.tokenSecret) : undefined;
  const keys = new ApiKeyRing(options.apiKeys, demoKey);
  const widgetDir = options.widgetDir ?? DEFAULT_WIDGET_DIR;
  // Read and hashed once: the versioned path serves exactly the bytes whose integrity is published.
  const widgetRelease = await loadWidgetRelease(widgetDir, options.widgetVersion ?? (await packageVersion(PACKAGE_JSON)));
  const signer = new TokenSigner(options.tokenSecret);
  const webhooks = options.webhook ? new WebhookDispatcher({ store, ...options.webhook, logger }) : undefined;
  webhooks?.start();
  const sessions = new SessionService({
    store,
    signer,
    scoring: options.scoring ?? DEFAULT_SCORING,
    defaultTokenTtlSeconds: options.tokenTtlSeconds ?? TWELVE_HOURS,
    initialStatus: options.initialStatus ?? 'waiting',
    // The acknowledgement never waits for the webhook: the outbox row is already committed.
    ...(webhooks ? { onResultStored: () => webhooks.notify() } : {}),
  });

  const app = express();
  app.disable('x-powered-by');
  // One hop: the proxy in front. Trusting every hop would let a caller choose its own address.
  if (trustProxy) app.set('trust proxy', 1);
  const httpServer = createServer(httpServerOptions(limits), app);
  capConnections(httpServer, limits, logger);
  const rateLimits = options.rateLimits ?? DEFAULT_RATE_LIMITS;
  const drain = new Drain();
  const redis = options.redisUrl ? await connectRedis(options.redisUrl, options.redisPrefix ?? 'srs-live', logger) : undefined;
  const io: SrsServer = new Server(httpServer, {
    transports: ['websocket'],
    // The largest legitimate message is a submission of about 150 bytes.
    maxHttpBufferSize: 4 * 1024,
    perMessageDeflate: false,
    serveClient: false,
    allowRequest: drain.allowRequest(refusedHandshakesLogged(allowSocketRequest(options.allowedOrigins), logger)),
    // No connection state recovery: Socket.IO restores a recovered socket's rooms and replays its
    // missed packets before any middleware has checked its token. Every (re)join gets the whole
    // session:state instead, and the client re-sends its marks and retries its submission.
    ...(redis ? { adapter: redis.adapter } : {}),
  });
  // Engine.IO keeps each connection's first HTTP request (headers, socket, parser state) for the
  // connection's whole life; nothing here reads it after the handshake, and letting it go saves
  // a few kilobytes per socket.
  io.engine.on('connection', (rawSocket: { request: unknown }) => {
    rawSocket.request = null;
  });
  // An Engine.IO connection that never joins /srs (never authenticates) is closed after this.
  io.connectTimeout(limits.socketJoinTimeoutMs);
  dropUnansweredCloses(io.engine);
  // Socket.IO answers /socket.io/ before Express sees it: the upgrade needs its own Host check.
  if (allowList) io.engine.use(engineHostGuard(allowList, trustProxy));
  const relay = attachLiveRelay(io, sessions, signer, {
    limits: rateLimits,
    clustered: redis !== undefined,
    logger,
    track: (work) => drain.track(work),
    metrics,
    ...(options.maxTherapistSockets === undefined ? {} : { maxTherapistSockets: options.maxTherapistSockets }),
  });
  // First: every line about a request, refusals included, carries its requestId.
  app.use(requestContext(logger, metrics));
  const security = { allowedOrigins: options.allowedOrigins, frameAncestors: options.frameAncestors ?? ["'self'", ...(options.allowedOrigins ?? [])] };
  app.use(drain.closeConnections());
  app.use(securityHeaders(security));
  // /healthz and /metrics name no host in their answers, and load balancers and Prometheus reach each node by its address.
  if (allowList) app.use(hostGuard(allowList, trustProxy, ['/healthz', '/metrics']));

  app.get('/healthz', drain.readiness(), healthRoute(store, logger));
  app.get('/metrics', metricsRoute(metrics, options.metricsToken, logger));

  app.use(
    '/widget',
    (_req, res, next) => {
      // A platform page on another origin loads the bundle as a module script, which needs CORS.
      res.set('access-control-allow-origin', '*');
      res.set('cross-origin-resource-policy', 'cross-origin');
      next();
    },
    // /widget/release.json and the immutable /widget/v/<version>/…; the unversioned files stay on a short cache.
    widgetReleaseRoutes(widgetRelease),
    express.static(widgetDir, { maxAge: '5m', fallthrough: false }),
  );

  app.get('/fhir/Questionnaire/srs', (req, res) => {
    res.type('application/fhir+json; charset=utf-8').send(JSON.stringify(srsQuestionnaire(baseUrlOf(req, options.publicUrl))));
  });

  app.use(
    '/api',
    noStore,
    apiCors(options.allowedOrigins),
    apiRateLimit(rateLimits.http, redis ? { redis: redis.client, keyPrefix: options.redisPrefix ?? 'srs-live' } : undefined),
    express.json({ limit: '16kb' }),
    apiRoutes({ sessions, signer, relay, keys, logger, publicUrl: options.publicUrl }),
  );
  app.use(pagesRoutes({ demoApiKey: demoKey }));
  app.use((_req, res) => sendError(res, 'notFound', 'no such page'));
  app.use(jsonErrorHandler(logger));

  let closing: Promise<void> | undefined;
  return {
    app,
    httpServer,
    io,
    relay,
    sessions,
    logger,
    metrics,
    listen(port: number, host?: string) {
      return new Promise<AddressInfo>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          httpServer.off('error', reject);
          resolve(httpServer.address() as AddressInfo);
        });
      });
    },
    close(closeOptions = {}) {
      closing ??= closeApp(closeOptions.graceMs ?? DEFAULT_CLOSE_GRACE_MS);
      return closing;
    },
  };

  async function closeApp(graceMs: number): Promise<void> {
    const started = Date.now();
    drain.begin();
    // No new connections; idle kept-alive ones close now, busy ones after their answer.
    httpServer.close();
    const webhooksStopped = webhooks?.stop({ graceMs });
    relay.drain();
    const answered = await drain.settled(graceMs);
    // The transports close: a client sees its connection drop and reconnects (to another node).
    relay.close();
    await closeTransports(relay.namespace.sockets.values(), Math.min(graceMs, 1_000));
    await new Promise<void>((resolve) => {
      void io.close(() => resolve());
    });
    // A request that arrived just before the close is written (its client will retry elsewhere
    // and get the stored result): the store must outlive it.
    const finished = await drain.settled(graceMs);
    httpServer.closeAllConnections();
    await webhooksStopped;
    await redis?.close();
    const drained = { event: 'server.drained', ms: Date.now() - started, unfinished: drain.inFlight };
    if (answered && finished) logger.info(drained, 'drained');
    else logger.warn(drained, 'drained, with requests unanswered or unfinished');
  }
}
