/**
 * Signed join tokens (JWT, HS256): `{sid, role, exp}`. A token opens one session in one role.
 * Every node of a deployment shares the secret.
 */
import { SignJWT, errors, jwtVerify } from 'jose';
import { ROLES, type JoinClaims, type Role } from '../shared/protocol.ts';

const AUDIENCE = 'srs-live';

export class TokenError extends Error {
  constructor(
    message: string,
    readonly expired: boolean,
  ) {
    super(message);
    this.name = 'TokenError';
  }
}

export class TokenSigner {
  readonly #key: Uint8Array;

  constructor(secret: string) {
    if (secret.length < 32) throw new Error('the token secret must be at least 32 characters');
    this.#key = new TextEncoder().encode(secret);
  }

  async sign(sessionId: string, role: Role, ttlSeconds: number): Promise<{ token: string; exp: number }> {
    const exp = Math.floor(Date.now() / 1000) + ttlSeconds;
    const token = await new SignJWT({ sid: sessionId, role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(this.#key);
    return { token, exp };
  }

  /** The token's claims, or a TokenError saying why it is refused (bad signature, expired, malformed). */
  async verify(token: string): Promise<JoinClaims> {
    try {
      const { payload } = await jwtVerify(token, this.#key, { algorithms: ['HS256'], audience: AUDIENCE });
      const { sid, role, exp } = payload;
      if (typeof sid !== 'string' || !ROLES.includes(role as Role) || typeof exp !== 'number') {
        throw new TokenError('the token does not carry a session and a role', false);
      }
      return { sid, role: role as Role, exp };
    } catch (error) {
      if (error instanceof TokenError) throw error;
      if (error instanceof errors.JWTExpired) throw new TokenError('the token has expired', true);
      throw new TokenError('the token is not valid', false);
    }
  }
}
