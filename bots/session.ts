import { readBotState, writeBotState } from '../db/bot-state.ts';
import type { Db } from '../db/database.ts';
import { isSealed, type SecretBox } from '../db/secrets.ts';

export interface Session {
  accessToken: string;
  deviceId: string;
}

async function whoami(homeserverUrl: string, accessToken: string): Promise<{ user_id: string; device_id?: string } | null> {
  const res = await fetch(`${homeserverUrl}/_matrix/client/v3/account/whoami`, { headers: { authorization: `Bearer ${accessToken}` } });
  if (res.status === 401) return null;
  if (!res.ok) throw Object.assign(new Error(`whoami: HTTP ${res.status}`), { statusCode: res.status });
  return (await res.json()) as { user_id: string; device_id?: string };
}

/**
 * The bot keeps one device for its whole life. Matrix de-duplicates sends by
 * (device, transaction id), and end-to-end keys belong to the device, so a
 * fresh login on every start would break both. We store the session in the
 * database and log in again — with the same device id — only when the stored
 * token no longer works.
 */
export async function loginSession(options: {
  db: Db;
  homeserverUrl: string;
  userId: string;
  password?: string;
  accessToken?: string;
  secrets: SecretBox;
}): Promise<Session> {
  const key = `${options.userId}:session`;
  if (options.accessToken) {
    const me = await whoami(options.homeserverUrl, options.accessToken);
    if (!me) throw new Error('the configured access token is not valid (HTTP 401)');
    if (me.user_id !== options.userId) throw new Error(`the access token belongs to ${me.user_id}, not ${options.userId}`);
    return { accessToken: options.accessToken, deviceId: me.device_id ?? '' };
  }
  // The stored session holds the access token: sealed at rest (db/secrets.ts).
  const stored = await readBotState(options.db, key);
  const previous = stored ? (JSON.parse(options.secrets.open(stored)) as Session) : undefined;
  if (previous) {
    const me = await whoami(options.homeserverUrl, previous.accessToken);
    if (me?.user_id === options.userId) {
      // A session stored in the clear by an earlier version is sealed now.
      if (stored && options.secrets.encrypting && !isSealed(stored)) await writeBotState(options.db, key, options.secrets.seal(JSON.stringify(previous)));
      return previous;
    }
  }
  const res = await fetch(`${options.homeserverUrl}/_matrix/client/v3/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: options.userId },
      password: options.password ?? '',
      initial_device_display_name: 'Visite',
      ...(previous?.deviceId ? { device_id: previous.deviceId } : {}),
    }),
  });
  const body = (await res.json().catch(() => ({}))) as { access_token?: string; device_id?: string; user_id?: string; errcode?: string };
  if (!res.ok || !body.access_token || !body.device_id) {
    throw Object.assign(new Error(`login failed: HTTP ${res.status} ${body.errcode ?? ''}`.trim()), { statusCode: res.status, errcode: body.errcode });
  }
  if (body.user_id !== options.userId) throw new Error(`logged in as ${body.user_id}, expected ${options.userId}`);
  const session = { accessToken: body.access_token, deviceId: body.device_id };
  await writeBotState(options.db, key, options.secrets.seal(JSON.stringify(session)));
  return session;
}
