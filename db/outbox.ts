import { randomUUID } from 'node:crypto';
import { and, eq, gt, inArray, isNull, lte, notExists, or, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Outgoing } from '../core/outgoing.ts';
import { roomAccountSql } from './bot-accounts.ts';
import type { Db, Tx } from './database.ts';
import { outbox } from './schema.ts';

/**
 * The durable outbox: messages are written as domain data (core/outgoing.ts)
 * in the transaction that decided them, and delivered later in id order per
 * room with `txn_id` as the Matrix transaction id, so a resend never posts twice.
 */
export type OutboxRow = typeof outbox.$inferSelect;

/** Queues messages for a room; returns their row ids in order. */
export async function enqueue(tx: Tx | Db, roomId: string, messages: readonly Outgoing[], options: { txnId?: string } = {}): Promise<number[]> {
  if (messages.length === 0) return [];
  // A fixed transaction id (alerts) is given for single messages only: it must stay unique.
  const rows = await tx
    .insert(outbox)
    // The room's account sends it (db/bot-accounts.ts); fixed now, so a takeover re-sends under the same account and txn id.
    .values(
      messages.map((message) => ({
        roomId,
        accountId: roomAccountSql(roomId) as unknown as string,
        txnId: options.txnId && messages.length === 1 ? options.txnId : `visite-${randomUUID()}`,
        message,
      })),
    )
    .returning({ id: outbox.id });
  return rows.map((r) => r.id);
}

export async function outboxRow(tx: Tx | Db, id: number): Promise<OutboxRow | undefined> {
  const [row] = await tx.select().from(outbox).where(eq(outbox.id, id));
  return row;
}

/** Replaces a message that is still waiting (a repeated alert updates the one not yet sent). */
export async function replacePending(tx: Tx | Db, id: number, message: Outgoing): Promise<boolean> {
  const updated = await tx
    .update(outbox)
    .set({ message })
    .where(and(eq(outbox.id, id), eq(outbox.status, 'pending')))
    .returning({ id: outbox.id });
  return updated.length > 0;
}

/** Which rows a sender takes: one account's (and, for the environment's account, rows from before accounts). */
export interface OutboxScope {
  accountId: string;
  includeUnowned?: boolean;
}

/** No scope: only rows of no account (a sender outside the fleet, as in tests of the sender alone). */
const inScope = (scope: OutboxScope | undefined): SQL | undefined =>
  scope === undefined
    ? isNull(outbox.accountId)
    : scope.includeUnowned
      ? or(eq(outbox.accountId, scope.accountId), isNull(outbox.accountId))
      : eq(outbox.accountId, scope.accountId);

/** The oldest waiting message of each room that is due now (no lock; candidates only). */
export async function dueHeads(db: Db, now: Date, limit: number, scope?: OutboxScope): Promise<number[]> {
  const heads = db
    .select({ id: sql<number>`min(${outbox.id})` })
    .from(outbox)
    .where(and(eq(outbox.status, 'pending'), inScope(scope)))
    .groupBy(outbox.roomId);
  const rows = await db
    .select({ id: outbox.id })
    .from(outbox)
    .where(and(eq(outbox.status, 'pending'), lte(outbox.nextAttemptAt, now), inScope(scope), inArray(outbox.id, heads)))
    .orderBy(outbox.id)
    .limit(limit);
  return rows.map((r) => r.id);
}

/** Locks one waiting, due message for sending (skipped when another instance holds it). */
export async function claimForSending(tx: Tx, id: number, now: Date): Promise<OutboxRow | undefined> {
  const [row] = await tx
    .select()
    .from(outbox)
    .where(and(eq(outbox.id, id), eq(outbox.status, 'pending'), lte(outbox.nextAttemptAt, now)))
    .for('update', { skipLocked: true });
  return row;
}

/** The event id a sent message got, for relations (edits, replies) of later messages. */
export async function sentEventIdOf(tx: Tx | Db, id: number): Promise<string | undefined> {
  const [row] = await tx.select({ eventId: outbox.sentEventId }).from(outbox).where(eq(outbox.id, id));
  return row?.eventId ?? undefined;
}

export async function markSent(tx: Tx, row: OutboxRow, eventId: string, now: Date): Promise<void> {
  await tx
    .update(outbox)
    .set({ status: 'sent', sentEventId: eventId, sentAt: now, attempts: row.attempts + 1 })
    .where(eq(outbox.id, row.id));
}

/** A message that is not to be sent after all (a form no device of the recipient can show: the chat took over). */
export async function markSkipped(tx: Tx, row: OutboxRow, reason: string, now: Date): Promise<void> {
  await tx.update(outbox).set({ status: 'skipped', lastError: reason, sentAt: now }).where(eq(outbox.id, row.id));
}

/** Keeps what a large message's file was reserved as (media id, key), before anything is uploaded. */
export async function savePrepared(tx: Tx, row: OutboxRow, prepared: unknown): Promise<void> {
  await tx.update(outbox).set({ prepared }).where(eq(outbox.id, row.id));
}

export async function markAttemptFailed(tx: Tx, row: OutboxRow, update: { failed: boolean; error: string; retryAt: Date }): Promise<void> {
  await tx
    .update(outbox)
    .set({ status: update.failed ? 'failed' : 'pending', attempts: row.attempts + 1, lastError: update.error, nextAttemptAt: update.retryAt })
    .where(eq(outbox.id, row.id));
}

/**
 * Rooms that refused an alert for good within `since` and have accepted no
 * message since then: a care team that cannot be reached (operators see it in
 * /readyz and /metrics).
 */
export async function roomsRefusingAlerts(db: Db, since: Date): Promise<string[]> {
  const later = alias(outbox, 'later');
  const rows = await db
    .selectDistinct({ roomId: outbox.roomId })
    .from(outbox)
    .where(
      and(
        eq(outbox.status, 'failed'),
        sql`${outbox.message}->>'type' = 'alert'`,
        gt(outbox.createdAt, since),
        notExists(
          db
            .select({ id: later.id })
            .from(later)
            .where(and(eq(later.roomId, outbox.roomId), eq(later.status, 'sent'), gt(later.id, outbox.id))),
        ),
      ),
    );
  return rows.map((r) => r.roomId);
}
