import { and, eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createOrganisation } from '../../db/organisations.ts';
import { enrollPatient } from '../../db/patients.ts';
import { answers, careTeamMembers, careTeams, checkins, clinicians, enrollments, escalations } from '../../db/schema.ts';
import { PatientChat } from '../harness/chat.ts';
import { eventually } from '../harness/process.ts';
import { newUser, visiteSuite } from '../harness/visite.ts';

/**
 * A trend rule across check-ins on different days (issue 6): real Postgres and
 * Synapse, the patient and the clinician as independent clients. The first
 * check-in is moved one day back in the database, as if it had run yesterday.
 */
const suite = visiteSuite();

describe('trend alerts in the care-team room', () => {
  it('raises "fever on two check-ins in a row" with the series when yesterday and today are ≥ 38.0 °C', async () => {
    const bot = suite.running.botUser.userId;
    const org = await createOrganisation(suite.database.db, { name: 'Klinikum Trend' });
    const { user: doctor, client: doctorClient } = await newUser('dr.trend');
    const [clinician] = await suite.database.db
      .insert(clinicians)
      .values({ orgId: org.id, matrixUserId: doctor.userId, displayName: 'Dr. Weiß', roles: ['clinician'] })
      .returning();
    const { room_id: teamRoom } = await doctorClient.request<{ room_id: string }>('POST', '/createRoom', {
      preset: 'private_chat',
      name: 'Chirurgie 2',
      invite: [bot],
    });
    await doctorClient.waitForJoin(teamRoom, bot);
    const [team] = await suite.database.db.insert(careTeams).values({ orgId: org.id, name: 'Chirurgie 2', roomId: teamRoom, language: 'de' }).returning();
    await suite.database.db.insert(careTeamMembers).values({ careTeamId: team!.id, clinicianId: clinician!.id });

    const { user, client } = await newUser('patient.trend');
    const patient = await enrollPatient(suite.database.db, { orgId: org.id, matrixUserId: user.userId, language: 'de', displayName: 'Hans Trend' });
    await suite.database.db
      .insert(enrollments)
      .values({ orgId: org.id, patientId: patient.id, flowId: 'post-op', anchorDate: '2026-11-26', careTeamId: team!.id });

    // Day 1: 38,2 °C — below the single-value fever rule (38,5), so no alert yet.
    const first = await suite.running.visite.startCheckin(patient, 'post-op');
    const chat = new PatientChat(client, await client.acceptInviteFrom(bot), bot);
    await chat.expectBot(/einverstanden/);
    await chat.say('ja', /Wie stark sind Ihre Schmerzen/);
    await chat.say('2', /Körpertemperatur/);
    await chat.say('38,2', /Wunde/);
    await chat.say('1', /übel/);
    await chat.say('nein', /bewegen/);
    await chat.say('wie gewohnt', /Stuhlgang/);
    await chat.say('ja', /mitteilen/);
    await chat.say('nein', /Vielen Dank/);
    await eventually(
      async () => {
        const [row] = await suite.database.db.select({ status: checkins.status }).from(checkins).where(eq(checkins.id, first.checkinId));
        return row?.status === 'completed' ? row : undefined;
      },
      10_000,
      'first check-in completed',
    );

    // … which was yesterday.
    const day = sql`interval '1 day'`;
    await suite.database.db
      .update(answers)
      .set({ answeredAt: sql`${answers.answeredAt} - ${day}` })
      .where(eq(answers.checkinId, first.checkinId));
    await suite.database.db
      .update(checkins)
      .set({ createdAt: sql`${checkins.createdAt} - ${day}`, startedAt: sql`${checkins.startedAt} - ${day}`, endedAt: sql`${checkins.endedAt} - ${day}` })
      .where(eq(checkins.id, first.checkinId));

    // Day 2: 38,4 °C — the second value ≥ 38,0 in a row.
    const team$ = new PatientChat(doctorClient, teamRoom, bot);
    const second = await suite.running.visite.startCheckin(patient, 'post-op');
    await chat.expectBot(/Wie stark sind Ihre Schmerzen/);
    await chat.say('3', /Körpertemperatur/);
    await chat.say('38,4', /Wunde/);

    const alert = await team$.expectBot(/🟠 Warnung · Hans Trend/);
    expect(alert.content['body']).toMatch(/Temperatur ab 38,0 °C an zwei Check-ins hintereinander/);
    expect(alert.content['body']).toMatch(/Temperatur 38,2 → 38,4 °C \(\d\d\.\d\d\.–\d\d\.\d\d\.\)/);
    expect(alert.content['m.mentions']).toEqual({ user_ids: [doctor.userId] });

    const [row] = await suite.database.db
      .select()
      .from(escalations)
      .where(and(eq(escalations.patientId, patient.id), eq(escalations.ruleId, 'fever-persisting')));
    expect(row).toMatchObject({ kind: 'rule', severity: 'warning', checkinId: second.checkinId });
    const trend = (row!.details as { trend?: Record<string, { value: number; at: string }[]> }).trend;
    expect(trend?.['temperature']?.map((p) => p.value)).toEqual([38.2, 38.4]);
    // Only the trend rule fired across both check-ins (38,2 and 38,4 are each below "fever").
    const all = await suite.database.db.select({ ruleId: escalations.ruleId }).from(escalations).where(eq(escalations.patientId, patient.id));
    expect(all.map((e) => e.ruleId)).toEqual(['fever-persisting']);
    expect(suite.running.logs.join('\n')).not.toMatch(/Hans Trend|38,4/);
  });
});
