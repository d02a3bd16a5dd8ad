import type { BotAccount } from '../db/bot-accounts.ts';

/**
 * What the HTTP API and `visite admin` share about an organisation's bot
 * accounts (issue #14): the homeserver URL rule, the access-token check
 * against the homeserver, and the public view of an account — which never
 * carries its credentials.
 */

/** An http(s) URL without credentials, query or fragment; a trailing slash is dropped. */
export function homeserverUrlProblem(value: string): string | undefined {
  if (!/^https?:\/\/[^\s]+$/.test(value) || !URL.canParse(value)) return 'expected an http(s) URL, e.g. https://matrix.klinik.de';
  const url = new URL(value);
  if (url.username || url.password) return 'must not contain a user name or password';
  if (url.search || url.hash) return 'must not contain a query or fragment';
  return undefined;
}

export const normaliseHomeserverUrl = (value: string): string => value.replace(/\/+$/, '');

/** What the homeserver says about an access token (`GET /_matrix/client/v3/account/whoami`). */
export type WhoamiResult =
  | { kind: 'ok'; userId: string; deviceId: string | null }
  /** 401/403: unknown, expired, logged-out or locked token. */
  | { kind: 'rejected' }
  /** Any other answer (e.g. 404): the URL is not a Matrix homeserver's client API. */
  | { kind: 'not_matrix'; status: number };

/** Asks a homeserver whom a token belongs to. Throws when the homeserver cannot be reached (or answers 5xx). */
export type Whoami = (homeserverUrl: string, accessToken: string) => Promise<WhoamiResult>;

export class HomeserverUnreachableError extends Error {
  override name = 'HomeserverUnreachableError';
}

/**
 * The plain-fetch implementation: one request, 10 s at most, redirects not
 * followed (the token is sent to exactly the URL given). The token is never
 * part of an error message.
 */
export const matrixWhoami: Whoami = async (homeserverUrl, accessToken) => {
  let res: Response;
  try {
    res = await fetch(`${normaliseHomeserverUrl(homeserverUrl)}/_matrix/client/v3/account/whoami`, {
      headers: { authorization: `Bearer ${accessToken}` },
      redirect: 'manual',
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    throw new HomeserverUnreachableError(`the homeserver does not answer (${(error as Error).name})`);
  }
  if (res.status >= 500) {
    await res.body?.cancel();
    throw new HomeserverUnreachableError(`the homeserver answers HTTP ${res.status}`);
  }
  if (res.status === 401 || res.status === 403) {
    await res.body?.cancel();
    return { kind: 'rejected' };
  }
  const body = res.ok
    ? ((await res.json().catch(() => undefined)) as { user_id?: unknown; device_id?: unknown } | undefined)
    : (await res.body?.cancel(), undefined);
  if (!res.ok || typeof body?.user_id !== 'string') return { kind: 'not_matrix', status: res.status };
  return { kind: 'ok', userId: body.user_id, deviceId: typeof body.device_id === 'string' ? body.device_id : null };
};

/** Where an access token check failed: the field to name and why. */
export interface TokenProblem {
  field: 'accessToken' | 'homeserverUrl';
  message: string;
}

/**
 * Checks that `accessToken` is valid on `homeserverUrl` for `userId`.
 * Returns the problem, or undefined when the token is good; throws
 * HomeserverUnreachableError when the homeserver cannot be asked.
 */
export async function checkAccessToken(whoami: Whoami, homeserverUrl: string, userId: string, accessToken: string): Promise<TokenProblem | undefined> {
  const result = await whoami(homeserverUrl, accessToken);
  if (result.kind === 'rejected') return { field: 'accessToken', message: 'the homeserver does not accept this access token (unknown, expired or logged out)' };
  if (result.kind === 'not_matrix') return { field: 'homeserverUrl', message: `does not answer as a Matrix homeserver (whoami: HTTP ${result.status})` };
  if (result.userId !== userId) return { field: 'accessToken', message: `the access token belongs to ${result.userId}, not to ${userId}` };
  return undefined;
}

/** An account as the API and the CLI show it: no credentials, not even sealed. */
export interface BotAccountView {
  id: string;
  orgId: string | null;
  userId: string;
  homeserverUrl: string;
  deviceId: string | null;
  displayName: string;
  allowedInviters: string[];
  credentialsVersion: number;
  createdAt: string;
  updatedAt: string;
  disabled: boolean;
}

export function botAccountView(row: BotAccount): BotAccountView {
  return {
    id: row.id,
    orgId: row.orgId,
    userId: row.userId,
    homeserverUrl: row.homeserverUrl,
    deviceId: row.deviceId,
    displayName: row.displayName,
    allowedInviters: [...row.allowedInviters],
    credentialsVersion: row.credentialsVersion,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    disabled: row.disabledAt !== null,
  };
}

/** Postgres unique violation (here: the Matrix user id is already an account), also when wrapped. */
export function isUniqueViolation(error: unknown): boolean {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === '23505') return true;
  }
  return false;
}

export const DEFAULT_BOT_DISPLAY_NAME = 'Visite (Chatbot)';
