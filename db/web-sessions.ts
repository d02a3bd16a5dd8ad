import { createHash, randomBytes } from 'node:crypto';
import { and, eq, gt, isNull, lt, or } from 'drizzle-orm';
import type { Role } from './schema.ts';
import type { Db } from './database.ts';
import { loginLinks, webLogins, webSessions } from './schema.ts';

/**
 * Sessions of the web app, pending OIDC sign-ins and sign-in links. Every
 * secret the browser holds is a random 256-bit token; only its SHA-256 is
 * stored, so reading the table signs nobody in.
 */
export type WebSession = typeof webSessions.$inferSelect;

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');
const newToken = (): string => randomBytes(32).toString('base64url');

export interface NewSession {
  orgId: string;
  subject: string;
  displayName: string;
  roles: readonly Role[];
  method: 'oidc' | 'link';
  /** Absolute lifetime of the session. */
  lifetimeMs: number;
}

/** A new session; the token goes into the cookie and is not stored. */
export async function createSession(db: Db, session: NewSession, now = new Date()): Promise<{ token: string; row: WebSession }> {
  const token = newToken();
  const [row] = await db
    .insert(webSessions)
    .values({
      tokenHash: hashToken(token),
      orgId: session.orgId,
      subject: session.subject,
      displayName: session.displayName,
      roles: [...session.roles],
      csrfToken: newToken(),
      method: session.method,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + session.lifetimeMs),
    })
    .returning();
  return { token, row: row! };
}

/**
 * The session of a cookie token, if it is still alive: not past its lifetime
 * and not idle for longer than `idleMs`. A dead session is deleted. The last
 * use is written at most once a minute, so reading pages costs no write.
 */
export async function findSession(db: Db, token: string, idleMs: number, now = new Date(), touch = true): Promise<WebSession | undefined> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
  const tokenHash = hashToken(token);
  const [row] = await db.select().from(webSessions).where(eq(webSessions.tokenHash, tokenHash));
  if (!row) return undefined;
  if (row.expiresAt <= now || now.getTime() - row.lastSeenAt.getTime() > idleMs) {
    await db.delete(webSessions).where(eq(webSessions.tokenHash, tokenHash));
    return undefined;
  }
  if (touch && now.getTime() - row.lastSeenAt.getTime() > 60_000) {
    await db.update(webSessions).set({ lastSeenAt: now }).where(eq(webSessions.tokenHash, tokenHash));
  }
  return row;
}

export async function deleteSession(db: Db, token: string): Promise<void> {
  await db.delete(webSessions).where(eq(webSessions.tokenHash, hashToken(token)));
}

/** Removes sessions past their lifetime or idle time, and sign-ins and links nobody finished. */
export async function purgeWebState(db: Db, idleMs: number, now = new Date()): Promise<void> {
  await db.delete(webSessions).where(or(lt(webSessions.expiresAt, now), lt(webSessions.lastSeenAt, new Date(now.getTime() - idleMs))));
  await db.delete(webLogins).where(lt(webLogins.createdAt, new Date(now.getTime() - PENDING_LOGIN_MS)));
  await db.delete(loginLinks).where(lt(loginLinks.expiresAt, now));
}

/** How long a sign-in at the identity provider may take. */
export const PENDING_LOGIN_MS = 10 * 60_000;

/** Remembers a sign-in sent to the identity provider; the state's hash is the key. */
export async function savePendingLogin(
  db: Db,
  login: { state: string; codeVerifier: string; nonce: string; returnTo: string },
  now = new Date(),
): Promise<void> {
  await db
    .insert(webLogins)
    .values({ stateHash: hashToken(login.state), codeVerifier: login.codeVerifier, nonce: login.nonce, returnTo: login.returnTo, createdAt: now });
}

/** Takes (once) the pending sign-in of this state, if it is recent. */
export async function takePendingLogin(
  db: Db,
  state: string,
  now = new Date(),
): Promise<{ codeVerifier: string; nonce: string; returnTo: string } | undefined> {
  const [row] = await db
    .delete(webLogins)
    .where(and(eq(webLogins.stateHash, hashToken(state)), gt(webLogins.createdAt, new Date(now.getTime() - PENDING_LOGIN_MS))))
    .returning();
  return row ? { codeVerifier: row.codeVerifier, nonce: row.nonce, returnTo: row.returnTo } : undefined;
}

export interface LoginLink {
  orgId: string;
  name: string;
  roles: readonly Role[];
  lifetimeMs: number;
}

/** A single-use sign-in link's token (shown once; only its hash is kept). */
export async function createLoginLink(db: Db, link: LoginLink, now = new Date()): Promise<{ token: string; expiresAt: Date }> {
  const token = newToken();
  const expiresAt = new Date(now.getTime() + link.lifetimeMs);
  await db.insert(loginLinks).values({ tokenHash: hashToken(token), orgId: link.orgId, name: link.name, roles: [...link.roles], expiresAt, createdAt: now });
  return { token, expiresAt };
}

/** Uses a sign-in link: once, before it expires; afterwards it is worth nothing. */
export async function consumeLoginLink(db: Db, token: string, now = new Date()) {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
  const [row] = await db
    .update(loginLinks)
    .set({ usedAt: now })
    .where(and(eq(loginLinks.tokenHash, hashToken(token)), isNull(loginLinks.usedAt), gt(loginLinks.expiresAt, now)))
    .returning();
  return row;
}
