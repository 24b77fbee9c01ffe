/**
 * The Host allow-list. Without SRS_PUBLIC_URL, join URLs, FHIR references and the OpenAPI server
 * URL are built from the request's Host (or X-Forwarded-Host behind a trusted proxy); a request
 * with a poisoned Host would get links to someone else's site, and a DNS-rebinding page could
 * talk to a server bound to localhost. With an allow-list, such a request is refused before any
 * route, on plain HTTP and on the WebSocket upgrade alike, with 421 Misdirected Request.
 */
import { ServerResponse, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { HTTP_ERRORS, sendError } from './errors.ts';

interface HostRule {
  readonly name: string;
  /** undefined: any port. */
  readonly port: string | undefined;
}

/** A Host value: a name or IPv4 address, or an IPv6 address in brackets, and an optional port. Nothing else (no user info, no path). */
const HOST_SYNTAX = /^(?<name>[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?\.?|\[[0-9a-f:.]+\])(?::(?<port>\d{1,5}))?$/i;

function parseHost(value: string): HostRule | null {
  const match = HOST_SYNTAX.exec(value.trim());
  const name = match?.groups?.['name'];
  if (!name) return null;
  const port = match.groups?.['port'];
  // A port past 65535 would make every link unparseable.
  if (port !== undefined && Number(port) > 65_535) return null;
  // "example.org." and "example.org" are the same host.
  return { name: name.toLowerCase().replace(/\.$/, ''), port };
}

/** Parses SRS_ALLOWED_HOSTS entries (`name` for any port, `name:port` for one); throws on an entry that is not a host. */
export function parseAllowedHost(entry: string): HostRule {
  const bareIpv6 = /^[0-9a-f]*:[0-9a-f]*:[0-9a-f:.]*$/i.test(entry) ? `[${entry}]` : entry;
  const rule = parseHost(bareIpv6);
  if (!rule) throw new RangeError(`"${entry}" is not a host name such as srs.example.org or srs.example.org:8443`);
  return rule;
}

export class HostAllowList {
  readonly #rules: readonly HostRule[];

  /** The given hosts, and the host of the public URL when there is one. */
  constructor(allowedHosts: readonly string[], publicUrl: string | undefined) {
    const rules = allowedHosts.map(parseAllowedHost);
    if (publicUrl !== undefined) rules.push(parseAllowedHost(new URL(publicUrl).host));
    if (rules.length === 0) throw new RangeError('allowedHosts is empty and there is no publicUrl: no request could be served');
    this.#rules = rules;
  }

  allows(host: string | undefined): boolean {
    const parsed = host === undefined ? null : parseHost(host);
    if (!parsed) return false;
    return this.#rules.some((rule) => rule.name === parsed.name && (rule.port === undefined || rule.port === parsed.port));
  }
}

/**
 * The host the links of a request would name: X-Forwarded-Host (its first value) when the proxy
 * is trusted and sends one, else Host. The same choice as Express's `req.host` with
 * `trust proxy` set to one hop, which is what app.ts sets.
 */
export function requestHost(headers: IncomingHttpHeaders, trustProxy: boolean): string | undefined {
  const forwarded = headers['x-forwarded-host'];
  if (trustProxy && typeof forwarded === 'string' && forwarded !== '') return forwarded.split(',')[0]?.trim();
  return headers.host;
}

const REFUSAL = { code: HTTP_ERRORS.misdirected.code, message: 'this server does not answer for the host this request names' };

/** Express: refuses a request whose host is not allowed. Paths in `exempt` pass (see app.ts for /healthz). */
export function hostGuard(allowList: HostAllowList, trustProxy: boolean, exempt: readonly string[]): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (exempt.includes(req.path) || allowList.allows(requestHost(req.headers, trustProxy))) return next();
    sendError(res, 'misdirected', REFUSAL.message);
  };
}

/**
 * Engine.IO middleware (`io.engine.use`): Socket.IO answers /socket.io/ itself, before Express, so
 * it needs its own guard. On an upgrade there is no response object to write to, only the socket.
 */
export function engineHostGuard(allowList: HostAllowList, trustProxy: boolean) {
  return (req: IncomingMessage, res: ServerResponse | object, next: (error?: unknown) => void): void => {
    if (allowList.allows(requestHost(req.headers, trustProxy))) return next();
    const body = JSON.stringify({ error: REFUSAL });
    const status = HTTP_ERRORS.misdirected.status;
    if (res instanceof ServerResponse) {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' }).end(body);
      return;
    }
    req.socket.end(
      `HTTP/1.1 ${status} Misdirected Request\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  };
}
