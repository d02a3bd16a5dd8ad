import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import type { MiddlewareHandler } from 'hono';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Db } from '../../db/database.ts';
import { apiKeys, organisations, ROLES, type Role } from '../../db/schema.ts';
import { ApiError } from '../errors.ts';
import { writeAudit } from './audit.ts';
import type { ApiEnv, Principal } from './env.ts';

/** Verifies a bearer JWT and returns the principal it names; throws on anything not acceptable. */
export type TokenVerifier = (token: string) => Promise<Principal>;

/** Signature algorithms we accept. `none` and symmetric algorithms never are (BSI O.Auth_20/21). */
export const ACCEPTED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'];

export interface OidcOptions {
  issuer: string;
  audience: string;
  /** JWKS endpoint; without it, `<issuer>/.well-known/openid-configuration` names it. */
  jwksUrl?: string;
  orgClaim: string;
  rolesClaim: string;
  /** Tokens issued (`iat`) longer ago than this are refused; default 24 h. */
  maxTokenAgeSeconds?: number;
}

/** Tokens older than this (by `iat`) are refused unless configured otherwise. */
export const DEFAULT_MAX_TOKEN_AGE_SECONDS = 24 * 60 * 60;
/** Allowed clock difference to the identity provider for `exp`, `nbf` and `iat`. */
export const CLOCK_TOLERANCE_SECONDS = 30;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function rolesFrom(value: unknown): Role[] {
  const list = Array.isArray(value) ? value : typeof value === 'string' ? value.split(' ') : [];
  return list.filter((r): r is Role => (ROLES as readonly string[]).includes(r as string));
}

async function discoverJwks(issuer: string): Promise<URL> {
  const res = await fetch(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`OIDC discovery failed: HTTP ${res.status}`);
  const { jwks_uri: jwksUri } = (await res.json()) as { jwks_uri?: string };
  if (!jwksUri) throw new Error('OIDC discovery document has no jwks_uri');
  return new URL(jwksUri);
}

export function createOidcVerifier(options: OidcOptions): TokenVerifier {
  let keys: JWTVerifyGetKey | undefined;
  return async (token) => {
    keys ??= createRemoteJWKSet(options.jwksUrl ? new URL(options.jwksUrl) : await discoverJwks(options.issuer));
    const { payload } = await jwtVerify(token, keys, {
      issuer: options.issuer,
      audience: options.audience,
      algorithms: ACCEPTED_ALGORITHMS,
      requiredClaims: ['exp', 'sub', 'iat'],
      // Also refuses an `iat` in the future (beyond the clock tolerance).
      maxTokenAge: options.maxTokenAgeSeconds ?? DEFAULT_MAX_TOKEN_AGE_SECONDS,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
    const orgId = payload[options.orgClaim];
    if (typeof orgId !== 'string' || !UUID.test(orgId))
      throw new joseErrors.JWTClaimValidationFailed(`missing or invalid "${options.orgClaim}" claim`, payload, options.orgClaim);
    return { kind: 'user', id: payload.sub!, orgId, roles: rolesFrom(payload[options.rolesClaim]) };
  };
}

const KEY_FORMAT = /^vk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** A new API key: the full secret is returned once; only its hash is stored. */
export async function createApiKey(
  db: Db,
  orgId: string,
  name: string,
  roles: Role[],
): Promise<{ id: string; prefix: string; secret: string; roles: Role[]; createdAt: Date }> {
  const prefix = randomBytes(6).toString('hex');
  const secret = `vk_${prefix}_${randomBytes(32).toString('base64url')}`;
  const [row] = await db
    .insert(apiKeys)
    .values({ orgId, name, prefix, secretHash: hashSecret(secret), roles })
    .returning();
  return { id: row!.id, prefix, secret, roles, createdAt: row!.createdAt };
}

export async function verifyApiKey(db: Db, token: string): Promise<Principal | null> {
  const match = KEY_FORMAT.exec(token);
  if (!match) return null;
  const [row] = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.prefix, match[1]!), isNull(apiKeys.revokedAt)));
  if (!row) return null;
  const expected = Buffer.from(row.secretHash, 'hex');
  const actual = Buffer.from(hashSecret(token), 'hex');
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return null;
  void db
    .update(apiKeys)
    .set({ lastUsedAt: new Date() })
    .where(eq(apiKeys.id, row.id))
    .catch(() => {});
  return { kind: 'api_key', id: row.id, orgId: row.orgId, roles: rolesFrom(row.roles) };
}

export interface FailureLimiterOptions {
  /** Failures per key within the window before that key is limited. */
  limit?: number;
  windowMs?: number;
  /** Keys remembered at most; the least recently failed are forgotten first. */
  maxEntries?: number;
}

/**
 * Failed authentications in a sliding window, counted per key — the client
 * address, and for API keys also the key's public prefix, so guessing one
 * key's secret from many addresses is limited too. Memory is bounded: each
 * key keeps at most `limit` timestamps, keys whose failures are all older
 * than the window are dropped, and at most `maxEntries` keys are kept.
 */
export class FailureLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #maxEntries: number;
  /** Key → failure times, oldest first; Map order is least recently failed first. */
  readonly #failures = new Map<string, number[]>();

  constructor(options: FailureLimiterOptions = {}) {
    this.#limit = options.limit ?? 20;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#maxEntries = options.maxEntries ?? 10_000;
  }

  #recent(key: string, now: number): number[] {
    return (this.#failures.get(key) ?? []).filter((t) => now - t < this.#windowMs);
  }

  /** True when any of the keys has `limit` failures within the window. */
  blocked(keys: readonly string[], now = Date.now()): boolean {
    return keys.some((key) => this.#recent(key, now).length >= this.#limit);
  }

  fail(keys: readonly string[], now = Date.now()): void {
    for (const key of keys) {
      const times = [...this.#recent(key, now), now].slice(-this.#limit);
      this.#failures.delete(key);
      this.#failures.set(key, times);
    }
    // The first entries failed least recently: drop them while expired, then while too many.
    for (const [key, times] of this.#failures) {
      const expired = now - times[times.length - 1]! >= this.#windowMs;
      if (!expired && this.#failures.size <= this.#maxEntries) break;
      this.#failures.delete(key);
    }
  }

  /** Keys remembered. */
  get size(): number {
    return this.#failures.size;
  }

  /** Timestamps kept for a key (for tests of the memory bound). */
  entries(key: string): number {
    return this.#failures.get(key)?.length ?? 0;
  }
}

/** Authenticates every request: an API key (`vk_…`) or an OIDC bearer JWT. */
export function authenticate(limiter: FailureLimiter): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const deps = c.get('deps');
    const ip = c.get('clientIp');
    const header = c.req.header('authorization') ?? '';
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    const keyPrefix = token ? KEY_FORMAT.exec(token)?.[1] : undefined;
    const counted = [`address:${ip}`, ...(keyPrefix ? [`key:${keyPrefix}`] : [])];
    const limited = () => {
      c.header('retry-after', '60');
      return new ApiError('rate_limited', 'too many failed authentication attempts; try again later');
    };
    // Without a credential nothing can succeed: a limited address is answered at once.
    const over = limiter.blocked(counted);
    if (over && !token) throw limited();
    let principal: Principal | null = null;
    let reason = 'missing bearer token';
    if (token) {
      if (token.startsWith('vk_')) {
        principal = await verifyApiKey(deps.db, token);
        reason = 'unknown or revoked API key';
      } else if (deps.verifyToken) {
        try {
          principal = await deps.verifyToken(token);
        } catch (error) {
          reason = error instanceof joseErrors.JWTExpired ? 'token expired' : 'invalid token';
        }
      } else {
        reason = 'bearer tokens are not configured on this server; use an API key';
      }
    }
    if (!principal) {
      // Past the limit the answer is 429 (not counted again, not audited again).
      if (over) throw limited();
      limiter.fail(counted);
      await writeAudit(deps.db, { orgId: null, actorType: 'anonymous', actorId: null, action: `${c.req.method} ${c.req.routePath}`, outcome: 'denied', ip });
      c.header('www-authenticate', 'Bearer');
      throw new ApiError('unauthorized', reason);
    }
    // A valid token naming an organisation this server does not hold: authenticated, but no access.
    if (principal.kind === 'user' && !(await organisationExists(deps.db, principal.orgId))) {
      await writeAudit(deps.db, {
        orgId: null,
        actorType: principal.kind,
        actorId: principal.id,
        action: `${c.req.method} ${c.req.routePath}`,
        outcome: 'denied',
        ip,
      });
      throw new ApiError('forbidden', 'the organisation named in the token is not known to this server');
    }
    c.set('principal', principal);
    await next();
  };
}

async function organisationExists(db: Db, orgId: string): Promise<boolean> {
  const [row] = await db.select({ id: organisations.id }).from(organisations).where(eq(organisations.id, orgId));
  return row !== undefined;
}

/** The caller must hold one of these roles; otherwise 403 (and an audit entry). */
export function requireRole(...roles: Role[]): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const principal = c.get('principal');
    if (!principal.roles.some((role) => roles.includes(role))) {
      await writeAudit(c.get('deps').db, {
        orgId: principal.orgId,
        actorType: principal.kind,
        actorId: principal.id,
        action: `${c.req.method} ${c.req.routePath}`,
        outcome: 'denied',
        ip: c.get('clientIp'),
      });
      throw new ApiError('forbidden', `this needs one of the roles: ${roles.join(', ')}`);
    }
    await next();
  };
}
