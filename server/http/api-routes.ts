/**
 * The platform API. Every body is parsed with the shared schemas; every error is JSON with a
 * code and a message; every read of a client's results is written to the audit trail.
 */
import { Router, type NextFunction, type Request, type Response } from 'express';
import { CreateSessionBodySchema, PseudonymousRefSchema } from '../../shared/schemas.ts';
import type { Result } from '../../shared/protocol.ts';
import { resultsToCsv } from '../exports/csv.ts';
import { resultsToFhirBundle } from '../exports/fhir.ts';
import type { ApiKeyRing } from '../api-keys.ts';
import type { LiveRelay } from '../live/live-relay.ts';
import type { Logger } from '../logging.ts';
import type { SessionService } from '../sessions.ts';
import type { SessionRecord } from '../store/store.ts';
import type { TokenSigner } from '../tokens.ts';
import { actorOf, authorize, callerContext, callerOf, refuse, type ApiAuth } from './api-auth.ts';
import { describeZodError, sendError } from './errors.ts';
import { openApiDocument } from './openapi.ts';

export interface ApiRoutesOptions {
  readonly sessions: SessionService;
  readonly signer: TokenSigner;
  readonly relay: LiveRelay;
  /** The configured API keys (and the demo page's, when the demo is on). */
  readonly keys: ApiKeyRing;
  readonly logger: Logger;
  /** The public base URL of pages and FHIR references; derived from the request when absent. */
  readonly publicUrl: string | undefined;
}

const EXPORT_FORMATS = ['json', 'csv', 'fhir'] as const;
type ExportFormat = (typeof EXPORT_FORMATS)[number];

/**
 * Mounted first on /api, so that every answer there carries it, the ones made before any route
 * runs included (preflight, refused origin, rate limit, unreadable body): join tokens, sessions
 * and results pass through the API, and no cache, shared or the browser's, may keep one.
 */
export function noStore(_req: Request, res: Response, next: NextFunction): void {
  res.set('cache-control', 'no-store');
  next();
}

export function baseUrlOf(req: Request, publicUrl: string | undefined): string {
  // req.host follows X-Forwarded-Host only when the proxy is trusted (SRS_TRUST_PROXY).
  return (publicUrl ?? `${req.protocol}://${req.host ?? 'localhost'}`).replace(/\/+$/, '');
}

/**
 * Every session, result and client belongs to a tenant (the label of the key that created the
 * session). A caller sees only its own tenant's: another tenant's session or client answers the
 * same 404 as one that does not exist, so that its existence is never confirmed.
 */
export function apiRoutes({ sessions, signer, relay, keys, logger, publicUrl }: ApiRoutesOptions): Router {
  const router = Router();
  const store = sessions.store;
  const auth: ApiAuth = { keys, store, signer, logger };

  router.get('/openapi.json', (req, res) => res.json(openApiDocument(baseUrlOf(req, publicUrl))));

  router.post('/sessions', authorize(auth, { createOnly: true }), async (req: Request, res: Response) => {
    const clientRef: unknown = req.body?.clientRef;
    if (typeof clientRef === 'string' && /@/.test(clientRef)) {
      return sendError(res, 'invalidBody', "clientRef: looks like an e-mail address; send the platform's pseudonymous id instead");
    }
    const parsed = CreateSessionBodySchema.safeParse(req.body ?? {});
    if (!parsed.success) return sendError(res, 'invalidBody', describeZodError(parsed.error));
    const caller = callerOf(res);
    const created = await sessions.create(parsed.data, baseUrlOf(req, publicUrl), { tenant: caller.tenant, actor: actorOf(caller) });
    res.status(201).json(created);
  });

  router.get('/sessions/:id', authorize(auth, { tokens: true }), async (req: Request<{ id: string }>, res: Response) => {
    const caller = callerOf(res);
    if (caller.kind === 'token' && caller.claims.role !== 'therapist') {
      return refuse(req, res, logger, 403, 'client-token', 'this token may not read this session', callerContext(caller));
    }
    if (caller.kind === 'token' && caller.claims.sid !== req.params.id) {
      return refuse(req, res, logger, 403, 'other-session', 'this token may not read this session', callerContext(caller));
    }
    const current = await sessions.getInTenant(req.params.id, caller.tenant);
    if (!current) return sendError(res, 'notFound', 'no such session');
    await store.appendAudit({
      actor: actorOf(caller),
      action: 'session.read',
      tenant: caller.tenant,
      sessionId: current.session.id,
      clientRef: current.session.clientRef,
      at: new Date().toISOString(),
    });
    res.json(sessionView(current.session, current.result));
  });

  router.post('/sessions/:id/close', authorize(auth), async (req: Request<{ id: string }>, res: Response) => {
    const caller = callerOf(res);
    const current = await sessions.getInTenant(req.params.id, caller.tenant);
    if (!current) return sendError(res, 'notFound', 'no such session');
    const closed = await sessions.setStatus(req.params.id, 'closed');
    if (!closed) return sendError(res, 'notFound', 'no such session');
    await store.appendAudit({
      actor: actorOf(caller),
      action: 'session.close',
      tenant: caller.tenant,
      sessionId: req.params.id,
      clientRef: current.session.clientRef,
      at: new Date().toISOString(),
    });
    await relay.closeSession(req.params.id);
    res.json(sessionView(closed, current.result));
  });

  router.get('/clients/:clientRef/results', authorize(auth, { tokens: true }), async (req: Request<{ clientRef: string }>, res: Response) => {
    const caller = callerOf(res);
    const clientRef = PseudonymousRefSchema.safeParse(req.params.clientRef);
    if (!clientRef.success) return sendError(res, 'notFound', 'no such client');
    if (caller.kind === 'token') {
      if (caller.claims.role !== 'therapist')
        return refuse(req, res, logger, 403, 'client-token', 'this token may not read these results', callerContext(caller));
      // A therapist's token reads the history of its own session's client (for the trend).
      const session = await store.getSession(caller.claims.sid);
      if (session?.clientRef !== clientRef.data)
        return refuse(req, res, logger, 403, 'other-client', 'this token may not read these results', callerContext(caller));
    }
    const format = exportFormatOf(req.query['format']);
    if (!format) return sendError(res, 'badRequest', `format must be one of ${EXPORT_FORMATS.join(', ')}`);
    // A client is a clientRef within a tenant: one this tenant never had is no client of its own,
    // whoever else has it.
    if (!(await store.hasClient(caller.tenant, clientRef.data))) return sendError(res, 'notFound', 'no such client');
    const results = await store.listClientResults(caller.tenant, clientRef.data);
    await store.appendAudit({
      actor: actorOf(caller),
      action: format === 'json' ? 'results.read' : `results.export.${format}`,
      tenant: caller.tenant,
      sessionId: caller.kind === 'token' ? caller.claims.sid : null,
      clientRef: clientRef.data,
      at: new Date().toISOString(),
    });
    sendResults(res, format, results, { baseUrl: baseUrlOf(req, publicUrl), clientRef: clientRef.data });
  });

  router.use((_req: Request, res: Response) => sendError(res, 'notFound', 'no such endpoint'));
  return router;
}

/** A session as the API shows it: named fields only, so that internal ones (the tenant) stay in. */
function sessionView(session: SessionRecord, result: Result | null) {
  const { id, clientRef, therapistRef, instrument, status, visibility, createdAt, closedAt } = session;
  return { id, clientRef, therapistRef, instrument, status, visibility, createdAt, closedAt, result };
}

function exportFormatOf(value: unknown): ExportFormat | null {
  if (value === undefined) return 'json';
  return typeof value === 'string' && (EXPORT_FORMATS as readonly string[]).includes(value) ? (value as ExportFormat) : null;
}

function sendResults(res: Response, format: ExportFormat, results: Result[], context: { baseUrl: string; clientRef: string }): void {
  if (format === 'csv') {
    res.type('text/csv; charset=utf-8');
    res.set('content-disposition', `attachment; filename="srs-${context.clientRef}.csv"`);
    res.send(resultsToCsv(results));
  } else if (format === 'fhir') {
    res.type('application/fhir+json; charset=utf-8');
    res.send(JSON.stringify(resultsToFhirBundle(results, context)));
  } else {
    res.json({ clientRef: context.clientRef, results });
  }
}
