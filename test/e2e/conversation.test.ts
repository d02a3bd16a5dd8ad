import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type Database } from '../../db/database.ts';
import { createOrganisation } from '../../db/organisations.ts';
import { botState } from '../../db/schema.ts';
import { PatientChat } from '../harness/chat.ts';
import { recordsOf } from '../harness/records.ts';
import { eventually } from '../harness/process.ts';
import { newUser, startTestVisite, stopE2eeClients, type RunningVisite } from '../harness/visite.ts';
import type { Language } from '../../core/language.ts';

/**
 * Check-ins as a patient lives them: Visite in this process on the run's
 * Postgres, the real Synapse, and the patient played by a raw client-server
 * client that shares no code with the bot.
 */
describe('check-in conversations on a real Synapse', () => {
  let running: RunningVisite;
  /** The test's own connection: it outlives restarts of Visite. */
  let database: Database;
  let orgId: string;
  const bot = () => running.botUser.userId;
  const db = () => database.db;

  beforeAll(async () => {
    database = await openDatabase({ url: inject('databaseUrl') });
    orgId = (await createOrganisation(database.db, { name: 'Klinik Conversation' })).id;
    running = await startTestVisite();
    await running.visite.botStarted;
  });
  afterAll(async () => {
    await running?.visite.stop();
    await database?.close();
    await stopE2eeClients();
  });

  /** Enrolls a fresh patient, starts the post-op check-in, joins the bot's room and reads the consent question. */
  async function enrolledPatient(language: Language = 'de') {
    const { user, client } = await newUser('patient');
    const patient = await running.visite.enroll({ orgId, matrixUserId: user.userId, language, displayName: 'Erika Muster' });
    const started = await running.visite.startCheckin(patient, 'post-op');
    const roomId = await client.acceptInviteFrom(bot());
    expect(roomId).toBe(started.roomId);
    const chat = new PatientChat(client, roomId, bot());
    return { user, client, chat, roomId, checkinId: started.checkinId, patient };
  }

  async function consented(language: Language = 'de') {
    const p = await enrolledPatient(language);
    await p.chat.expectBot(/Ich bin Visite, ein digitaler Helfer/);
    await p.chat.expectBot(/einverstanden/);
    await p.chat.say('ja', /Dann fangen wir an/);
    await p.chat.expectBot(/Wie stark sind Ihre Schmerzen/);
    return p;
  }

  it('runs a full check-in: introduction, consent, every question with acknowledgements, a re-ask, a summary', async () => {
    const p = await enrolledPatient();
    const intro = await p.chat.expectBot(/Ich bin Visite, ein digitaler Helfer/);
    expect(intro.content['body']).toMatch(/nicht für Notfälle/);
    expect(intro.content['body']).toMatch(/112/);
    expect(intro.content['body']).toMatch(/stopp/);
    const consent = await p.chat.expectBot(/einverstanden/);
    expect(consent.content['msgtype']).toBe('m.text');

    await p.chat.say('ja', /Dann fangen wir an/);
    const pain = await p.chat.expectBot(/Wie stark sind Ihre Schmerzen/);
    expect(pain.content['msgtype']).toBe('m.text');

    const reask = await p.chat.say('12', /12 liegt außerhalb/);
    expect(reask.content['body']).toMatch(/von 0 bis 10/);
    const ack = await p.chat.say('3', /Danke, notiert: 3/);
    expect(ack.content['msgtype']).toBe('m.notice');
    await p.chat.expectBot(/Körpertemperatur/);
    await p.chat.say('37,2 Grad', /notiert: 37,2/);
    const wound = await p.chat.expectBot(/Wie sieht Ihre Wunde heute aus/);
    expect(wound.content['body']).toMatch(/\n1\. /);
    await p.chat.say('1', /Ist Ihnen übel/);
    await p.chat.say('1', /Wie gut können Sie sich heute bewegen/);
    await p.chat.say('1', /Stuhlgang/);
    await p.chat.say('ja', /noch etwas mitteilen/);
    await p.chat.say('nein', /Vielen Dank!/);
    const summary = await p.chat.expectBot(/^Ihre Angaben heute:/);
    expect(summary.content['msgtype']).toBe('m.notice');
    expect(summary.content['body']).toContain('• Temperatur: 37,2 °C');

    const records = await recordsOf(db(), p.user.userId);
    expect(records.checkins.map((c) => c.status)).toEqual(['completed']);
    expect(Object.fromEntries(records.answers.map((a) => [a.questionId, a.value]))).toEqual({
      pain: { type: 'number', value: 3 },
      temperature: { type: 'number', value: 37.2, unit: 'Cel' },
      wound: { type: 'choices', codes: ['unremarkable'] },
      nausea: { type: 'choice', code: 'none' },
      mobility: { type: 'choice', code: 'as-usual' },
      bowel: { type: 'boolean', value: true },
    });
    expect(records.answers.every((a) => a.revision === 1)).toBe(true);
    expect(records.patient.consent).toBe('given');
    // The last messages may still be on their way; every queued message goes out (the form offered at the
    // start is skipped: this patient's client does not announce it can show forms, docs/tim.md).
    await eventually(
      async () =>
        (await recordsOf(db(), p.user.userId)).outbox.every((row) => row.status === 'sent' || (row.status === 'skipped' && row.message?.type === 'fhir'))
          ? true
          : undefined,
      10_000,
      'outbox drained',
    );
    // Every patient message was recorded once by event id, and the bot marked it read.
    expect(records.inbound).toHaveLength(9);
    await p.client.sync(0);
    const lastPatientMessage = p.client.timeline
      .get(p.roomId)!
      .filter((e) => e.sender === p.user.userId && e.type === 'm.room.message')
      .at(-1)!;
    const readers = await eventually(
      async () => {
        await p.client.sync(500);
        const users = p.client.receipts.get(p.roomId)?.get(lastPatientMessage.event_id);
        return users?.has(bot()) ? users : undefined;
      },
      10_000,
      'read receipt',
    );
    expect(readers.has(bot())).toBe(true);
    // No message contents or answers in the application log.
    expect(running.logs.join('\n')).not.toMatch(/37,2|Erika|Muster|notiert/);
  });

  it('switches language mid-flow on a plain language name and asks the open question again', async () => {
    const p = await consented();
    await p.chat.say('2', /Körpertemperatur/);
    const switched = await p.chat.say('English', /I will write in English/);
    expect(switched.content['body']).toBe('All right, I will write in English from now on.');
    await p.chat.expectBot(/body temperature/i);
    await p.chat.say('37.5', /37\.5/);
    await p.chat.expectBot(/wound/i);
    const records = await recordsOf(db(), p.user.userId);
    expect(records.patient.language).toBe('en');
    expect(records.answer('temperature')?.value).toEqual({ type: 'number', value: 37.5, unit: 'Cel' });
  });

  it('renders Arabic right-to-left in the formatted body', async () => {
    const p = await enrolledPatient('ar');
    const intro = await p.chat.expectBot(/Visite/);
    expect(intro.content['formatted_body']).toMatch(/^<div dir="rtl">/);
    expect(intro.content['format']).toBe('org.matrix.custom.html');
  });

  it('stores nothing and runs no check-in when consent is refused', async () => {
    const p = await enrolledPatient();
    await p.chat.expectBot(/einverstanden/);
    await p.chat.say('nein', /speichere nichts/);
    await p.chat.say('5', /start/);
    const records = await recordsOf(db(), p.user.userId);
    expect(records.patient.consent).toBe('refused');
    expect(records.checkins.map((c) => c.status)).toEqual(['cancelled']);
    expect(records.answers).toEqual([]);
    // Nothing is stored as an answer; what the patient still writes reaches the team as their words.
    expect(records.escalations.map((e) => e.kind)).toEqual(['consent_refused', 'patient_message']);
  });

  it('re-asks a consent reply it does not understand', async () => {
    const p = await enrolledPatient();
    await p.chat.expectBot(/einverstanden/);
    await p.chat.say('vielleicht später', /Bitte antworten Sie mit „ja“ oder „nein“/);
    await p.chat.say('ja', /Dann fangen wir an/);
  });

  it('stops at once on "stopp", cancels the check-in, records it for the team, and needs new consent to restart', async () => {
    const p = await consented();
    await p.chat.say('4', /Körpertemperatur/);
    await p.chat.say('stopp', /Sie haben die Befragung beendet/);
    await p.chat.say('38', /bereits beendet/);
    let records = await recordsOf(db(), p.user.userId);
    expect(records.patient.monitoring).toBe('stopped');
    expect(records.patient.consent).toBe('withdrawn');
    expect(records.checkins.map((c) => c.status)).toEqual(['cancelled']);
    expect(records.answers.map((a) => a.questionId)).toEqual(['pain']);
    expect(records.escalations.map((e) => e.kind)).toEqual(['monitoring_stopped', 'patient_message']);

    // A scheduled check-in after stop does not run; "start" asks for consent again.
    await running.visite.startCheckin(p.patient, 'post-op');
    await p.chat.say('start', /einverstanden/);
    records = await recordsOf(db(), p.user.userId);
    expect(records.patient.consent).toBe('asked');
    expect(records.checkins.map((c) => c.status)).toEqual(['cancelled', 'cancelled']);
  });

  it('answers a red flag mid-question with 112 and an urgent escalation, then carries on', async () => {
    const p = await consented();
    await p.chat.say('3', /Körpertemperatur/);
    const safety = await p.chat.say('Ich habe plötzlich starke Brustschmerzen', /112/);
    expect(safety.content['msgtype']).toBe('m.text');
    await p.chat.say('37,0', /notiert: 37/);
    await p.chat.expectBot(/Wunde/);
    const records = await recordsOf(db(), p.user.userId);
    expect(records.escalations).toHaveLength(1);
    expect(records.escalations[0]).toMatchObject({ kind: 'red_flag', severity: 'urgent', details: { category: 'chest_pain' } });
    expect(records.answer('temperature')?.value).toEqual({ type: 'number', value: 37, unit: 'Cel' });
    expect(running.logs.join('\n')).not.toMatch(/Brustschmerzen/);
  });

  it('catches red flags before consent and gives the crisis line for suicidal thoughts', async () => {
    const p = await enrolledPatient();
    await p.chat.expectBot(/einverstanden/);
    const crisis = await p.chat.say('ich will nicht mehr leben', /0800 111 0 111/);
    expect(crisis.content['body']).toMatch(/112/);
    const records = await recordsOf(db(), p.user.userId);
    expect(records.escalations.map((e) => [e.kind, e.severity, (e.details as { category: string }).category])).toEqual([['red_flag', 'urgent', 'suicidal']]);
    expect(records.patient.consent).toBe('asked');
  });

  it('accepts a photo for the photo question, keeps the bytes, and refuses wrong types and oversized files', async () => {
    const p = await consented();
    await p.chat.say('2', /Körpertemperatur/);
    await p.chat.say('37,8', /Wunde/);
    await p.chat.say('2', /Foto der Wunde/);

    const pdf = await p.client.upload(new TextEncoder().encode('%PDF-1.4'), 'application/pdf', 'befund.pdf');
    await p.client.sendEvent(p.roomId, 'm.room.message', { msgtype: 'm.file', body: 'befund.pdf', url: pdf, info: { mimetype: 'application/pdf', size: 8 } });
    await p.chat.expectBot(/nur Fotos/);
    await p.client.sendImage(p.roomId, pdf, { mimetype: 'image/jpeg', size: 60 * 1024 * 1024 });
    await p.chat.expectBot(/zu groß/);

    const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, ...new TextEncoder().encode('wound photo bytes'), 0xff, 0xd9]);
    const mxc = await p.client.upload(jpeg, 'image/jpeg', 'wunde.jpg');
    await p.client.sendImage(p.roomId, mxc, { mimetype: 'image/jpeg', size: jpeg.byteLength });
    await p.chat.expectBot(/Foto ist angekommen/);
    await p.chat.expectBot(/Ist Ihnen übel/);

    const records = await recordsOf(db(), p.user.userId);
    expect(records.answer('wound_photo')?.value).toMatchObject({ type: 'attachment', url: mxc, contentType: 'image/jpeg' });
    expect(records.attachments).toHaveLength(1);
    expect(records.attachments[0]).toMatchObject({ mxcUrl: mxc, questionId: 'wound_photo', size: jpeg.byteLength });
    expect(Buffer.from(records.attachments[0]!.data).equals(Buffer.from(jpeg))).toBe(true);
  });

  it('keeps a photo sent outside a photo question with the check-in', async () => {
    const p = await consented();
    const mxc = await p.client.upload(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]), 'image/png', 'foto.png');
    await p.client.sendImage(p.roomId, mxc, { mimetype: 'image/png', size: 7 });
    await p.chat.expectBot(/gespeichert/);
    const records = await recordsOf(db(), p.user.userId);
    expect(records.attachments).toHaveLength(1);
    expect(records.attachments[0]).toMatchObject({ checkinId: records.checkins[0]!.id, questionId: null });
    expect(records.answers).toEqual([]);
  });

  it('treats an edit of the last answer as a correction and a reaction as an answer', async () => {
    const p = await consented();
    const painEvent = await p.client.sendText(p.roomId, '3');
    await p.chat.expectBot(/Körpertemperatur/);
    await p.client.editText(p.roomId, painEvent, '6');
    await p.chat.expectBot(/Korrigiert: 6/);
    await p.chat.say('37', /Wunde/);
    const nauseaQuestion = await p.chat.say('1', /Ist Ihnen übel/);
    await p.client.react(p.roomId, nauseaQuestion.event_id, '1️⃣');
    const mobilityQuestion = await p.chat.expectBot(/Wie gut können Sie sich heute bewegen/);
    // A poll response (MSC3381, as Element sends it) whose answer id is an option code.
    await p.client.sendEvent(p.roomId, 'org.matrix.msc3381.poll.response', {
      'm.relates_to': { rel_type: 'm.reference', event_id: mobilityQuestion.event_id },
      'org.matrix.msc3381.poll.response': { answers: ['limited'] },
    });
    await p.chat.expectBot(/Stuhlgang/);

    const records = await recordsOf(db(), p.user.userId);
    expect(records.answer('pain')).toMatchObject({ value: { type: 'number', value: 6 }, revision: 2 });
    expect(records.answer('nausea')?.value).toEqual({ type: 'choice', code: 'none' });
    expect(records.answer('mobility')?.value).toEqual({ type: 'choice', code: 'limited' });
  });

  it('ignores a replayed sync: no second answer, no second reply', async () => {
    const p = await consented();
    await p.chat.say('3', /Körpertemperatur/);
    const key = `${bot()}:sync_token`;
    const [before] = await db().select().from(botState).where(eq(botState.key, key));
    await p.chat.say('37,1', /Wunde/);
    await p.chat.say('1', /übel/);

    // Rewind the stored sync position and restart: the homeserver delivers the same events again.
    await running.visite.stop();
    await db().update(botState).set({ value: before!.value }).where(eq(botState.key, key));
    running = await startTestVisite({}, running.botUser);
    await running.visite.botStarted;
    expect(await p.chat.unreadAfter(3_000)).toEqual([]);

    await p.chat.say('1', /bewegen/);
    const records = await recordsOf(db(), p.user.userId);
    expect(records.answers.map((a) => a.questionId).sort()).toEqual(['nausea', 'pain', 'temperature', 'wound']);
    expect(records.answers.every((a) => a.revision === 1)).toBe(true);
  });

  it('takes answers sent back to back in the order they were sent', async () => {
    const p = await consented();
    // No waiting between them: they arrive in one sync batch, and each must go to its own question.
    for (const text of ['3', '37,5', '1', '1']) await p.client.sendText(p.roomId, text);
    await p.chat.expectBot(/Wie gut können Sie sich heute bewegen/);
    const records = await recordsOf(db(), p.user.userId);
    const byQuestion = Object.fromEntries(records.answers.map((a) => [a.questionId, a.value]));
    expect(byQuestion).toMatchObject({
      pain: { type: 'number', value: 3 },
      temperature: { type: 'number', value: 37.5, unit: 'Cel' },
      wound: { type: 'choices' },
      nausea: { type: 'choice' },
    });
  });
});
