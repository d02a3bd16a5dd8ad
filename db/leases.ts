import { and, asc, eq, gt, isNull, lte, sql } from 'drizzle-orm';
import type { Db, Tx } from './database.ts';
import { botAccounts, botInstances, botLeases } from './schema.ts';

/**
 * Leases on bot accounts (docs/operations.md "Several instances"). An
 * instance syncs and sends for an account only while it holds the account's
 * lease; the epoch grows with every new holder. Times are the database's
 * (`now()`), never the instances' clocks.
 */
export interface Lease {
  accountId: string;
  instanceId: string;
  epoch: number;
}

/** This instance no longer holds the account (expired, taken over, released): stop syncing and sending for it. */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
  readonly code = 'LEASE_LOST';
  readonly accountId: string;
  constructor(accountId: string) {
    super(`the lease on bot account ${accountId} is no longer held by this instance`);
    this.accountId = accountId;
  }
}

const interval = (ms: number) => sql`now() + make_interval(secs => ${ms / 1000})`;

/**
 * The fence: inside the transaction that sends a message or writes the crypto
 * store, check that the lease is still ours and not expired, and key-share-lock
 * it. A takeover locks the row FOR UPDATE first, so it waits until this
 * transaction ends: nothing of the old holder is in flight once the new holder
 * starts. The holder's own renewal (an update of non-key columns) does not
 * conflict with the key-share lock — with a plain share lock, a steady stream of
 * sends and crypto writes starved the renewal until the lease expired.
 */
export async function fence(tx: Tx, lease: Lease): Promise<void> {
  const rows = await tx
    .select({ epoch: botLeases.epoch })
    .from(botLeases)
    .where(
      and(
        eq(botLeases.accountId, lease.accountId),
        eq(botLeases.instanceId, lease.instanceId),
        eq(botLeases.epoch, lease.epoch),
        gt(botLeases.expiresAt, sql`now()`),
      ),
    )
    .for('key share');
  if (rows.length === 0) throw new LeaseLostError(lease.accountId);
}

/** Registers this instance as alive until `ttlMs` from now. */
export async function heartbeat(db: Db, instanceId: string, ttlMs: number): Promise<void> {
  await db
    .insert(botInstances)
    .values({ id: instanceId, expiresAt: interval(ttlMs) as unknown as Date })
    .onConflictDoUpdate({ target: botInstances.id, set: { heartbeatAt: sql`now()`, expiresAt: interval(ttlMs) as unknown as Date } });
}

/** Instances whose heartbeat has not expired (this one included once it beat). */
export async function liveInstances(db: Db): Promise<string[]> {
  const rows = await db.select({ id: botInstances.id }).from(botInstances).where(gt(botInstances.expiresAt, sql`now()`)).orderBy(asc(botInstances.id));
  return rows.map((r) => r.id);
}

/** Forgets an instance that stopped cleanly (its leases were released before). */
export async function retireInstance(db: Db, instanceId: string): Promise<void> {
  await db.delete(botInstances).where(eq(botInstances.id, instanceId));
}

/** Extends the leases this instance holds; returns those still held (a lease already expired is not renewed). */
export async function renewLeases(db: Db, instanceId: string, ttlMs: number): Promise<Lease[]> {
  const rows = await db
    .update(botLeases)
    .set({ renewedAt: sql`now()`, expiresAt: interval(ttlMs) as unknown as Date })
    .where(and(eq(botLeases.instanceId, instanceId), gt(botLeases.expiresAt, sql`now()`)))
    .returning({ accountId: botLeases.accountId, instanceId: botLeases.instanceId, epoch: botLeases.epoch });
  return rows;
}

/**
 * Takes the account's lease if it is free or expired. The row is locked first
 * (FOR UPDATE), which waits for the old holder's fenced transactions to end.
 */
export async function acquireLease(db: Db, accountId: string, instanceId: string, ttlMs: number): Promise<Lease | null> {
  return db.transaction(async (tx) => {
    const [current] = await tx
      .select({ instanceId: botLeases.instanceId, epoch: botLeases.epoch, live: sql<boolean>`${botLeases.expiresAt} > now()` })
      .from(botLeases)
      .where(eq(botLeases.accountId, accountId))
      .for('update');
    if (!current) {
      const inserted = await tx
        .insert(botLeases)
        .values({ accountId, instanceId, epoch: 1, expiresAt: interval(ttlMs) as unknown as Date })
        .onConflictDoNothing()
        .returning({ epoch: botLeases.epoch });
      return inserted[0] ? { accountId, instanceId, epoch: inserted[0].epoch } : null;
    }
    if (current.live && current.instanceId !== instanceId) return null;
    const epoch = current.epoch + 1;
    await tx
      .update(botLeases)
      .set({ instanceId, epoch, acquiredAt: sql`now()`, renewedAt: sql`now()`, expiresAt: interval(ttlMs) as unknown as Date })
      .where(eq(botLeases.accountId, accountId));
    return { accountId, instanceId, epoch };
  });
}

/** Gives an account up (clean stop, rebalancing): it expires at once, so another instance may take it now. */
export async function releaseLease(db: Db, lease: Lease): Promise<void> {
  await db
    .update(botLeases)
    .set({ expiresAt: sql`now()` })
    .where(and(eq(botLeases.accountId, lease.accountId), eq(botLeases.instanceId, lease.instanceId), eq(botLeases.epoch, lease.epoch)));
}

export interface LeaseView {
  accountId: string;
  userId: string;
  instanceId: string | null;
  epoch: number | null;
  /** Seconds since this holder acquired it. */
  ageSeconds: number | null;
  live: boolean;
}

/** Every enabled account with its lease (for /readyz, /metrics and the balancing). */
export async function leaseTable(db: Db): Promise<LeaseView[]> {
  const rows = await db
    .select({
      accountId: botAccounts.id,
      userId: botAccounts.userId,
      instanceId: botLeases.instanceId,
      epoch: botLeases.epoch,
      ageSeconds: sql<number | null>`extract(epoch from now() - ${botLeases.acquiredAt})::float8`,
      live: sql<boolean>`coalesce(${botLeases.expiresAt} > now(), false)`,
    })
    .from(botAccounts)
    .leftJoin(botLeases, eq(botLeases.accountId, botAccounts.id))
    .where(isNull(botAccounts.disabledAt))
    .orderBy(asc(botAccounts.createdAt), asc(botAccounts.id));
  return rows.map((r) => ({ ...r, ageSeconds: r.ageSeconds === null ? null : Number(r.ageSeconds), epoch: r.epoch === null ? null : Number(r.epoch) }));
}

/** Drops instance rows long dead (housekeeping; their leases expired with them). */
export async function forgetDeadInstances(db: Db, olderThanMs: number): Promise<void> {
  await db.delete(botInstances).where(lte(botInstances.expiresAt, sql`now() - make_interval(secs => ${olderThanMs / 1000})`));
}
