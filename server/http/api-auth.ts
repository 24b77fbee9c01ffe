/**
 * Who is calling the platform API: a platform with an API key (acting for its tenant), or a
 * therapist with their join token (which may read only its own session and that client's history,
 * within the session's tenant). Every refusal is logged with its reason, the route and the
 * caller's address, never with the credential.
 */
import type { NextFunction, Request, Response } from 'express';
import type { JoinClaims } from '../../shared/protocol.ts';
import type { ApiKeyRing } from '../api-keys.ts';
import type { Logger } from '../logging.ts';
import type { Store } from '../store/store.ts';
import { TokenError, type TokenSigner } from '../tokens.ts';
import { sendError } from './errors.ts';
import { requestLog } from './request-log.ts';

export type Caller =
  | { readonly kind: 'platform'; readonly tenant: string; readonly createOnly: boolean }
  | { readonly kind: 'token'; readonly tenant: string; readonly claims: JoinClaims };

export interface ApiAuth {
  readonly keys: ApiKeyRing;
  readonly store: Store;
  readonly signer: TokenSigner;
  readonly logger: Logger;
}

/** Why a request was refused: in the log only; the caller gets one message per status. */
export type RefusalReason =
  | 'missing-credential'
  | 'unknown-key'
  | 'invalid-token'
  | 'expired-token'
  | 'unknown-session'
  | 'closed-session'
  | 'token-on-platform-route'
  | 'demo-key-creates-only'
  | 'client-token'
  | 'other-session'
  | 'other-client';

/** Who else a route lets in besides a platform's full API key. */
export interface Admits {
  /** A join token (the route then checks its role and session). */
  readonly tokens?: boolean;
  /** The demo page's create-only key. */
  readonly createOnly?: boolean;
}

export function bearerOf(req: Request): string | null {
  const header = req.get('authorization');
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1] ?? null;
}

export function actorOf(caller: Caller): string {
  return caller.kind === 'platform' ? `api:${caller.tenant}` : `${caller.claims.role}:${caller.claims.sid}`;
}

/** The caller that `authorize` admitted to this request. */
export function callerOf(res: Response): Caller {
  return res.locals['caller'] as Caller;
}

/**
 * Answers 401 or 403 and logs why, on the request's logger (with its requestId). The route is the
 * pattern (`/api/clients/:clientRef/results`), never the path, which may carry a clientRef.
 * `context` adds what is known of the caller: the key label (tenant), the token's session and role.
 */
export function refuse(
  req: Request,
  res: Response,
  logger: Logger,
  status: 401 | 403,
  reason: RefusalReason,
  message: string,
  context: CallerContext = {},
): void {
  const route = `${req.baseUrl}${typeof req.route?.path === 'string' ? req.route.path : ''}`;
  requestLog(res, logger).warn({ event: 'api.auth.refused', status, reason, method: req.method, route, ip: req.ip, ...context }, 'API request refused');
  sendError(res, status === 401 ? 'unauthorized' : 'forbidden', message);
}

/** The pseudonymous facts about a caller that a refusal's log line may carry. */
export interface CallerContext {
  readonly keyLabel?: string;
  readonly sessionId?: string;
  readonly role?: string;
}

/** What the log may say about an admitted caller. */
export function callerContext(caller: Caller): CallerContext {
  return caller.kind === 'platform' ? { keyLabel: caller.tenant } : { sessionId: caller.claims.sid, role: caller.claims.role };
}

const NOT_VALID = 'the API key or token is not valid';

/** Resolves the caller from `Authorization: Bearer …`, or answers 401 and resolves null. */
async function identify(req: Request, res: Response, auth: ApiAuth): Promise<Caller | null> {
  const bearer = bearerOf(req);
  if (!bearer) {
    refuse(req, res, auth.logger, 401, 'missing-credential', 'send an API key as "Authorization: Bearer <key>"');
    return null;
  }
  const grant = auth.keys.find(bearer);
  if (grant) return { kind: 'platform', ...grant };
  if (bearer.split('.').length !== 3) {
    refuse(req, res, auth.logger, 401, 'unknown-key', NOT_VALID);
    return null;
  }
  let claims: JoinClaims;
  try {
    claims = await auth.signer.verify(bearer);
  } catch (error) {
    if (!(error instanceof TokenError)) throw error;
    refuse(req, res, auth.logger, 401, error.expired ? 'expired-token' : 'invalid-token', NOT_VALID);
    return null;
  }
  // Closing a session ends its tokens, for the API as for the live relay.
  const session = await auth.store.getSession(claims.sid);
  if (!session || session.status === 'closed') {
    refuse(req, res, auth.logger, 401, session ? 'closed-session' : 'unknown-session', NOT_VALID, { sessionId: claims.sid, role: claims.role });
    return null;
  }
  return { kind: 'token', tenant: session.tenant, claims };
}

/** Middleware: admits a platform key, and what `admits` adds; the caller is then `callerOf(res)`. */
export function authorize(auth: ApiAuth, admits: Admits = {}) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const caller = await identify(req, res, auth);
    if (!caller) return;
    if (caller.kind === 'token' && !admits.tokens) {
      return refuse(req, res, auth.logger, 403, 'token-on-platform-route', 'this endpoint needs a platform API key', callerContext(caller));
    }
    if (caller.kind === 'platform' && caller.createOnly && !admits.createOnly) {
      return refuse(req, res, auth.logger, 403, 'demo-key-creates-only', 'the demo key may only create sessions', callerContext(caller));
    }
    res.locals['caller'] = caller;
    next();
  };
}
