/**
 * The platform API. Every body is parsed with the shared schemas; every error is JSON with a
 * code and a message; every read of a client's results is written to the audit trail.
 */
import { Router, type Request, type Response } from 'express';
import { CreateSessionBodySchema, PseudonymousRefSchema } from '../../shared/schemas.ts';
import type { Result } from '../../shared/protocol.ts';
import { resultsToCsv } from '../exports/csv.ts';
import { resultsToFhirBundle } from '../exports/fhir.ts';
import type { LiveRelay } from '../live/live-relay.ts';
import type { SessionService } from '../sessions.ts';
import type { TokenSigner } from '../tokens.ts';
import { actorOf, identifyCaller, requireApiKey, type Caller } from './api-auth.ts';
import { describeZodError, sendError } from './errors.ts';
import { openApiDocument } from './openapi.ts';

export interface ApiRoutesOptions {
  readonly sessions: SessionService;
  readonly signer: TokenSigner;
  readonly relay: LiveRelay;
  /** The public base URL of pages and FHIR references; derived from the request when absent. */
  readonly publicUrl: string | undefined;
}

const EXPORT_FORMATS = ['json', 'csv', 'fhir'] as const;
type ExportFormat = (typeof EXPORT_FORMATS)[number];

export function baseUrlOf(req: Request, publicUrl: string | undefined): string {
  // req.host follows X-Forwarded-Host only when the proxy is trusted (SRS_TRUST_PROXY).
  return (publicUrl ?? `${req.protocol}://${req.host ?? 'localhost'}`).replace(/\/+$/, '');
}

export function apiRoutes({ sessions, signer, relay, publicUrl }: ApiRoutesOptions): Router {
  const router = Router();
  const store = sessions.store;
  const platformOnly = requireApiKey(store, signer);

  router.get('/openapi.json', (req, res) => res.json(openApiDocument(baseUrlOf(req, publicUrl))));

  router.post('/sessions', platformOnly, async (req: Request, res: Response) => {
    const clientRef: unknown = req.body?.clientRef;
    if (typeof clientRef === 'string' && /@/.test(clientRef)) {
      return sendError(res, 'invalidBody', 'clientRef: looks like an e-mail address; send the platform\'s pseudonymous id instead');
    }
    const parsed = CreateSessionBodySchema.safeParse(req.body ?? {});
    if (!parsed.success) return sendError(res, 'invalidBody', describeZodError(parsed.error));
    const caller = res.locals['caller'] as Caller;
    const created = await sessions.create(parsed.data, baseUrlOf(req, publicUrl), actorOf(caller));
    res.status(201).json(created);
  });

  router.get('/sessions/:id', async (req: Request<{ id: string }>, res: Response) => {
    const caller = await identifyCaller(req, res, store, signer);
    if (!caller) return;
    if (caller.kind === 'token' && (caller.claims.role !== 'therapist' || caller.claims.sid !== req.params.id)) {
      return sendError(res, 'forbidden', 'this token may not read this session');
    }
    const current = await sessions.get(req.params.id);
    if (!current) return sendError(res, 'notFound', 'no such session');
    await store.appendAudit({
      actor: actorOf(caller),
      action: 'session.read',
      sessionId: current.session.id,
      clientRef: current.session.clientRef,
      at: new Date().toISOString(),
    });
    res.json({ ...current.session, result: current.result });
  });

  router.post('/sessions/:id/close', platformOnly, async (req: Request<{ id: string }>, res: Response) => {
    const current = await sessions.get(req.params.id);
    if (!current) return sendError(res, 'notFound', 'no such session');
    const closed = await sessions.setStatus(req.params.id, 'closed');
    await store.appendAudit({
      actor: actorOf(res.locals['caller'] as Caller),
      action: 'session.close',
      sessionId: req.params.id,
      clientRef: current.session.clientRef,
      at: new Date().toISOString(),
    });
    await relay.closeSession(req.params.id);
    res.json({ ...closed, result: current.result });
  });

  router.get('/clients/:clientRef/results', async (req: Request<{ clientRef: string }>, res: Response) => {
    const caller = await identifyCaller(req, res, store, signer);
    if (!caller) return;
    const clientRef = PseudonymousRefSchema.safeParse(req.params.clientRef);
    if (!clientRef.success) return sendError(res, 'notFound', 'no such client');
    if (!(await mayReadClient(caller, clientRef.data))) return sendError(res, 'forbidden', 'this token may not read these results');
    const format = exportFormatOf(req.query['format']);
    if (!format) return sendError(res, 'badRequest', `format must be one of ${EXPORT_FORMATS.join(', ')}`);
    const results = await store.listClientResults(clientRef.data);
    await store.appendAudit({
      actor: actorOf(caller),
      action: format === 'json' ? 'results.read' : `results.export.${format}`,
      sessionId: caller.kind === 'token' ? caller.claims.sid : null,
      clientRef: clientRef.data,
      at: new Date().toISOString(),
    });
    sendResults(res, format, results, { baseUrl: baseUrlOf(req, publicUrl), clientRef: clientRef.data });
  });

  /** A therapist's token reads the history of its own session's client (for the trend). */
  async function mayReadClient(caller: Caller, clientRef: string): Promise<boolean> {
    if (caller.kind === 'platform') return true;
    if (caller.claims.role !== 'therapist') return false;
    const session = await store.getSession(caller.claims.sid);
    return session !== null && session.clientRef === clientRef;
  }

  router.use((_req: Request, res: Response) => sendError(res, 'notFound', 'no such endpoint'));
  return router;
}

function exportFormatOf(value: unknown): ExportFormat | null {
  if (value === undefined) return 'json';
  return typeof value === 'string' && (EXPORT_FORMATS as readonly string[]).includes(value) ? (value as ExportFormat) : null;
}

function sendResults(res: Response, format: ExportFormat, results: Result[], context: { baseUrl: string; clientRef: string }): void {
  res.set('cache-control', 'no-store');
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
