import { randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { vocabulary } from '../../core/conversation/vocabulary.ts';
import { createOrganisation } from '../../db/organisations.ts';
import { auditLog, careTeamMembers, careTeams, clinicians, enrollments, inboundEvents, outbox, patients } from '../../db/schema.ts';
import { createLogger } from '../../server/logger.ts';
import { createCareTeamCommands } from '../../services/care-team-commands.ts';
import { createConversations } from '../../services/conversations.ts';
import type { FlowCatalog } from '../../services/flows.ts';
import { openTestCatalog } from '../harness/catalog.ts';
import { createGreetings } from '../../services/greetings.ts';
import { createPatientRooms } from '../../services/patient-rooms.ts';
import { createWake } from '../../services/signal.ts';
import { BACKENDS, useBackend } from '../harness/backends.ts';

/**
 * Exactly once, the hard way: the process dies after an event was claimed and
 * before its effect was stored. Each service claims the event id and applies
 * the effect in one transaction, so the "crash" (a throw at that very point,
 * which aborts the transaction as a kill would) leaves no claim behind; the
 * redelivered event is handled, once, and a third delivery changes nothing.
 */
const logger = createLogger('error');
const tag = () => randomBytes(4).toString('hex');

/** A hook that crashes the first time it runs for each event. */
function crashOnce() {
  const crashed = new Set<string>();
  return (eventId: string) => {
    if (crashed.has(eventId)) return;
    crashed.add(eventId);
    throw new Error('simulated crash between claim and effect');
  };
}

describe.each(BACKENDS)('event id and effect in one transaction, on %s', (kind) => {
  const backend = useBackend(kind);
  let flows: FlowCatalog;
  beforeAll(async () => {
    flows = await openTestCatalog(backend.db);
  });
  const rooms = () =>
    createPatientRooms({
      db: backend.db,
      opener: { createDirectRoom: async () => `!room-${tag()}:localhost`, leaveAndForget: async () => {} },
    });

  async function teamWithPatient() {
    const db = backend.db;
    const org = await createOrganisation(db, { name: `Klinik ${tag()}` });
    const roomId = `!team-${tag()}:localhost`;
    const [team] = await db.insert(careTeams).values({ orgId: org.id, name: 'Station 1', roomId }).returning();
    const doctor = `@doc-${tag()}:localhost`;
    const [clinician] = await db.insert(clinicians).values({ orgId: org.id, matrixUserId: doctor, displayName: 'Dr. Test' }).returning();
    await db.insert(careTeamMembers).values({ careTeamId: team!.id, clinicianId: clinician!.id });
    const [patient] = await db
      .insert(patients)
      .values({ orgId: org.id, matrixUserId: `@p-${tag()}:localhost`, language: 'de', roomId: `!p-${tag()}:localhost`, consent: 'given' })
      .returning();
    await db.insert(enrollments).values({ orgId: org.id, patientId: patient!.id, flowId: 'post-op', anchorDate: '2026-11-30', careTeamId: team!.id });
    return { roomId, doctor, patient: patient! };
  }

  const messagesIn = async (roomId: string) => (await backend.db.select().from(outbox).where(eq(outbox.roomId, roomId))).length;
  const claimed = async (eventId: string) => (await backend.db.select().from(inboundEvents).where(eq(inboundEvents.eventId, eventId))).length;

  it('a care-team command: a crash after the claim loses nothing, the redelivery pauses once and answers once', async () => {
    const { roomId, doctor, patient } = await teamWithPatient();
    const wake = createWake();
    const conversations = createConversations({ db: backend.db, flows, vocabulary: vocabulary(), wake });
    const commands = createCareTeamCommands({ db: backend.db, flows, conversations, rooms: rooms(), logger, wake, afterClaim: crashOnce() });
    const event = { eventId: `$cmd-${tag()}`, sender: doctor, body: `!pause #${patient.id.slice(0, 8)}` };

    await expect(commands.handle(roomId, event)).rejects.toThrow('simulated crash');
    expect(await claimed(event.eventId)).toBe(0);
    expect((await backend.db.select().from(patients).where(eq(patients.id, patient.id)))[0]?.monitoring).toBe('active');
    expect(await messagesIn(roomId)).toBe(0);

    expect(await commands.handle(roomId, event)).toBe(true);
    expect(await commands.handle(roomId, event)).toBe(true); // a third delivery: already handled
    expect((await backend.db.select().from(patients).where(eq(patients.id, patient.id)))[0]?.monitoring).toBe('paused');
    expect(await messagesIn(roomId)).toBe(1);
    const audits = await backend.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.actorId, doctor), eq(auditLog.action, 'careteam.monitoring.pause')));
    expect(audits).toHaveLength(1);
  });

  it('a greeting: answered once after a crash between claim and answer', async () => {
    const roomId = `!dm-${tag()}:localhost`;
    const greetings = createGreetings({ db: backend.db, wake: createWake(), afterClaim: crashOnce() });
    const event = { roomId, eventId: `$hi-${tag()}`, language: 'de' as const };
    await expect(greetings.answer(event)).rejects.toThrow('simulated crash');
    expect(await claimed(event.eventId)).toBe(0);
    expect(await messagesIn(roomId)).toBe(0);
    expect(await greetings.answer(event)).toBe(true);
    expect(await greetings.answer(event)).toBe(false);
    expect(await messagesIn(roomId)).toBe(1);
  });

  it("a patient's answer: stored once after a crash between claim and turn", async () => {
    const { patient } = await teamWithPatient();
    const wake = createWake();
    const plain = createConversations({ db: backend.db, flows, vocabulary: vocabulary(), wake });
    const { checkinId } = await plain.startCheckin(patient.id, 'post-op');
    const crashing = createConversations({ db: backend.db, flows, vocabulary: vocabulary(), wake, afterClaim: crashOnce() });
    const event = { eventId: `$a-${tag()}`, roomId: patient.roomId!, sender: patient.matrixUserId, input: { type: 'text' as const, text: '4' } };
    const before = await messagesIn(patient.roomId!);

    await expect(crashing.handle(event)).rejects.toThrow('simulated crash');
    expect(await claimed(event.eventId)).toBe(0);
    expect(await messagesIn(patient.roomId!)).toBe(before);

    expect(await crashing.handle(event)).toBe('handled');
    expect(await crashing.handle(event)).toBe('duplicate');
    const state = await backend.db.query.checkins.findFirst({ where: (c, { eq: is }) => is(c.id, checkinId) });
    expect((state?.state as { answers: Record<string, { value: unknown }> }).answers['pain']?.value).toEqual({ type: 'number', value: 4 });
    expect(await messagesIn(patient.roomId!)).toBe(before + 2); // the acknowledgement and the next question, once
  });
});
