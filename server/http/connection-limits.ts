/**
 * Deadlines and caps for connections that have not earned their keep: a request whose headers or
 * body never finish, an idle keep-alive connection, a WebSocket that never joins the `/srs`
 * namespace. Without them one address can hold thousands of half-sent requests (Node's defaults
 * keep headers waiting 60 s and check only every 30 s) until the process runs out of file
 * descriptors and even /healthz stops answering.
 */
import type { Server as HttpServer, IncomingMessage, ServerOptions } from 'node:http';
import type { Logger } from '../logging.ts';

export interface ConnectionLimits {
  /** How long a request's headers may take to arrive. */
  readonly headersTimeoutMs: number;
  /** How long a whole request (headers and body) may take to arrive; at least headersTimeoutMs. */
  readonly requestTimeoutMs: number;
  /** How long a keep-alive connection may sit idle between requests. */
  readonly keepAliveTimeoutMs: number;
  /**
   * How often Node looks for requests past their deadline. Node checks only on this tick (30 s by
   * default), so a deadline is really deadline + up to one interval.
   */
  readonly checkIntervalMs: number;
  /** How long an Engine.IO connection may stay open without joining a namespace (Socket.IO `connectTimeout`). */
  readonly socketJoinTimeoutMs: number;
  /** Open TCP connections (HTTP and WebSocket) beyond which new ones are dropped at once; undefined = no cap. */
  readonly maxConnections: number | undefined;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 10_000,
  // Node's own default. A proxy that reuses connections to us must time out its idle ones sooner
  // (nginx: `keepalive_timeout` in the upstream block, docs/deploy.md), or it may send a request
  // on a connection we are closing.
  keepAliveTimeoutMs: 5_000,
  checkIntervalMs: 1_000,
  // A client sends its namespace CONNECT right after the Engine.IO handshake: one round trip.
  socketJoinTimeoutMs: 5_000,
  maxConnections: undefined,
};

export function connectionLimits(overrides: Partial<ConnectionLimits> = {}): ConnectionLimits {
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...overrides };
  const { maxConnections, ...durations } = limits;
  for (const [name, value] of Object.entries(durations)) {
    if (!Number.isInteger(value) || value <= 0) throw new RangeError(`connectionLimits.${name} must be a positive whole number of milliseconds`);
  }
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) throw new RangeError('connectionLimits.headersTimeoutMs must not exceed requestTimeoutMs');
  if (maxConnections !== undefined && (!Number.isInteger(maxConnections) || maxConnections < 1)) {
    throw new RangeError('connectionLimits.maxConnections must be a positive whole number');
  }
  return limits;
}

/** Options for `http.createServer`: the checking interval can only be set there. */
export function httpServerOptions(limits: ConnectionLimits): ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: limits.checkIntervalMs,
  };
}

/** How often, at most, dropped connections are reported: a flood must not become a flood of log lines. */
const DROP_REPORT_INTERVAL_MS = 60_000;

/** Applies the connection cap, and reports dropped connections at most once a minute. */
export function capConnections(httpServer: HttpServer, limits: ConnectionLimits, logger: Logger): void {
  // keepAliveTimeout is set again here: older Node versions ignore it among createServer's options.
  httpServer.keepAliveTimeout = limits.keepAliveTimeoutMs;
  if (limits.maxConnections === undefined) return;
  httpServer.maxConnections = limits.maxConnections;
  let dropped = 0;
  let reportedAt = Number.NEGATIVE_INFINITY;
  httpServer.on('drop', () => {
    dropped += 1;
    const now = performance.now();
    if (now - reportedAt < DROP_REPORT_INTERVAL_MS) return;
    logger.warn({ event: 'http.connections-dropped', dropped, maxConnections: limits.maxConnections }, 'connection cap reached: new connections are dropped');
    reportedAt = now;
    dropped = 0;
  });
}

/** How long a peer has to answer the server's WebSocket closing frame: a real client needs one round trip. */
export const CLOSE_GRACE_MS = 1_000;

/** The part of an Engine.IO connection this module needs (the request is set when the connection opens). */
interface EngineConnection {
  readonly request: IncomingMessage | null;
  once(event: 'close', listener: () => void): unknown;
}

/**
 * When Engine.IO closes a connection (one that never joined, say), the WebSocket library sends its
 * closing frame and then waits up to 30 s for the peer's before it lets the TCP connection go; a
 * peer that never answers would keep its file descriptor that long. This lets it go after a grace.
 */
export function dropUnansweredCloses(
  engine: { prependListener(event: 'connection', listener: (connection: EngineConnection) => void): unknown },
  graceMs = CLOSE_GRACE_MS,
): void {
  // Prepended: app.ts drops each connection's request (to save memory) in its own listener.
  engine.prependListener('connection', (connection) => {
    const tcp = connection.request?.socket;
    if (!tcp) return;
    connection.once('close', () => {
      if (tcp.destroyed) return;
      const timer = setTimeout(() => tcp.destroy(), graceMs);
      timer.unref();
      tcp.once('close', () => clearTimeout(timer));
    });
  });
}
