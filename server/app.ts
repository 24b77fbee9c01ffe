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
import { webhookUrlProblem } from './webhooks/webhook-url.ts';
import { createLogger, type Logger } from './logging.ts';
import { Metrics } from './metrics.ts';
import { metricsRoute } from './http/metrics-route.ts';
import { refusedHandshakesLogged, requestContext } from './http/request-log.ts';
import { instrumentStore } from './store/instrumented-store.ts';

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
  close(): Promise<void>;
}

export const DEFAULT_WIDGET_DIR = fileURLToPath(new URL('../dist/widget', import.meta.url));
const TWELVE_HOURS = 12 * 3600;

export async function createApp(options: AppOptions): Promise<SrsApp> {
  // Refuse unsafe options before anything is written or opened.
  const webhookProblem = options.webhook ? webhookUrlProblem(options.webhook.url) : null;
  if (webhookProblem) throw new TypeError(`webhook.url ${webhookProblem}`);
  const limits = connectionLimits(options.connectionLimits);
  const allowList = options.allowedHosts ? new HostAllowList(options.allowedHosts, options.publicUrl) : undefined;
  const trustProxy = options.trustProxy ?? false;
  const logger = options.logger ?? createLogger();
  const metrics = options.metricsToken ? new Metrics() : undefined;
  // Every store call is timed (with metrics) and a failing one logged with its operation.
  const store = instrumentStore(options.store, logger, metrics);
  const demoKey = options.demo ? demoApiKeyFor(options.tokenSecret) : undefined;
  const keys = new ApiKeyRing(options.apiKeys, demoKey);

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
  const redis = options.redisUrl ? await connectRedis(options.redisUrl, options.redisPrefix ?? 'srs-live', logger) : undefined;
  const io: SrsServer = new Server(httpServer, {
    transports: ['websocket'],
    // The largest legitimate message is a submission of about 150 bytes.
    maxHttpBufferSize: 4 * 1024,
    perMessageDeflate: false,
    serveClient: false,
    allowRequest: refusedHandshakesLogged(allowSocketRequest(options.allowedOrigins), logger),
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
    metrics,
    ...(options.maxTherapistSockets === undefined ? {} : { maxTherapistSockets: options.maxTherapistSockets }),
  });
  // First: every line about a request, refusals included, carries its requestId.
  app.use(requestContext(logger, metrics));
  const security = { allowedOrigins: options.allowedOrigins, frameAncestors: options.frameAncestors ?? ["'self'", ...(options.allowedOrigins ?? [])] };
  app.use(securityHeaders(security));
  // /healthz and /metrics name no host in their answers, and load balancers and Prometheus reach each node by its address.
  if (allowList) app.use(hostGuard(allowList, trustProxy, ['/healthz', '/metrics']));

  app.get('/healthz', healthRoute(store, logger));
  app.get('/metrics', metricsRoute(metrics, options.metricsToken, logger));

  app.use(
    '/widget',
    (_req, res, next) => {
      // A platform page on another origin loads the bundle as a module script, which needs CORS.
      res.set('access-control-allow-origin', '*');
      res.set('cross-origin-resource-policy', 'cross-origin');
      next();
    },
    express.static(options.widgetDir ?? DEFAULT_WIDGET_DIR, { maxAge: '5m', fallthrough: false }),
  );

  app.get('/fhir/Questionnaire/srs', (req, res) => {
    res.type('application/fhir+json; charset=utf-8').send(JSON.stringify(srsQuestionnaire(baseUrlOf(req, options.publicUrl))));
  });

  app.use('/api', noStore, apiCors(options.allowedOrigins), apiRateLimit(rateLimits.http), express.json({ limit: '16kb' }), apiRoutes({ sessions, signer, relay, keys, logger, publicUrl: options.publicUrl }));
  app.use(pagesRoutes({ demoApiKey: demoKey }));
  app.use((_req, res) => sendError(res, 'notFound', 'no such page'));
  app.use(jsonErrorHandler(logger));

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
    async close() {
      await webhooks?.stop();
      relay.close();
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => {
        void io.close(() => resolve());
      });
      await redis?.close();
    },
  };
}
