import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createOrganisation } from '../../db/organisations.ts';
import { enrollPatient } from '../../db/patients.ts';
import { careTeamMembers, careTeams, clinicians, enrollments, escalations, organisations, outbox } from '../../db/schema.ts';
import { PatientChat } from '../harness/chat.ts';
import { eventually } from '../harness/process.ts';
import { newUser, visiteSuite } from '../harness/visite.ts';

/**
 * Delivery is a fact, not a hope: an alert counts as delivered when the
 * homeserver accepted it, the patient hears that the team has it only then,
 * and a care-team room that refuses alerts (the bot was kicked) sends them to
 * the organisation's fallback room — or, with none, tells the patient to call
 * and the operator sees it in /readyz and /metrics.
 */
const suite = visiteSuite();

async function setUp(options: { org: string; fallback: boolean }) {
  const bot = suite.running.botUser.userId;
  const org = await createOrganisation(suite.database.db, { name: options.org });
  const { user: doctor, client: doctorClient } = await newUser('dr');
  const [clinician] = await suite.database.db
    .insert(clinicians)
    .values({ orgId: org.id, matrixUserId: doctor.userId, displayName: 'Dr. Weg', roles: ['clinician'] })
    .returning();
  const { room_id: teamRoom } = await doctorClient.request<{ room_id: string }>('POST', '/createRoom', {
    preset: 'private_chat',
    name: 'Station 5',
    invite: [bot],
  });
  await doctorClient.waitForJoin(teamRoom, bot);
  let fallbackRoom: string | undefined;
  if (options.fallback) {
    ({ room_id: fallbackRoom } = await doctorClient.request<{ room_id: string }>('POST', '/createRoom', {
      preset: 'private_chat',
      name: 'Leitstelle',
      invite: [bot],
    }));
    await doctorClient.waitForJoin(fallbackRoom, bot);
    await suite.database.db.update(organisations).set({ fallbackRoomId: fallbackRoom }).where(eq(organisations.id, org.id));
  }
  const [team] = await suite.database.db.insert(careTeams).values({ orgId: org.id, name: 'Station 5', roomId: teamRoom, language: 'de' }).returning();
  await suite.database.db.insert(careTeamMembers).values({ careTeamId: team!.id, clinicianId: clinician!.id });
  const { user, client } = await newUser('patient');
  const patient = await enrollPatient(suite.database.db, { orgId: org.id, matrixUserId: user.userId, language: 'de', displayName: 'Karl Kick' });
  await suite.database.db
    .insert(enrollments)
    .values({ orgId: org.id, patientId: patient.id, flowId: 'post-op', anchorDate: '2026-11-27', careTeamId: team!.id });
  await suite.running.visite.startCheckin(patient, 'post-op');
  const chat = new PatientChat(client, await client.acceptInviteFrom(bot), bot);
  await chat.expectBot(/einverstanden/);
  await chat.say('ja', /Wie stark sind Ihre Schmerzen/);
  // The bot loses its place in the team room.
  await doctorClient.request('POST', `/rooms/${encodeURIComponent(teamRoom)}/kick`, { user_id: bot, reason: 'test' });
  return { bot, patient, chat, doctorClient, teamRoom, fallbackRoom };
}

const escalationsOf = (patientId: string) => suite.database.db.select().from(escalations).where(eq(escalations.patientId, patientId));

/** Other files share the database: leave no failed alert behind that would keep /readyz degraded for them. */
const forgetFailures = (roomId: string) => suite.database.db.delete(outbox).where(eq(outbox.roomId, roomId));

describe('alerts that the care-team room refuses', () => {
  it('go to the fallback room, count as delivered only when accepted there, and the patient hears it only then', async () => {
    const { bot, patient, chat, doctorClient, teamRoom, fallbackRoom } = await setUp({ org: 'Klinik Umleitung', fallback: true });
    try {
      const flagged = await chat.say('Ich habe starke Brustschmerzen', /112/);
      expect(flagged.content['body']).not.toMatch(/benachrichtigt/); // no promise before the fact
      const [alert] = await escalationsOf(patient.id);
      expect(alert!.deliveredAt).toBeNull();

      const fallbackView = new PatientChat(doctorClient, fallbackRoom!, bot);
      const rerouted = await fallbackView.expectBot(/DRINGEND · Karl Kick/, 30_000);
      expect(rerouted.content['body']).toMatch(/nicht zustellbar \(M_FORBIDDEN\)/);
      await chat.expectBot(/bei Ihrem Behandlungsteam angekommen/);
      const delivered = await eventually(async () => (await escalationsOf(patient.id)).find((e) => e.deliveredAt !== null), 10_000, 'delivered');
      expect(delivered.alertEventId).toBe(rerouted.event_id);
      expect(delivered.deliveryNote).toBe('refused:M_FORBIDDEN');

      // The operator sees the room that refused it.
      const ready = await fetch(`${suite.running.visite.httpUrl}/readyz`);
      expect(ready.status).toBe(200); // still serving, but degraded
      const body = (await ready.json()) as { status: string; checks: Record<string, string>; degraded: Record<string, string[]> };
      expect(body.status).toBe('degraded');
      expect(body.checks['alert-delivery']).toBe('degraded');
      expect(body.degraded['alert-delivery']).toContain(teamRoom);
      const metrics = await (await fetch(`${suite.running.visite.httpUrl}/metrics`)).text();
      expect(Number(/^visite_outbox_failed_messages (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    } finally {
      await forgetFailures(teamRoom);
    }
  });

  it('with no fallback: not delivered, the patient is told to call, and nothing claims otherwise', async () => {
    const { patient, chat, teamRoom } = await setUp({ org: 'Klinik Sackgasse', fallback: false });
    try {
      await chat.say('mir ist schwindlig und ich habe starke Brustschmerzen', /112/);
      await chat.expectBot(/konnte Ihr Behandlungsteam gerade nicht erreichen/, 30_000);
      const [alert] = await escalationsOf(patient.id);
      expect(alert).toMatchObject({ deliveredAt: null, deliveryNote: 'undeliverable' });
      expect(chat.botMessages().some((m) => /angekommen/.test(String(m.content['body'])))).toBe(false);
      const ready = (await (await fetch(`${suite.running.visite.httpUrl}/readyz`)).json()) as { checks: Record<string, string> };
      expect(ready.checks['alert-delivery']).toBe('degraded');
    } finally {
      await forgetFailures(teamRoom);
    }
  });
});
