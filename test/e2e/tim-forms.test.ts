import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Questionnaire, QuestionnaireItem } from '@medplum/fhirtypes';
import { and, asc, eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateR4 } from '../../core/fhir/validate.ts';
import { createOrganisation } from '../../db/organisations.ts';
import { createApiKey } from '../../server/api/auth.ts';
import { enrollPatient } from '../../db/patients.ts';
import { answers, careTeamMembers, careTeams, checkins, clinicians, enrollments, escalations, fhirResources, formDeliveries, outbox } from '../../db/schema.ts';
import { DEFAULT_FLOWS_DIR } from '../../server/config.ts';
import { PatientChat } from '../harness/chat.ts';
import { encryptAttachment, type ClearEvent } from '../harness/e2ee-client.ts';
import type { E2eeTestClient } from '../harness/e2ee-test-client.ts';
import { FORM_DATA_RULES, FORM_DEFINITION_RULES, ISIK_URLS, violations } from '../harness/isik-profiles.ts';
import { eventually } from '../harness/process.ts';
import { checkClientCapabilities, checkFhirEvent, checkStatusResponse } from '../harness/tim-schema.ts';
import { newUser, visiteSuite } from '../harness/visite.ts';

/**
 * Native TI-M questionnaires (issue 13, docs/tim.md) on a real Synapse with
 * real Postgres: patients are matrix-js-sdk clients with their own Rust
 * crypto in encrypted rooms. A patient whose client announces (profile,
 * MSC4401) that it renders ISiKFormularDefinition gets the whole form as a
 * `de.gematik.fhir` event and answers with ISiKFormularDaten; everyone else
 * keeps the chat. Events are checked against rules written from gematik's
 * schemas (test/harness/tim-schema.ts), resources against the ISiK profiles'
 * required elements (test/harness/isik-profiles.ts) and R4.
 */

// The shipped flows plus one too large to travel inline.
const flowsDir = mkdtempSync(join(tmpdir(), 'visite-tim-flows-'));
for (const name of ['post-op.yaml', 'medication-change.yaml']) copyFileSync(join(DEFAULT_FLOWS_DIR, name), join(flowsDir, name));
const longText = (n: number, lang: string) =>
  lang === 'de'
    ? `Frage ${n}: Bitte beschreiben Sie, wie sehr die folgenden Beschwerden Sie in den letzten vierundzwanzig Stunden im Alltag eingeschränkt haben – beim Aufstehen, beim Gehen in der Wohnung, beim Treppensteigen, bei der Körperpflege und beim Schlafen. Wählen Sie eine Zahl von 0 (gar nicht) bis 10 (sehr stark).`
    : `Question ${n}: Please describe how much the following complaints limited you in everyday life during the last twenty-four hours – getting up, walking at home, climbing stairs, personal care and sleeping. Choose a number from 0 (not at all) to 10 (very much).`;
writeFileSync(
  join(flowsDir, 'big-form.yaml'),
  [
    'id: big-form',
    'version: "1.0"',
    'title: { de: Ausführliche Befragung, en: Detailed questionnaire }',
    'languages: [de, en]',
    'questions:',
    ...Array.from({ length: 110 }, (_, i) => [
      `  - id: q${i + 1}`,
      '    type: scale',
      '    min: 0',
      '    max: 10',
      `    label: { de: "Frage ${i + 1}", en: "Question ${i + 1}" }`,
      '    text:',
      `      de: "${longText(i + 1, 'de')}"`,
      `      en: "${longText(i + 1, 'en')}"`,
    ]).flat(),
    '',
  ].join('\n'),
);

const WAIT_MINUTES = 5;
const suite = visiteSuite({ VISITE_FLOWS_DIR: flowsDir, VISITE_TIM_FORM_WAIT_MINUTES: String(WAIT_MINUTES) });
const db = () => suite.database.db;
const bot = () => suite.running.botUser.userId;

// What a TI-M client that renders ISiK forms announces (clientCapabilities.json; keys as push-rule paths).
const FORM_CAPABILITY = {
  events: [
    {
      type: 'de.gematik.fhir',
      content: [
        { key: 'de\\.gematik\\.fhir\\.structure_definition.url', value: ISIK_URLS.DEFINITION },
        { key: 'de\\.gematik\\.fhir\\.structure_definition.type', value: 'Questionnaire' },
      ],
    },
  ],
};

let orgId: string;
let teamId: string;
let teamRoom: string;
let doctor: E2eeTestClient;
let apiKey: string;

/** Visite's REST and FHIR API, as the hospital's systems read it. */
async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${suite.running.visite.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(res.status, `${method} ${path}`).toBe(200);
  return (await res.json()) as T;
}

beforeAll(async () => {
  orgId = (await createOrganisation(db(), { name: 'Klinik TI-M Formulare' })).id;
  const { user: dr, client } = await newUser('dr.form', { e2ee: true });
  doctor = client as E2eeTestClient;
  const [clinician] = await db()
    .insert(clinicians)
    .values({ orgId, matrixUserId: dr.userId, displayName: 'Dr. Form', roles: ['clinician'] })
    .returning();
  teamRoom = await doctor.createDirectRoom(bot());
  await doctor.waitForJoin(teamRoom, bot());
  const [team] = await db().insert(careTeams).values({ orgId, name: 'Chirurgie TI-M', roomId: teamRoom, language: 'de' }).returning();
  teamId = team!.id;
  await db().insert(careTeamMembers).values({ careTeamId: teamId, clinicianId: clinician!.id });
  apiKey = (await createApiKey(db(), orgId, 'tests', ['org_admin', 'integration'])).secret;
  // The team wants completed check-ins as de.gematik.fhir in its room too.
  expect(await api<{ postFhirResponses: boolean }>('PATCH', `/v1/care-teams/${teamId}`, { postFhirResponses: true })).toMatchObject({
    postFhirResponses: true,
  });
});

interface Patient {
  id: string;
  userId: string;
  deviceId: string;
  client: E2eeTestClient;
  roomId: string;
  chat: PatientChat;
}

/** A patient who has agreed; `capable`: their client announces it renders ISiK forms. After "ja" the check-in starts. */
async function patient(options: { capable: boolean; flowId?: string; name: string }): Promise<Patient> {
  const { user, client } = await newUser('patient.form', { e2ee: true });
  const e2ee = client as E2eeTestClient;
  if (options.capable) {
    // The profile key per device (MSC4401); device ids in lower case, as profile keys must be.
    const key = `de.gematik.client_capability.${user.deviceId.toLowerCase()}`;
    await e2ee.request('PUT', `/profile/${encodeURIComponent(user.userId)}/${encodeURIComponent(key)}`, { [key]: FORM_CAPABILITY });
  }
  const enrolled = await enrollPatient(db(), { orgId, matrixUserId: user.userId, language: 'de', displayName: options.name });
  await db()
    .insert(enrollments)
    .values({ orgId, patientId: enrolled.id, flowId: options.flowId ?? 'post-op', anchorDate: '2026-11-26', careTeamId: teamId });
  await suite.running.visite.startCheckin(enrolled, options.flowId ?? 'post-op');
  const roomId = await e2ee.acceptInviteFrom(bot());
  const chat = new PatientChat(e2ee, roomId, bot());
  await chat.expectBot(/einverstanden/);
  await chat.say('ja', /Dann fangen wir an/);
  return { id: enrolled.id, userId: user.userId, deviceId: user.deviceId, client: e2ee, roomId, chat };
}

const isForm = (e: ClearEvent) => e.sender === bot() && e.type === 'de.gematik.fhir';

async function receiveForm(p: Patient): Promise<{ event: ClearEvent; questionnaire: Questionnaire }> {
  const event = await p.client.e2ee.waitForEvent(p.roomId, isForm, 30_000);
  const c = event.content;
  const file = c['de.gematik.fhir.file'] as { url: string; key: { k: string }; iv: string; hashes: { sha256: string } } | undefined;
  const questionnaire = (
    file ? JSON.parse(Buffer.from(await p.client.e2ee.downloadAndDecrypt(file)).toString('utf8')) : c['de.gematik.fhir.resource']
  ) as Questionnaire;
  return { event, questionnaire };
}

/** The ISiKFormularDaten a form renderer would send back for these answers (by linkId). */
function filledIn(p: Patient, q: Questionnaire, values: Record<string, Array<Record<string, unknown>>>, over: Record<string, unknown> = {}) {
  const items = (q.item ?? []).filter((i) => values[i.linkId] !== undefined).map((i) => ({ linkId: i.linkId, text: i.text, answer: values[i.linkId] }));
  return {
    resourceType: 'QuestionnaireResponse',
    meta: { profile: [`${ISIK_URLS.DATA}|5.0.0`] },
    modifierExtension: [{ url: ISIK_URLS.MDR, valueCoding: { system: ISIK_URLS.MDR_CODES, code: 'none' } }],
    questionnaire: `${q.url}|${q.version}`,
    _questionnaire: { extension: [{ url: ISIK_URLS.DISPLAY, valueString: q.title }] },
    status: 'completed',
    subject: { identifier: { system: 'urn:ietf:rfc:3986', value: `matrix:u/${p.userId.slice(1)}` } },
    authored: new Date().toISOString(),
    author: { identifier: { system: 'urn:ietf:rfc:3986', value: `matrix:u/${p.userId.slice(1)}` } },
    item: items,
    ...over,
  };
}

/** Sends a filled-in form as the patient's client does, asking for a processing status; `asFile`: as an encrypted upload. */
async function sendForm(p: Patient, resource: unknown, options: { asFile?: boolean } = {}): Promise<string> {
  const content: Record<string, unknown> = {
    'de.gematik.fhir.structure_definition': { url: ISIK_URLS.DATA, version: '5.0.0', type: 'QuestionnaireResponse', fhir_version: '4.0.1' },
    'de.gematik.text': [{ mimetype: 'text/plain', body: 'Ausgefüllter Fragebogen' }],
    'de.gematik.request.status': { from_device: p.deviceId, lifetime: 120_000 },
  };
  if (options.asFile) {
    const json = Buffer.from(JSON.stringify(resource));
    const encrypted = await encryptAttachment(json);
    const upload = await p.client.e2ee.matrix.uploadContent(Buffer.from(encrypted.data), { type: 'application/octet-stream', includeFilename: false });
    content['de.gematik.fhir.file'] = {
      ...encrypted.info,
      url: upload.content_uri,
      name: 'antworten.json',
      mimetype: 'application/fhir+json',
      size: json.byteLength,
    };
  } else {
    content['de.gematik.fhir.resource'] = resource;
  }
  expect(checkFhirEvent({ type: 'de.gematik.fhir', content })).toEqual([]);
  return p.client.sendEvent(p.roomId, 'de.gematik.fhir', content);
}

async function statusOf(
  p: Patient,
  eventId: string,
): Promise<{ status: string; messages: Array<{ type: string; 'de.gematik.text': Array<{ body: string }> }> }> {
  const event = await p.client.e2ee.waitForEvent(
    p.roomId,
    (e) =>
      e.sender === bot() && e.type === 'de.gematik.response.status' && (e.content['m.relates_to'] as { event_id?: string } | undefined)?.event_id === eventId,
    30_000,
  );
  expect(checkStatusResponse(event)).toEqual([]);
  expect((event.content['de.gematik.response.status'] as { from_device: string }).from_device).not.toBe('');
  return event.content['de.gematik.response.status'] as never;
}

const option = (q: Questionnaire, linkId: string, code: string) => ({
  valueCoding: (q.item ?? []).find((i) => i.linkId === linkId)?.answerOption?.find((o) => o.valueCoding?.code === code)?.valueCoding,
});

async function completed(p: Patient) {
  return eventually(
    async () => {
      const [row] = await db().select().from(checkins).where(eq(checkins.patientId, p.id)).orderBy(asc(checkins.createdAt));
      return row?.status === 'completed' ? row : undefined;
    },
    15_000,
    'check-in completed',
  );
}

/** The clinical record of a patient: answers with channel, escalations, FHIR resources. */
async function recordOf(p: Patient) {
  const checkin = await completed(p);
  const rows = await db()
    .select()
    .from(answers)
    .where(and(eq(answers.checkinId, checkin.id), eq(answers.status, 'current')));
  const raised = await db().select().from(escalations).where(eq(escalations.patientId, p.id));
  const resources = await db().select().from(fhirResources).where(eq(fhirResources.patientId, p.id));
  const of = (type: string) => resources.filter((r) => r.resourceType === type).map((r) => r.resource as Record<string, unknown>);
  return {
    checkin,
    answers: rows,
    escalations: raised,
    observations: of('Observation'),
    responses: of('QuestionnaireResponse'),
    provenances: of('Provenance'),
  };
}

describe('native TI-M questionnaires, the chat as the fallback', () => {
  it('Visite announces in its profile that its device takes ISiKFormularDaten (clientCapabilities.json)', async () => {
    const profile = await doctor.request<Record<string, unknown>>('GET', `/profile/${encodeURIComponent(bot())}`);
    const entries = Object.entries(profile).filter(([key]) => key.startsWith('de.gematik.client_capability.'));
    expect(entries).toHaveLength(1);
    const [, value] = entries[0]!;
    expect(checkClientCapabilities(value)).toEqual([]);
    expect(JSON.stringify(value)).toContain(ISIK_URLS.DATA);
  });

  it('(a) a capable client gets the whole form, answers it with ISiKFormularDaten, and the same Observations, alerts and FHIR records appear as for the chat', async () => {
    const p = await patient({ capable: true, name: 'Frieda Formular' });
    const { event, questionnaire: q } = await receiveForm(p);
    // gematik fhir.json, inline with the plain-text fallback first and a processing-status request.
    expect(checkFhirEvent(event)).toEqual([]);
    expect(event.content['de.gematik.fhir.structure_definition']).toEqual({
      url: ISIK_URLS.DEFINITION,
      version: '5.0.0',
      type: 'Questionnaire',
      fhir_version: '4.0.1',
    });
    expect((event.content['de.gematik.text'] as Array<{ mimetype?: string }>)[0]?.mimetype).toBe('text/plain');
    expect(event.content['de.gematik.request.status']).toMatchObject({ lifetime: WAIT_MINUTES * 60_000 });
    expect(violations(FORM_DEFINITION_RULES, q)).toEqual({});
    expect(validateR4(q)).toEqual([]);
    expect(q.language).toBe('de');
    expect(q.item?.map((i: QuestionnaireItem) => i.linkId)).toEqual(['pain', 'temperature', 'wound', 'nausea', 'mobility', 'bowel', 'comments']);
    // On the wire the form is encrypted and under the 64 KiB event limit.
    const raw = await p.client.request<Record<string, unknown>>('GET', `/rooms/${encodeURIComponent(p.roomId)}/event/${encodeURIComponent(event.eventId)}`);
    expect(raw['type']).toBe('m.room.encrypted');
    expect(JSON.stringify(raw).length).toBeLessThan(64 * 1024);
    // Nothing asked in the chat meanwhile.
    expect(p.chat.botMessages().some((m) => /Wie stark sind Ihre Schmerzen/.test(String(m.content['body'])))).toBe(false);

    const sent = await sendForm(
      p,
      filledIn(p, q, {
        pain: [{ valueInteger: 8 }],
        temperature: [{ valueDecimal: 38.7 }],
        wound: [option(q, 'wound', 'unremarkable')],
        nausea: [option(q, 'nausea', 'none')],
        mobility: [option(q, 'mobility', 'as-usual')],
        bowel: [{ valueBoolean: true }],
        comments: [{ valueString: 'Alles gut so weit' }],
      }),
    );
    const status = await statusOf(p, sent);
    expect(status.status).toBe('success');
    await p.chat.expectBot(/Angaben aus dem Formular sind notiert/);
    await p.chat.expectBot(/Vielen Dank/);

    // The same answers in the chat, by a patient whose client shows no forms.
    const c = await patient({ capable: false, name: 'Chris Chat' });
    await c.chat.expectBot(/Wie stark sind Ihre Schmerzen/);
    await c.chat.say('8', /Körpertemperatur/);
    await c.chat.say('38,7', /Wunde/);
    await c.chat.say('1', /übel/);
    await c.chat.say('1', /bewegen/);
    await c.chat.say('1', /Stuhlgang/);
    await c.chat.say('ja', /mitteilen/);
    await c.chat.say('Alles gut so weit', /Vielen Dank/);

    const form = await recordOf(p);
    const chat = await recordOf(c);
    const byQuestion = (rows: typeof form.answers) => Object.fromEntries(rows.map((a) => [a.questionId, a.value]));
    expect(byQuestion(form.answers)).toEqual(byQuestion(chat.answers));
    expect(form.answers.every((a) => a.channel === 'form')).toBe(true);
    expect(chat.answers.every((a) => a.channel === 'chat')).toBe(true);
    const rules = (rows: typeof form.escalations) => rows.map((e) => [e.kind, e.ruleId, e.severity]).sort();
    expect(rules(form.escalations)).toEqual(rules(chat.escalations));
    expect(rules(form.escalations)).toEqual(
      expect.arrayContaining([
        ['rule', 'fever', 'warning'],
        ['rule', 'pain-severe', 'warning'],
      ]),
    );
    const values = (obs: Array<Record<string, unknown>>) =>
      obs
        .map((o) =>
          JSON.stringify({
            code: o['code'],
            category: o['category'],
            value: o['valueQuantity'] ?? o['valueInteger'] ?? o['valueBoolean'] ?? o['valueCodeableConcept'] ?? o['valueString'],
          }),
        )
        .sort();
    expect(values(form.observations)).toEqual(values(chat.observations));
    const channelOf = (o: Record<string, unknown>) => (o['extension'] as Array<{ valueCode: string }> | undefined)?.[0]?.valueCode;
    expect(form.observations.filter((o) => channelOf(o)).every((o) => channelOf(o) === 'form')).toBe(true);
    expect(chat.observations.filter((o) => channelOf(o)).every((o) => channelOf(o) === 'chat')).toBe(true);
    for (const record of [form, chat]) {
      expect(record.responses).toHaveLength(1);
      expect(record.provenances).toHaveLength(1);
      expect(violations(FORM_DATA_RULES, record.responses[0])).toEqual({});
      for (const r of [...record.responses, ...record.observations, ...record.provenances]) expect(validateR4(r as never)).toEqual([]);
    }
    const items = (qr: Record<string, unknown>) => (qr['item'] as Array<{ linkId: string; answer: unknown }>).map((i) => [i.linkId, i.answer]);
    expect(items(form.responses[0]!)).toEqual(items(chat.responses[0]!));

    // The hospital's systems see the channel of every answer: the check-in API and the FHIR API.
    const checkin = await api<{ answers: Array<{ questionId: string; channel: string }> }>('GET', `/v1/checkins/${form.checkin.id}`);
    expect(checkin.answers.map((a) => a.channel)).toEqual(Array(7).fill('form'));
    const bundle = await api<{ entry: Array<{ resource: Record<string, unknown> }> }>('GET', `/fhir/R4/QuestionnaireResponse?patient=${p.id}`);
    const read = bundle.entry[0]!.resource;
    expect(violations(FORM_DATA_RULES, read)).toEqual({});
    expect((read['meta'] as { profile: string[] }).profile).toEqual([`${ISIK_URLS.DATA}|5.0.0`]);
    expect((read['item'] as Array<{ extension: Array<{ valueCode: string }> }>)[0]!.extension[0]!.valueCode).toBe('form');

    // The care team (postFhirResponses) gets the completed check-in as de.gematik.fhir with the text fallback.
    const posted = await doctor.e2ee.waitForEvent(
      teamRoom,
      (e) => e.sender === bot() && e.type === 'de.gematik.fhir' && JSON.stringify(e.content).includes(`Patient/${p.id}`),
      30_000,
    );
    expect(checkFhirEvent(posted)).toEqual([]);
    expect(posted.content['de.gematik.fhir.structure_definition']).toEqual({
      url: ISIK_URLS.DATA,
      version: '5.0.0',
      type: 'QuestionnaireResponse',
      fhir_version: '4.0.1',
    });
    const teamQr = posted.content['de.gematik.fhir.resource'] as Record<string, unknown>;
    expect(violations(FORM_DATA_RULES, teamQr)).toEqual({});
    expect(validateR4(teamQr as never)).toEqual([]);
    expect(String((posted.content['de.gematik.text'] as Array<{ body: string }>)[0]?.body)).toMatch(/Frieda Formular[\s\S]*Schmerzen: 8/);
  });

  it('(b) a large flow goes as an encrypted file, uploaded once, and its answer — an encrypted file too — is taken', async () => {
    const p = await patient({ capable: true, flowId: 'big-form', name: 'Berta Gross' });
    const { event, questionnaire: q } = await receiveForm(p);
    expect(checkFhirEvent(event)).toEqual([]);
    expect(event.content['de.gematik.fhir.resource']).toBeUndefined();
    const file = event.content['de.gematik.fhir.file'] as Record<string, unknown>;
    expect(file).toMatchObject({ name: 'big-form-1.0.json', mimetype: 'application/fhir+json', v: 'v2' });
    expect(JSON.stringify(q).length).toBeGreaterThan(45_000);
    expect(violations(FORM_DEFINITION_RULES, q)).toEqual({});
    expect(validateR4(q)).toEqual([]);
    expect(q.item).toHaveLength(110);
    // The media was reserved once and the event posted once.
    const [row] = await db()
      .select()
      .from(outbox)
      .where(and(eq(outbox.roomId, p.roomId), eq(outbox.status, 'sent')))
      .orderBy(asc(outbox.id))
      .then((rows) => rows.filter((r) => r.message?.type === 'fhir'));
    expect((row?.prepared as { url: string }).url).toBe(file['url']);
    expect(p.client.e2ee.events(p.roomId).filter(isForm)).toHaveLength(1);

    const values = Object.fromEntries((q.item ?? []).map((i, n) => [i.linkId, [{ valueInteger: n % 11 }]]));
    const status = await statusOf(p, await sendForm(p, filledIn(p, q, values), { asFile: true }));
    expect(status.status).toBe('success');
    await p.chat.expectBot(/Angaben aus dem Formular sind notiert/);
    const record = await recordOf(p);
    expect(record.answers).toHaveLength(110);
  });

  it('(c) an invalid answer gets an error status naming the problem, and the chat asks for the missing and invalid items', async () => {
    const p = await patient({ capable: true, name: 'Ines Invalid' });
    const { questionnaire: q } = await receiveForm(p);
    // Pain out of range, nausea missing (required), the rest fine.
    const sent = await sendForm(
      p,
      filledIn(p, q, {
        pain: [{ valueInteger: 14 }],
        temperature: [{ valueDecimal: 37.1 }],
        wound: [option(q, 'wound', 'unremarkable')],
        mobility: [option(q, 'mobility', 'as-usual')],
        bowel: [{ valueBoolean: true }],
      }),
    );
    const status = await statusOf(p, sent);
    expect(status.status).toBe('error');
    expect(status.messages[0]?.['de.gematik.text'][0]?.body).toMatch(/im Chat nach: Schmerzen/);
    expect(status.messages.some((m) => /pain: out-of-range/.test(m['de.gematik.text'][0]?.body ?? ''))).toBe(true);
    await p.chat.expectBot(/nicht übernehmen: Schmerzen/);
    await p.chat.expectBot(/Wie stark sind Ihre Schmerzen/);
    await p.chat.say('4', /übel/); // nausea, the missing one; temperature and the rest are not asked again
    await p.chat.say('1', /Vielen Dank/);
    const record = await recordOf(p);
    expect(Object.fromEntries(record.answers.map((a) => [a.questionId, a.channel]))).toEqual({
      pain: 'chat',
      temperature: 'form',
      wound: 'form',
      nausea: 'chat',
      mobility: 'form',
      bowel: 'form',
    });

    // A form that is not ISiKFormularDaten at all (no subject, not finished): refused whole, the chat asks from the start.
    const q2 = await patient({ capable: true, name: 'Rolf Refused' });
    const { questionnaire } = await receiveForm(q2);
    const broken = filledIn(q2, questionnaire, { pain: [{ valueInteger: 2 }] }, { status: 'in-progress' });
    delete (broken as Record<string, unknown>)['subject'];
    const refused = await statusOf(q2, await sendForm(q2, broken));
    expect(refused.status).toBe('error');
    const reasons = refused.messages.map((m) => m['de.gematik.text'][0]?.body ?? '');
    expect(reasons).toEqual(
      expect.arrayContaining([expect.stringMatching(/^ISiKFormularDaten\.status/), expect.stringMatching(/^ISiKFormularDaten\.subject 1\.\.1/)]),
    );
    await q2.chat.expectBot(/Formular konnte ich leider nicht übernehmen/);
    await q2.chat.expectBot(/Wie stark sind Ihre Schmerzen/);
  });

  it('(d) a client without the capability gets the chat only', async () => {
    const p = await patient({ capable: false, name: 'Nora Nurchat' });
    // The chat takes over once the bot has found no capable device: the patient answers the question it shows.
    await p.chat.expectBot(/Wie stark sind Ihre Schmerzen/);
    await p.chat.say('2', /Körpertemperatur/);
    expect(p.client.e2ee.events(p.roomId).filter(isForm)).toEqual([]);
    const [delivery] = await db().select().from(formDeliveries).where(eq(formDeliveries.patientId, p.id));
    expect(delivery).toMatchObject({ status: 'fallback', reason: 'not-capable', eventId: null });
  });

  it('(e) a capable client that never answers falls back to the chat after the wait, with the first unanswered item', async () => {
    const p = await patient({ capable: true, name: 'Silke Still' });
    await receiveForm(p);
    // Before the wait is over nothing happens …
    await suite.running.visite.scheduler.runOnce(new Date(Date.now() + (WAIT_MINUTES - 1) * 60_000));
    expect(p.chat.botMessages().some((m) => /Wie stark sind Ihre Schmerzen/.test(String(m.content['body'])))).toBe(false);
    // … after it, the chat takes over.
    const pass = await suite.running.visite.scheduler.runOnce(new Date(Date.now() + (WAIT_MINUTES + 1) * 60_000));
    expect(pass.formsFellBack).toBeGreaterThanOrEqual(1);
    await p.chat.expectBot(/Fragen jetzt hier im Chat/);
    await p.chat.expectBot(/Wie stark sind Ihre Schmerzen/);
    const [delivery] = await db().select().from(formDeliveries).where(eq(formDeliveries.patientId, p.id));
    expect(delivery).toMatchObject({ status: 'fallback', reason: 'timeout' });
  });

  it('a capable client that reports an error processing the form gets the chat at once', async () => {
    const p = await patient({ capable: true, name: 'Emil Error' });
    const { event } = await receiveForm(p);
    await p.client.sendEvent(p.roomId, 'de.gematik.response.status', {
      'de.gematik.response.status': {
        from_device: p.deviceId,
        status: 'error',
        messages: [{ type: 'error', 'de.gematik.text': [{ body: 'Formular kann nicht angezeigt werden' }] }],
      },
      'm.relates_to': { rel_type: 'm.reference', event_id: event.eventId },
    });
    await p.chat.expectBot(/Fragen jetzt hier im Chat/);
    await p.chat.expectBot(/Wie stark sind Ihre Schmerzen/);
  });

  it('a patient who starts answering in the chat after the form was sent is not asked twice', async () => {
    const p = await patient({ capable: true, name: 'Mia Mixed' });
    const { questionnaire: q } = await receiveForm(p);
    await p.chat.say('Hallo', /Wie stark sind Ihre Schmerzen/);
    await p.chat.say('3', /Körpertemperatur/);
    const sent = await sendForm(
      p,
      filledIn(p, q, {
        pain: [{ valueInteger: 9 }],
        temperature: [{ valueDecimal: 37.0 }],
        wound: [option(q, 'wound', 'unremarkable')],
        nausea: [option(q, 'nausea', 'none')],
        mobility: [option(q, 'mobility', 'as-usual')],
        bowel: [{ valueBoolean: false }],
      }),
    );
    expect((await statusOf(p, sent)).status).toBe('success');
    await p.chat.expectBot(/Vielen Dank/);
    const record = await recordOf(p);
    // The chat's pain (3) stands; the form filled in the rest; nothing was asked twice.
    expect(record.answers.find((a) => a.questionId === 'pain')).toMatchObject({ value: { type: 'number', value: 3 }, channel: 'chat' });
    expect(record.answers.find((a) => a.questionId === 'temperature')?.channel).toBe('form');
    expect(p.chat.botMessages().filter((m) => /Wie stark sind Ihre Schmerzen/.test(String(m.content['body'])))).toHaveLength(1);
    expect(record.escalations.map((e) => e.ruleId)).not.toContain('pain-severe');
  });

  it('a replayed form answer is taken once (event-id claim)', async () => {
    const p = await patient({ capable: true, name: 'Rita Replay' });
    const { questionnaire: q } = await receiveForm(p);
    const eventId = await sendForm(
      p,
      filledIn(p, q, {
        pain: [{ valueInteger: 1 }],
        wound: [option(q, 'wound', 'unremarkable')],
        nausea: [option(q, 'nausea', 'none')],
        mobility: [option(q, 'mobility', 'as-usual')],
        bowel: [{ valueBoolean: true }],
      }),
    );
    await statusOf(p, eventId);
    await completed(p);
    const again = await suite.running.visite.conversations.handleFhir({
      eventId,
      roomId: p.roomId,
      sender: p.userId,
      structure: { url: ISIK_URLS.DATA, version: '5.0.0', type: 'QuestionnaireResponse', fhirVersion: '4.0.1' },
      resource: {},
      respond: true,
    });
    expect(again).toBe('duplicate');
    const statuses = p.client.e2ee.events(p.roomId).filter((e) => e.type === 'de.gematik.response.status');
    expect(statuses).toHaveLength(1);
  });
});
