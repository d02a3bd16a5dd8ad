import { createHash } from 'node:crypto';
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { Db, Tx } from './database.ts';
import { botAccounts, botRooms, outbox } from './schema.ts';
import type { SecretBox } from './secrets.ts';

/**
 * Bot accounts as data (docs/operations.md "Bot accounts"): each
 * organisation may have its own Matrix account(s); the environment's account
 * (org_id null) serves the others. Which account is in which room is recorded
 * in `bot_rooms`; a message goes out as its room's account.
 */
export type BotAccount = typeof botAccounts.$inferSelect;

export interface AccountCredentials {
  password?: string;
  accessToken?: string;
}

export interface NewAccount {
  orgId: string | null;
  homeserverUrl: string;
  userId: string;
  credentials: AccountCredentials;
  displayName: string;
  allowedInviters?: readonly string[];
}

export function openCredentials(secrets: SecretBox, account: Pick<BotAccount, 'credentials'>): AccountCredentials {
  return JSON.parse(secrets.open(account.credentials)) as AccountCredentials;
}

/** The account from VISITE_BOT_*: written (or updated) at every start, the environment is its source of truth. */
export async function ensureEnvironmentAccount(db: Db, secrets: SecretBox, account: Omit<NewAccount, 'orgId'>): Promise<BotAccount> {
  const credentials = secrets.seal(JSON.stringify(account.credentials));
  const values = {
    orgId: null,
    homeserverUrl: account.homeserverUrl,
    userId: account.userId,
    credentials,
    displayName: account.displayName,
    allowedInviters: [...(account.allowedInviters ?? [])],
  };
  const [existing] = await db.select().from(botAccounts).where(eq(botAccounts.userId, account.userId));
  if (!existing) {
    const [row] = await db.insert(botAccounts).values(values).onConflictDoNothing().returning();
    if (row) return row;
    return ensureEnvironmentAccount(db, secrets, account); // another instance inserted it just now
  }
  if (existing.orgId !== null)
    throw new Error(`${account.userId} is registered as an organisation's bot account; the environment's account must be another one`);
  const same =
    existing.homeserverUrl === values.homeserverUrl &&
    existing.displayName === values.displayName &&
    JSON.stringify(existing.allowedInviters) === JSON.stringify(values.allowedInviters) &&
    existing.disabledAt === null &&
    sameCredentials(secrets, existing, account.credentials);
  if (same) return existing;
  const [row] = await db
    .update(botAccounts)
    .set({ ...values, disabledAt: null, updatedAt: new Date(), credentialsVersion: sql`${botAccounts.credentialsVersion} + 1` })
    .where(eq(botAccounts.id, existing.id))
    .returning();
  return row!;
}

/** Whether the stored credentials are these (sealed under another key: not the same, they are sealed again). */
function sameCredentials(secrets: SecretBox, account: Pick<BotAccount, 'credentials'>, credentials: AccountCredentials): boolean {
  try {
    return JSON.stringify(openCredentials(secrets, account)) === JSON.stringify(credentials);
  } catch {
    return false;
  }
}

export async function createAccount(db: Db, secrets: SecretBox, account: NewAccount): Promise<BotAccount> {
  const [row] = await db
    .insert(botAccounts)
    .values({
      orgId: account.orgId,
      homeserverUrl: account.homeserverUrl,
      userId: account.userId,
      credentials: secrets.seal(JSON.stringify(account.credentials)),
      displayName: account.displayName,
      allowedInviters: [...(account.allowedInviters ?? [])],
    })
    .returning();
  return row!;
}

/** New credentials (a rotated token or password): the holder reconnects with them (credentials_version). */
export async function rotateCredentials(db: Db, secrets: SecretBox, id: string, credentials: AccountCredentials): Promise<BotAccount | undefined> {
  const [row] = await db
    .update(botAccounts)
    .set({ credentials: secrets.seal(JSON.stringify(credentials)), updatedAt: new Date(), credentialsVersion: sql`${botAccounts.credentialsVersion} + 1` })
    .where(eq(botAccounts.id, id))
    .returning();
  return row;
}

export async function updateAccount(
  db: Db,
  id: string,
  changes: { displayName?: string; allowedInviters?: readonly string[]; disabled?: boolean },
): Promise<BotAccount | undefined> {
  const [row] = await db
    .update(botAccounts)
    .set({
      ...(changes.displayName !== undefined ? { displayName: changes.displayName } : {}),
      ...(changes.allowedInviters !== undefined ? { allowedInviters: [...changes.allowedInviters] } : {}),
      ...(changes.disabled !== undefined ? { disabledAt: changes.disabled ? new Date() : null } : {}),
      updatedAt: new Date(),
      // Any change reaches the holder the same way as a rotation: it reconnects with the row as it is now.
      credentialsVersion: sql`${botAccounts.credentialsVersion} + 1`,
    })
    .where(eq(botAccounts.id, id))
    .returning();
  return row;
}

export async function accountById(db: Db | Tx, id: string): Promise<BotAccount | undefined> {
  const [row] = await db.select().from(botAccounts).where(eq(botAccounts.id, id));
  return row;
}

export async function accountsOfOrg(db: Db, orgId: string): Promise<BotAccount[]> {
  return db.select().from(botAccounts).where(eq(botAccounts.orgId, orgId)).orderBy(asc(botAccounts.createdAt), asc(botAccounts.id));
}

export async function enabledAccounts(db: Db): Promise<BotAccount[]> {
  return db.select().from(botAccounts).where(isNull(botAccounts.disabledAt)).orderBy(asc(botAccounts.createdAt), asc(botAccounts.id));
}

/**
 * The account that opens a new room for an organisation: one of its own
 * (spread by a stable hash of `key`, e.g. the patient), else the
 * environment's account.
 */
export async function accountForOrg(db: Db, orgId: string, key: string, environmentAccountId: string): Promise<BotAccount | undefined> {
  const own = await db
    .select()
    .from(botAccounts)
    .where(and(eq(botAccounts.orgId, orgId), isNull(botAccounts.disabledAt)))
    .orderBy(asc(botAccounts.createdAt), asc(botAccounts.id));
  if (own.length > 0) return own[createHash('sha256').update(key).digest().readUInt32BE(0) % own.length];
  return accountById(db, environmentAccountId);
}

/** The accounts that may act for an organisation: its own first, then the environment's. */
export async function accountsServing(db: Db, orgId: string, environmentAccountId: string): Promise<BotAccount[]> {
  const rows = await db
    .select()
    .from(botAccounts)
    .where(and(sql`(${botAccounts.orgId} = ${orgId} or ${botAccounts.id} = ${environmentAccountId})`, isNull(botAccounts.disabledAt)))
    .orderBy(sql`${botAccounts.orgId} is null`, asc(botAccounts.createdAt));
  return rows;
}

/** Records that an account is in a room (the first account recorded keeps it). */
export async function recordRoom(db: Db | Tx, roomId: string, accountId: string): Promise<void> {
  await db.insert(botRooms).values({ roomId, accountId }).onConflictDoNothing();
}

export async function accountOfRoom(db: Db | Tx, roomId: string): Promise<string | undefined> {
  const [row] = await db.select({ accountId: botRooms.accountId }).from(botRooms).where(eq(botRooms.roomId, roomId));
  return row?.accountId;
}

/** The SQL expression for a new outbox row's account: its room's; null (the environment's account sends it) for a room no account is recorded in. */
export const roomAccountSql = (roomId: string) => sql`(select ${botRooms.accountId} from ${botRooms} where ${botRooms.roomId} = ${roomId})`;

/**
 * Rooms and messages from before accounts existed belong to the environment's
 * account: its patient and care-team rooms, and its waiting messages.
 */
export async function adoptUnownedRooms(db: Db, accountId: string): Promise<void> {
  await db.execute(sql`
    insert into bot_rooms (room_id, account_id)
    select room_id, ${accountId}::uuid from patients where room_id is not null
    union
    select room_id, ${accountId}::uuid from care_teams where room_id is not null
    on conflict do nothing`);
  await db
    .update(outbox)
    .set({ accountId })
    .where(and(isNull(outbox.accountId), eq(outbox.status, 'pending')));
}

/** Waiting messages per account (for /metrics and /readyz). */
export async function outboxDepthByAccount(db: Db): Promise<Map<string, number>> {
  const rows = await db
    .select({ accountId: outbox.accountId, depth: sql<number>`count(*)::int` })
    .from(outbox)
    .where(eq(outbox.status, 'pending'))
    .groupBy(outbox.accountId);
  return new Map(rows.map((r) => [r.accountId ?? 'none', Number(r.depth)]));
}

/** The device an account logged in with (its keys are in `crypto_stores`). */
export async function recordDevice(db: Db, accountId: string, deviceId: string): Promise<void> {
  await db.update(botAccounts).set({ deviceId }).where(eq(botAccounts.id, accountId));
}
