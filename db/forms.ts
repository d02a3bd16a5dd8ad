import { and, asc, eq, inArray, lte } from 'drizzle-orm';
import type { Db, Tx } from './database.ts';
import { formDeliveries } from './schema.ts';

/**
 * Forms sent to patients (TI-M structured data, docs/tim.md): one per
 * check-in at most, from the outbox message that carries it to the moment it
 * is answered or the chat takes over.
 */
export type FormDelivery = typeof formDeliveries.$inferSelect;
export type FormClosing = 'answered' | 'chat' | 'fallback';

export async function createFormDelivery(
  tx: Tx,
  row: { id: string; checkinId: string; patientId: string; roomId: string; outboxId: number; fallbackAt: Date },
): Promise<void> {
  await tx.insert(formDeliveries).values(row);
}

export async function formDeliveryById(tx: Tx, id: string): Promise<FormDelivery | undefined> {
  const [row] = await tx.select().from(formDeliveries).where(eq(formDeliveries.id, id));
  return row;
}

export async function formDeliveryOfCheckin(tx: Tx, checkinId: string): Promise<FormDelivery | undefined> {
  const [row] = await tx.select().from(formDeliveries).where(eq(formDeliveries.checkinId, checkinId));
  return row;
}

/** The form a processing status refers to (by the form event's id), in the patient's room. */
export async function formDeliveryOfEvent(tx: Tx, roomId: string, eventId: string): Promise<FormDelivery | undefined> {
  const [row] = await tx
    .select()
    .from(formDeliveries)
    .where(and(eq(formDeliveries.roomId, roomId), eq(formDeliveries.eventId, eventId)));
  return row;
}

/** The homeserver accepted the form: the wait for an answer starts now. */
export async function markFormSent(tx: Tx, id: string, eventId: string, now: Date, waitMs: number): Promise<void> {
  await tx
    .update(formDeliveries)
    .set({ status: 'sent', eventId, sentAt: now, fallbackAt: new Date(now.getTime() + waitMs) })
    .where(and(eq(formDeliveries.id, id), eq(formDeliveries.status, 'pending')));
}

/** Closes a form that is still open (pending or sent); returns whether it was. */
export async function closeFormDelivery(tx: Tx, id: string, status: FormClosing, reason: string | null, now: Date): Promise<boolean> {
  const closed = await tx
    .update(formDeliveries)
    .set({ status, reason, closedAt: now })
    .where(and(eq(formDeliveries.id, id), inArray(formDeliveries.status, ['pending', 'sent'])))
    .returning({ id: formDeliveries.id });
  return closed.length > 0;
}

/** Forms whose wait is over (candidates, no lock: each is locked in its own transaction after its patient). */
export async function dueFormFallbacks(db: Db, now: Date, limit: number): Promise<Array<{ id: string; patientId: string }>> {
  return db
    .select({ id: formDeliveries.id, patientId: formDeliveries.patientId })
    .from(formDeliveries)
    .where(and(inArray(formDeliveries.status, ['pending', 'sent']), lte(formDeliveries.fallbackAt, now)))
    .orderBy(asc(formDeliveries.fallbackAt))
    .limit(limit);
}

/** One form whose wait is still over and that is still open, locked for this transaction (skipped when another instance has it). */
export async function lockOpenFormDelivery(tx: Tx, id: string, now: Date): Promise<FormDelivery | undefined> {
  const [row] = await tx
    .select()
    .from(formDeliveries)
    .where(and(eq(formDeliveries.id, id), inArray(formDeliveries.status, ['pending', 'sent']), lte(formDeliveries.fallbackAt, now)))
    .for('update', { skipLocked: true });
  return row;
}
