/**
 * Who is calling the platform API: a platform with an API key, or a therapist with their join
 * token (which may read only its own session and that client's history).
 */
import type { NextFunction, Request, Response } from 'express';
import type { JoinClaims } from '../../shared/protocol.ts';
import { hashApiKey } from '../api-keys.ts';
import type { Store } from '../store/store.ts';
import { TokenError, type TokenSigner } from '../tokens.ts';
import { sendError } from './errors.ts';

export type Caller = { kind: 'platform'; label: string } | { kind: 'token'; claims: JoinClaims };

export function bearerOf(req: Request): string | null {
  const header = req.get('authorization');
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1] ?? null;
}

export function actorOf(caller: Caller): string {
  return caller.kind === 'platform' ? `api:${caller.label}` : `${caller.claims.role}:${caller.claims.sid}`;
}

/** Resolves the caller from `Authorization: Bearer …`, or answers 401 and resolves null. */
export async function identifyCaller(req: Request, res: Response, store: Store, signer: TokenSigner): Promise<Caller | null> {
  const bearer = bearerOf(req);
  if (!bearer) {
    sendError(res, 'unauthorized', 'send an API key as "Authorization: Bearer <key>"');
    return null;
  }
  const key = await store.findApiKey(hashApiKey(bearer));
  if (key) return { kind: 'platform', label: key.label };
  if (bearer.split('.').length === 3) {
    try {
      const claims = await signer.verify(bearer);
      // Closing a session ends its tokens, for the API as for the live relay.
      const session = await store.getSession(claims.sid);
      if (session && session.status !== 'closed') return { kind: 'token', claims };
    } catch (error) {
      if (!(error instanceof TokenError)) throw error;
    }
  }
  sendError(res, 'unauthorized', 'the API key or token is not valid');
  return null;
}

/** Middleware for routes only a platform (API key) may call. */
export function requireApiKey(store: Store, signer: TokenSigner) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const caller = await identifyCaller(req, res, store, signer);
    if (!caller) return;
    if (caller.kind !== 'platform') return sendError(res, 'forbidden', 'this endpoint needs a platform API key');
    res.locals['caller'] = caller;
    next();
  };
}
