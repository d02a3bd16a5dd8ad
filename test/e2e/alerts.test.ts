import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createOrganisation } from '../../db/organisations.ts';
import { enrollPatient } from '../../db/patients.ts';
import { alertSteps, auditLog, careTeamMembers, careTeams, clinicians, enrollments, escalations, fhirResources, patients } from '../../db/schema.ts';
import { PatientChat } from '../harness/chat.ts';
import type { MatrixEvent } from '../harness/client.ts';
import { eventually } from '../harness/process.ts';
import { careTeamPatient } from '../harness/care-team.ts';
import { newUser, visiteSuite } from '../harness/visite.ts';

/**
 * Alerts as a clinician lives them: a care-team group room on the real
 * Synapse, the clinician played by an independent raw client-server client.
 */
const suite = visiteSuite();

const careTeamWithPatient = (names: Parameters<typeof careTeamPatient>[1]) => careTeamPatient(suite, names);

describe('alerts in the care-team room', () => {
  it('mentions the team for a red value and a red flag, updates a repeat in place, and takes acknowledgements by reaction and reply', async () => {
    const {
      doctor,
      doctorClient,
      teamRoom,
      patient,
      chat,
      teamView: team$,
    } = await careTeamWithPatient({ org: 'Klinikum Alerts', doctor: 'dr.berg', doctorName: 'Dr. Berg', patientName: 'Erika Muster', room: 'Station 3' });
    await chat.say('9', /Körpertemperatur/);
    const pain = await team$.expectBot(/🟠 Warnung · Erika Muster/);
    expect(pain.content['msgtype']).toBe('m.text');
    expect(pain.content['m.mentions']).toEqual({ user_ids: [doctor.userId] });
    expect(pain.content['body']).toMatch(/Schmerzen 9/);
    expect(pain.content['body']).toMatch(/Schwelle: ≥ 7/);
    expect(pain.content['formatted_body']).toContain(`https://matrix.to/#/${encodeURIComponent(doctor.userId)}`);
    expect(pain.content['body']).toMatch(/\/fhir\/R4\/Patient\/[0-9a-f-]+\/\$everything/);

    await chat.say('Ich habe starke Brustschmerzen', /112/);
    const flag = await team$.expectBot(/🔴 DRINGEND · Erika Muster/);
    expect(flag.content['body']).toMatch(/Brustschmerzen/);

    // The same red flag again: the alert is edited, not repeated.
    await chat.say('wieder Brustschmerzen', /112/);
    const edit = await team$.expectBot(/wiederholt, 2×/);
    expect(edit.content['m.relates_to']).toEqual({ rel_type: 'm.replace', event_id: flag.event_id });
    expect(team$.botMessages().filter((e: MatrixEvent) => /DRINGEND/.test(String(e.content['body'])) && !e.content['m.relates_to'])).toHaveLength(1);

    // Acknowledgement by reaction: the alert itself is edited to say who took it over …
    await doctorClient.react(teamRoom, flag.event_id, '✅');
    const taken = await team$.expectBot(/✅ Übernommen von Dr. Berg/);
    expect(taken.content['m.relates_to']).toEqual({ rel_type: 'm.replace', event_id: flag.event_id });
    expect((taken.content['m.new_content'] as { body: string; 'm.mentions': unknown }).body).toMatch(/wiederholt, 2×[\s\S]*✅ Übernommen von Dr. Berg/);
    expect((taken.content['m.new_content'] as { 'm.mentions': unknown })['m.mentions']).toEqual({ user_ids: [] });
    // … and by reply.
    await doctorClient.sendEvent(teamRoom, 'm.room.message', {
      msgtype: 'm.text',
      body: '> <@visite> Warnung\n\nok',
      'm.relates_to': { 'm.in_reply_to': { event_id: pain.event_id } },
    });
    await team$.expectBot(/✅ Übernommen von Dr. Berg/);

    const rows = await eventually(
      async () => {
        const all = await suite.database.db.select().from(escalations).where(eq(escalations.patientId, patient.id));
        return all.every((e) => e.acknowledgedAt !== null) ? all : undefined;
      },
      10_000,
      'all acknowledged',
    );
    expect(rows.map((e) => [e.kind, e.severity, e.acknowledgedBy]).sort()).toEqual([
      ['red_flag', 'urgent', doctor.userId],
      ['red_flag', 'urgent', doctor.userId],
      ['rule', 'warning', doctor.userId],
    ]);
    // Each alert is also a FHIR Flag, closed on acknowledgement.
    const flags = await suite.database.db
      .select()
      .from(fhirResources)
      .where(and(eq(fhirResources.patientId, patient.id), eq(fhirResources.resourceType, 'Flag')));
    expect(flags.map((f) => (f.resource as { status: string }).status).sort()).toEqual(['inactive', 'inactive']);
    expect(flags.every((f) => (f.resource as { period: { end?: string } }).period.end)).toBe(true);
    // A second ✅ says it is already taken over instead of acknowledging twice.
    await doctorClient.react(teamRoom, pain.event_id, '👍');
    await team$.expectBot(/bereits von/);
    expect(suite.running.logs.join('\n')).not.toMatch(/Erika|Brustschmerzen/);
  });
});

describe('re-escalation of an urgent alert nobody takes over', () => {
  it('calls the next person of the chain after the configured minutes, once per step, and stops when they take over', async () => {
    const bot = suite.running.botUser.userId;
    const org = await createOrganisation(suite.database.db, { name: 'Klinikum Chain' });
    const { user: nurse, client: nurseClient } = await newUser('pfl.weber');
    const { user: senior, client: seniorClient } = await newUser('oa.schulz');
    const [nurseRow] = await suite.database.db
      .insert(clinicians)
      .values({ orgId: org.id, matrixUserId: nurse.userId, displayName: 'Pfl. Weber', roles: ['clinician'] })
      .returning();
    const [seniorRow] = await suite.database.db
      .insert(clinicians)
      .values({ orgId: org.id, matrixUserId: senior.userId, displayName: 'OA Schulz', roles: ['clinician'] })
      .returning();
    const { room_id: teamRoom } = await nurseClient.request<{ room_id: string }>('POST', '/createRoom', {
      preset: 'private_chat',
      name: 'Station 5',
      invite: [bot],
    });
    await nurseClient.waitForJoin(teamRoom, bot);
    await nurseClient.request('POST', `/rooms/${encodeURIComponent(teamRoom)}/invite`, { user_id: senior.userId });
    await seniorClient.joinRoom(teamRoom);
    const [team] = await suite.database.db
      .insert(careTeams)
      .values({ orgId: org.id, name: 'Station 5', roomId: teamRoom, escalationChain: [{ afterMinutes: 10, clinicianIds: [seniorRow!.id] }] })
      .returning();
    await suite.database.db.insert(careTeamMembers).values({ careTeamId: team!.id, clinicianId: nurseRow!.id });

    const { user, client } = await newUser('patient');
    const patient = await enrollPatient(suite.database.db, { orgId: org.id, matrixUserId: user.userId, language: 'de', displayName: 'Hans Beispiel' });
    await suite.database.db
      .insert(enrollments)
      .values({ orgId: org.id, patientId: patient.id, flowId: 'post-op', anchorDate: '2026-11-27', careTeamId: team!.id });
    await suite.running.visite.startCheckin(patient, 'post-op');
    const chat = new PatientChat(client, await client.acceptInviteFrom(bot), bot);
    await chat.expectBot(/einverstanden/);
    await chat.say('Ich bekomme keine Luft', /112/);

    const seniorView = new PatientChat(seniorClient, teamRoom, bot);
    const alert = await seniorView.expectBot(/🔴 DRINGEND · Hans Beispiel/);
    expect(alert.content['m.mentions']).toEqual({ user_ids: [nurse.userId] });
    const [escalation] = await suite.database.db.select().from(escalations).where(eq(escalations.patientId, patient.id));

    // Nine minutes: nothing yet. Eleven minutes: OA Schulz is called, once.
    await suite.running.visite.alerts.runOnce(new Date(escalation!.createdAt.getTime() + 9 * 60_000));
    await suite.running.visite.alerts.runOnce(new Date(escalation!.createdAt.getTime() + 11 * 60_000));
    await suite.running.visite.alerts.runOnce(new Date(escalation!.createdAt.getTime() + 12 * 60_000));
    const step = await seniorView.expectBot(/⏫ Seit 10 Minuten nicht übernommen/);
    expect(step.content['m.mentions']).toEqual({ user_ids: [senior.userId] });
    expect(await seniorView.unreadAfter(1_000)).toEqual([]);
    const steps = await suite.database.db.select().from(alertSteps).where(eq(alertSteps.escalationId, escalation!.id));
    expect(steps.map((s) => [s.step, s.roomId])).toEqual([[1, teamRoom]]);

    // The called-in senior takes over by reacting to the re-escalation.
    await seniorClient.react(teamRoom, step.event_id, '✅');
    await seniorView.expectBot(/Übernommen von OA Schulz/);
    const [done] = await suite.database.db.select().from(escalations).where(eq(escalations.id, escalation!.id));
    expect(done!.acknowledgedBy).toBe(senior.userId);
  });
});

describe('care-team commands', () => {
  it('shows a patient, starts a check-in, pauses and resumes — for team members only', async () => {
    const { bot, doctorClient, teamRoom, patient, chat } = await careTeamWithPatient({
      org: 'Klinikum Commands',
      doctor: 'dr.kaya',
      doctorName: 'Dr. Kaya',
      patientName: 'Lena Probe',
      room: 'Station 7',
    });
    const { user: visitor, client: visitorClient } = await newUser('besuch');
    await doctorClient.request('POST', `/rooms/${encodeURIComponent(teamRoom)}/invite`, { user_id: visitor.userId });
    await visitorClient.joinRoom(teamRoom);
    for (const [answer, next] of [
      ['2', /Körpertemperatur/],
      ['37,0', /Wunde/],
      ['1', /übel/],
      ['1', /bewegen/],
      ['1', /Stuhlgang/],
      ['ja', /mitteilen/],
      ['nein', /Vielen Dank/],
    ] as const) {
      await chat.say(answer, next);
    }

    const room = new PatientChat(doctorClient, teamRoom, bot);
    const short = patient.id.slice(0, 8);
    const shown = await room.say(`!patient #${short}`, /Lena Probe/);
    expect(shown.content['msgtype']).toBe('m.notice');
    expect(shown.content['body']).toMatch(/Befragung aktiv/);
    expect(shown.content['body']).toMatch(/Schmerzen 2, Temperatur 37 °C, Wunde unauffällig/);
    expect(shown.content['body']).toMatch(/Offene Meldungen: 0/);

    await room.say(`!pause ${short}`, /ausgesetzt/);
    expect((await suite.database.db.select().from(patients).where(eq(patients.id, patient.id)))[0]!.monitoring).toBe('paused');
    await room.say(`!resume ${short}`, /fortgesetzt/);
    expect((await suite.database.db.select().from(patients).where(eq(patients.id, patient.id)))[0]!.monitoring).toBe('active');

    await room.say(`!checkin ${short}`, /Check-in „post-op“ für Lena Probe \(#[0-9a-f]{8}\) gestartet/);
    await chat.expectBot(/Wie stark sind Ihre Schmerzen/);
    // In the new check-in a severe pain value: the alert names the threshold and the earlier value.
    await chat.say('8', /Körpertemperatur/);
    const pain = await room.expectBot(/🟠 Warnung · Lena Probe/);
    expect(pain.content['body']).toMatch(/Schwelle: ≥ 7/);
    expect(pain.content['body']).toMatch(/Verlauf: 2 → 8 \(\d\d\.\d\d\.\)/);

    await room.say('!patient #00000000', /keinen Patienten mit dieser Kennung/);
    const visitorView = new PatientChat(visitorClient, teamRoom, bot);
    await visitorClient.sendText(teamRoom, `!patient #${short}`);
    const refused = await visitorView.expectBot(/Nur Mitglieder/);
    expect(refused.content['body']).not.toMatch(/Lena/);
    const audit = await suite.database.db.select().from(auditLog).where(eq(auditLog.orgId, patient.orgId));
    expect(audit.map((a) => a.action).sort()).toEqual([
      'careteam.checkin.start',
      'careteam.monitoring.pause',
      'careteam.monitoring.resume',
      'careteam.patient.read',
    ]);
  });
});

describe('photos with alerts', () => {
  it("sends the patient's wound photo into the care-team room after the alert it belongs to", async () => {
    const { patientClient, chat, teamView, doctorClient, teamRoom } = await careTeamWithPatient({
      org: 'Klinikum Fotos',
      doctor: 'dr.lang',
      doctorName: 'Dr. Lang',
      patientName: 'Paul Foto',
      room: 'Station 9',
    });
    await chat.say('3', /Körpertemperatur/);
    await chat.say('37,1', /Wunde/);
    await chat.say('4', /Foto der Wunde/);
    const alert = await teamView.expectBot(/Paul Foto/);
    const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);
    const mxc = await patientClient.upload(jpeg, 'image/jpeg', 'wunde.jpg');
    await patientClient.sendImage(chat.roomId, mxc, { mimetype: 'image/jpeg', size: jpeg.byteLength });
    await chat.expectBot(/Foto ist angekommen/);
    const photo = await eventually(
      async () => {
        await teamView.client.sync(500);
        return teamView.botMessages().find((e) => e.content['msgtype'] === 'm.image');
      },
      15_000,
      'photo in the team room',
    );
    expect(photo.content['url']).toBe(mxc);
    expect(photo.content['m.relates_to']).toEqual({ 'm.in_reply_to': { event_id: alert.event_id } });
    // Barrier: one more full alert pass (a second forward would be queued now), then a command whose
    // answer is queued after it; the room's messages are sent in order.
    await suite.running.visite.alerts.runOnce();
    await doctorClient.sendText(teamRoom, '!help');
    await teamView.expectBot(/!checkin/);
    expect(teamView.botMessages().filter((e) => e.content['msgtype'] === 'm.image')).toHaveLength(1);
  });
});
