import { randomBytes } from 'node:crypto';
import { and, asc, eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { tryAnswers } from '../../core/conversation/try.ts';
import { validateR4 } from '../../core/fhir/validate.ts';
import { vocabulary } from '../../core/conversation/vocabulary.ts';
import { enrollPatient, setPatientRoom } from '../../db/patients.ts';
import { auditLog, checkins, escalations, outbox, patients } from '../../db/schema.ts';
import { createConversations, type Conversations, UnknownFlowError } from '../../services/conversations.ts';
import { DeployedFlowChangedError, openFlowCatalog } from '../../services/flows.ts';
import { createWake } from '../../services/signal.ts';
import { call, testApi, type TestApi } from '../harness/api.ts';
import { BACKENDS, useBackend } from '../harness/backends.ts';
import { SHIPPED } from '../harness/catalog.ts';
import type { Role } from '../../db/schema.ts';

/**
 * Each organisation's own flows (issue #11): authored over the API, reviewed
 * by a second person, published as immutable versions, and run by the
 * conversation service on exactly the version a check-in started with — on
 * Postgres and on embedded PGlite.
 */
const TEMPLATE = SHIPPED.get('post-op')!.source;
const PAIN_DE = 'Wie stark sind Ihre Schmerzen im Moment, von 0 bis 10?';
const ANSWERS = ['5', '38,2', '1', '1', '1', 'ja', 'nein'];

/** post-op with its own version and German pain question. */
const postOp = (version: string, painText: string) =>
  TEMPLATE.replace(/^version: "1\.0\.0"$/m, `version: "${version}"`).replace(`de: ${PAIN_DE}`, `de: "${painText}"`);
const yaml = { 'content-type': 'application/yaml' };

describe.each(BACKENDS)('flow catalog, on %s', (kind) => {
  const backend = useBackend(kind);
  let api: TestApi;
  let conversations: Conversations;

  beforeAll(async () => {
    api = await testApi(backend.db);
    conversations = createConversations({ db: backend.db, flows: api.flows, vocabulary: vocabulary(), wake: createWake() });
  });

  /** Writes a draft as the author, submits it, and has the reviewer publish it. */
  async function release(keys: Record<Role, string>, flowId: string, text: string) {
    const saved = await call(api.app, 'PUT', `/v1/flows/${flowId}/draft`, keys.flow_author, text, yaml);
    expect(saved.status, JSON.stringify(saved.body)).toBeLessThan(300);
    const submitted = await call(api.app, 'POST', `/v1/flows/${flowId}/draft/submit`, keys.flow_author);
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);
    const published = await call(api.app, 'POST', `/v1/flows/${flowId}/draft/publish`, keys.flow_reviewer);
    expect(published.status, JSON.stringify(published.body)).toBe(200);
    return published.body;
  }

  async function patient(orgId: string) {
    const tag = randomBytes(4).toString('hex');
    const matrixUserId = `@cat-${tag}:klinik.de`;
    const row = await enrollPatient(backend.db, { orgId, matrixUserId, language: 'de' });
    const roomId = await setPatientRoom(backend.db, row.id, `!cat-${tag}:klinik.de`);
    await backend.db.update(patients).set({ consent: 'given' }).where(eq(patients.id, row.id));
    return { id: row.id, roomId, sender: matrixUserId };
  }

  const say = (p: { roomId: string; sender: string }, text: string) =>
    conversations.handle({ eventId: `$${randomBytes(8).toString('hex')}`, roomId: p.roomId, sender: p.sender, input: { type: 'text', text } });
  /** The texts the bot queued for the patient, in order. */
  const asked = async (roomId: string) =>
    (await backend.db.select().from(outbox).where(eq(outbox.roomId, roomId)).orderBy(asc(outbox.id))).flatMap((r) =>
      r.message?.type === 'bot' ? [r.message.message.text] : [],
    );

  /** The Questionnaire a patient's latest QuestionnaireResponse points at, resolved over FHIR with `key`. */
  async function questionnaireOfResponse(patientId: string, key: string) {
    const responses = await call(api.app, 'GET', `/fhir/R4/QuestionnaireResponse?patient=${patientId}`, key);
    const canonical = responses.body.entry.at(-1).resource.questionnaire as string;
    const [url, version] = canonical.split('|') as [string, string];
    const found = await call(api.app, 'GET', `/fhir/R4/Questionnaire?url=${encodeURIComponent(url)}&version=${encodeURIComponent(version)}`, key);
    return { canonical, url, version, found };
  }

  it('two organisations author their own post-op; a check-in started on v1 ends on v1 after v2 is published; each response resolves to its own version', async () => {
    const a = await api.organisation('Klinik A');
    const b = await api.organisation('Praxis B');

    // A copies the template and publishes its v1; B publishes a different text of its own.
    const copied = await call(api.app, 'POST', '/v1/flows', a.keys.flow_author, { fromTemplate: 'post-op' });
    expect(copied.status).toBe(201);
    expect(copied.body).toMatchObject({ flowId: 'post-op', version: '1.0.0', status: 'draft', transcripts: true, missingTexts: [] });
    expect(copied.body.url).toMatch(/^http:\/\/visite\.test\/fhir\/R4\/Questionnaire\/[0-9a-f-]{36}$/);
    const a1 = await release(a.keys, 'post-op', postOp('1.0.0', 'Klinik A, Version 1: Wie stark sind Ihre Schmerzen?'));
    const b1 = await release(b.keys, 'post-op', postOp('7.0', 'Praxis B: Ihre Schmerzen von 0 bis 10?'));
    expect(a1.published.url).not.toBe(b1.published.url);

    const erika = await patient(a.orgId);
    const paul = await patient(b.orgId);
    await conversations.startCheckin(erika.id, 'post-op');
    await conversations.startCheckin(paul.id, 'post-op');
    await say(erika, ANSWERS[0]!);
    expect((await asked(erika.roomId)).some((t) => t.includes('Klinik A, Version 1'))).toBe(true);
    expect((await asked(paul.roomId)).some((t) => t.includes('Praxis B: Ihre Schmerzen'))).toBe(true);

    // A publishes v2 while Erika's check-in runs.
    const a2 = await release(a.keys, 'post-op', postOp('1.1.0', 'Klinik A, Version 2: Wie stark sind Ihre Schmerzen?'));
    expect(a2).toMatchObject({ previous: '1.0.0', published: { version: '1.1.0', status: 'published' } });
    for (const text of ANSWERS.slice(1)) await say(erika, text);
    for (const text of ANSWERS) await say(paul, text);
    const [first] = await backend.db.select().from(checkins).where(eq(checkins.patientId, erika.id));
    expect(first).toMatchObject({ status: 'completed', flowVersion: '1.0.0' });

    // Her next check-in asks the new text.
    await conversations.startCheckin(erika.id, 'post-op');
    expect((await asked(erika.roomId)).at(-1)).toContain('Klinik A, Version 2');

    // Each stored response resolves, for its own organisation only, to the version that was asked.
    const erikas = await questionnaireOfResponse(erika.id, a.keys.integration);
    expect(erikas.version).toBe('1.0.0');
    expect(erikas.url).toBe(a1.published.url);
    expect(erikas.found.body.entry).toHaveLength(1);
    expect(erikas.found.body.entry[0].resource).toMatchObject({ resourceType: 'Questionnaire', version: '1.0.0', status: 'active' });
    expect(erikas.found.body.entry[0].resource.item[0].text).toBe('Klinik A, Version 1: Wie stark sind Ihre Schmerzen?');
    const pauls = await questionnaireOfResponse(paul.id, b.keys.integration);
    expect(pauls.canonical).toBe(`${b1.published.url}|7.0`);
    expect(pauls.found.body.entry[0].resource.item[0].text).toBe('Praxis B: Ihre Schmerzen von 0 bis 10?');
    expect((await call(api.app, 'GET', `/fhir/R4/Questionnaire?url=${encodeURIComponent(pauls.url)}`, a.keys.integration)).body.total).toBe(0);
    // The canonical URL itself answers with the version new check-ins start on.
    const byUrl = await call(api.app, 'GET', new URL(erikas.url).pathname, a.keys.integration);
    expect(byUrl.body).toMatchObject({ resourceType: 'Questionnaire', version: '1.1.0', url: erikas.url });

    // The catalog lists A's versions; B sees its own.
    const listed = await call(api.app, 'GET', '/v1/flows/post-op', a.keys.clinician);
    expect(listed.body).toMatchObject({ id: 'post-op', origin: 'organisation', version: '1.1.0', draft: null });
    expect(listed.body.versions.map((v: { version: string; current: boolean }) => [v.version, v.current])).toEqual([
      ['1.0.0', false],
      ['1.1.0', true],
    ]);
    expect((await call(api.app, 'GET', '/v1/flows/post-op', b.keys.clinician)).body.version).toBe('7.0');
    const asYaml = await call(api.app, 'GET', '/v1/flows/post-op/versions/1.0.0?format=yaml', a.keys.flow_author);
    expect(asYaml.headers.get('content-type')).toMatch(/^application\/yaml/);
    expect(asYaml.body).toContain('Klinik A, Version 1');
    const asJson = await call(api.app, 'GET', '/v1/flows/post-op/versions/1.0.0', a.keys.flow_author);
    expect(asJson.body).toMatchObject({ version: '1.0.0', origin: 'organisation', document: { id: 'post-op', version: '1.0.0' } });
  });

  it('publishing is four-eyes: the author cannot publish, a second person can; both are audited with the version', async () => {
    const org = await api.organisation();
    const text = postOp('2.0.0', 'Vier Augen: Schmerzen?');
    expect((await call(api.app, 'PUT', '/v1/flows/post-op/draft', org.keys.org_admin, text, yaml)).status).toBe(201);
    // Publishing needs review first.
    expect((await call(api.app, 'POST', '/v1/flows/post-op/draft/publish', org.keys.flow_reviewer)).status).toBe(409);
    expect((await call(api.app, 'POST', '/v1/flows/post-op/draft/submit', org.keys.org_admin)).status).toBe(200);
    // The author may hold the right role, and is still refused; an author role alone may not publish at all.
    const own = await call(api.app, 'POST', '/v1/flows/post-op/draft/publish', org.keys.org_admin);
    expect(own.status).toBe(403);
    expect(own.body.error.message).toMatch(/four-eyes/);
    expect((await call(api.app, 'POST', '/v1/flows/post-op/draft/publish', org.keys.flow_author)).status).toBe(403);
    const published = await call(api.app, 'POST', '/v1/flows/post-op/draft/publish', org.keys.flow_reviewer);
    expect(published.status).toBe(200);

    const entries = await backend.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.orgId, org.orgId), eq(auditLog.resourceType, 'Flow')))
      .orderBy(asc(auditLog.id));
    const line = (e: typeof auditLog.$inferSelect) => `${e.action} ${e.resourceId} ${e.outcome}`;
    expect(entries.map(line)).toEqual([
      'flow.draft.write post-op|2.0.0 ok',
      'flow.publish post-op invalid',
      'flow.submit post-op|2.0.0 ok',
      'flow.publish post-op denied',
      'flow.publish post-op|2.0.0 ok',
    ]);
    const submit = entries.find((e) => e.action === 'flow.submit')!;
    const publish = entries.find((e) => e.action === 'flow.publish' && e.outcome === 'ok')!;
    expect(submit.actorId).not.toBe(publish.actorId);
    expect(published.body.published).toMatchObject({ submittedBy: `api_key:${submit.actorId}`, publishedBy: `api_key:${publish.actorId}` });
  });

  it('a draft with a missing Turkish text is kept with warnings, and refused for review and publishing with the missing keys', async () => {
    const org = await api.organisation();
    const text = postOp('3.0.0', 'Schmerzen?').replace(/^ {6}tr: Şu anda ağrınız ne kadar şiddetli, 0'dan 10'a kadar\?\n/m, '');
    const saved = await call(api.app, 'PUT', '/v1/flows/post-op/draft', org.keys.flow_author, text, yaml);
    expect(saved.status).toBe(201);
    expect(saved.body.missingTexts).toEqual([{ language: 'tr', keys: ['questions.pain.text'] }]);
    const lineOfText = text.split('\n').findIndex((l) => l.includes('de: "Schmerzen?"')) + 1;
    expect(saved.body.warnings).toEqual([
      expect.objectContaining({ code: 'missing-translation', path: 'questions.0.text', line: lineOfText, column: 7, languages: ['tr'] }),
    ]);
    const refused = await call(api.app, 'POST', '/v1/flows/post-op/draft/submit', org.keys.flow_author);
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('invalid_flow');
    expect(refused.body.error.message).toMatch(/missing in tr/);
    expect(refused.body.error.details.missingTexts).toEqual([{ language: 'tr', keys: ['questions.pain.text'] }]);
    expect((await call(api.app, 'POST', '/v1/flows/post-op/draft/publish', org.keys.flow_reviewer)).status).toBe(409);
    // Trying it works meanwhile, in German.
    const tried = await call(api.app, 'POST', '/v1/flows/post-op/draft/try', org.keys.flow_author, { lang: 'de', answers: ['2'] });
    expect(tried.body.events[1]).toMatchObject({ type: 'bot', kind: 'question', text: expect.stringContaining('Schmerzen?') });
  });

  it('refuses a flow text with the located errors, codes and hints of the CLI (YAML and JSON)', async () => {
    const org = await api.organisation();
    const misspelt = postOp('1.0.1', 'Schmerzen?').replace(/^ {4}min: 0\n/m, '    mni: 0\n');
    const res = await call(api.app, 'PUT', '/v1/flows/post-op/draft', org.keys.flow_author, misspelt, yaml);
    expect(res.status).toBe(422);
    const line = misspelt.split('\n').findIndex((l) => l === '    mni: 0') + 1;
    expect(res.body.error.details.issues).toContainEqual(expect.objectContaining({ code: 'unknown-key', line, column: 5, hint: 'did you mean "min"?' }));
    const json = JSON.stringify(
      {
        id: 'post-op',
        version: '1',
        title: { de: 'T', en: 'T' },
        languages: ['de', 'en'],
        questions: [{ id: 'a', type: 'boolean', txt: { de: 'A', en: 'A' } }],
      },
      null,
      2,
    );
    const fromJson = await call(api.app, 'PUT', '/v1/flows/post-op/draft', org.keys.flow_author, json);
    expect(fromJson.status).toBe(422);
    expect(fromJson.body.error.details.issues).toContainEqual(
      expect.objectContaining({ code: 'unknown-key', line: json.split('\n').findIndex((l) => l.includes('"txt"')) + 1, hint: 'did you mean "text"?' }),
    );
    // The id must be the addressed flow's; `url:` is the server's; a published version never changes.
    expect((await call(api.app, 'PUT', '/v1/flows/other/draft', org.keys.flow_author, postOp('1', 'x'), yaml)).body.error.details.issues[0]).toMatchObject({
      path: 'id',
      line: 4,
    });
    const withUrl = await call(api.app, 'PUT', '/v1/flows/post-op/draft', org.keys.flow_author, `url: https://elsewhere.example/q\n${postOp('1', 'x')}`, yaml);
    expect(withUrl.body.error.details.issues[0]).toMatchObject({ path: 'url', line: 1 });
    await release(org.keys, 'post-op', postOp('4.0.0', 'Schmerzen?'));
    const again = await call(api.app, 'PUT', '/v1/flows/post-op/draft', org.keys.flow_author, postOp('4.0.0', 'Anders?'), yaml);
    expect(again.status).toBe(422);
    expect(again.body.error.details.issues[0]).toMatchObject({ path: 'version', line: 5, message: expect.stringMatching(/already published/) });
  });

  it('publishing replays the golden transcripts and refuses on a difference, naming it', async () => {
    const org = await api.organisation();
    // A threshold moved from 38.5 to 39.5 °C: the transcripts still expect a fever alert at 38.6.
    const text = postOp('5.0.0', 'Schmerzen?').replace('when: { op: ">=", value: 38.5 }', 'when: { op: ">=", value: 39.5 }');
    expect(text).not.toBe(postOp('5.0.0', 'Schmerzen?'));
    expect((await call(api.app, 'POST', '/v1/flows', org.keys.flow_author, { fromTemplate: 'post-op' })).status).toBe(201);
    expect((await call(api.app, 'PUT', '/v1/flows/post-op/draft', org.keys.flow_author, text, yaml)).status).toBe(200);
    const refused = await call(api.app, 'POST', '/v1/flows/post-op/draft/submit', org.keys.flow_author);
    expect(refused.status).toBe(422);
    expect(refused.body.error.details.transcriptFailures).toContainEqual(
      expect.objectContaining({ lang: 'en', failures: [expect.stringMatching(/^alerts: expected \[pain-severe, fever\]/)] }),
    );
    // The reviewer's diff shows the moved threshold.
    const diff = await call(api.app, 'GET', '/v1/flows/post-op/draft/diff', org.keys.flow_reviewer);
    expect(diff.body).toMatchObject({
      from: '1.0.0',
      to: '5.0.0',
      thresholds: [{ ruleId: 'fever', questionId: 'temperature', before: 38.5, after: 39.5 }],
      rules: [],
    });
  });

  it('try answers what `visite flows try --answers` prints', async () => {
    const org = await api.organisation();
    const text = postOp('1.0.0', 'Schmerzen?');
    await call(api.app, 'PUT', '/v1/flows/post-op/draft', org.keys.flow_author, text, yaml);
    const answers = ['8', '39,7', '1', '1', '1', 'ja', 'nein'];
    const now = '2026-01-15T08:00:00.000Z';
    const tried = await call(api.app, 'POST', '/v1/flows/post-op/draft/try', org.keys.flow_author, { lang: 'de', answers, now });
    expect(tried.status).toBe(200);
    const flow = api.flows.compileText(text, (await call(api.app, 'GET', '/v1/flows/post-op/draft', org.keys.flow_author)).body.url.split('/').at(-1));
    if (!flow.ok) throw new Error('does not compile');
    expect(tried.body.events).toEqual(
      JSON.parse(JSON.stringify(tryAnswers(flow.flow, answers, { lang: 'de', now: new Date(now), subject: 'Patient/example' }))),
    );
    expect(tried.body.events.map((e: { type: string; ruleId?: string }) => e.ruleId ?? e.type)).toEqual(
      expect.arrayContaining(['pain-severe', 'fever-high', 'questionnaireResponse']),
    );
  });

  it("another organisation's flows answer 404, and drafts never reach a patient", async () => {
    const a = await api.organisation();
    const b = await api.organisation();
    const own = `wound-${randomBytes(3).toString('hex')}`;
    const text = postOp('1.0', 'Wunde?').replace(/^id: post-op$/m, `id: ${own}`);
    expect((await call(api.app, 'PUT', `/v1/flows/${own}/draft`, a.keys.flow_author, text, yaml)).status).toBe(201);

    // Only a draft: nothing starts on it.
    const erika = await patient(a.orgId);
    await expect(conversations.startCheckin(erika.id, own)).rejects.toBeInstanceOf(UnknownFlowError);
    expect((await call(api.app, 'POST', `/v1/patients/${erika.id}/checkins`, a.keys.integration, { flowId: own })).body.error.details.fields[0].path).toBe(
      'flowId',
    );

    await release(a.keys, own, text.replace('version: "1.0"', 'version: "1.1"'));
    for (const path of [`/v1/flows/${own}`, `/v1/flows/${own}/draft`, `/v1/flows/${own}/versions/1.1`]) {
      const foreign = await call(api.app, 'GET', path, b.keys.org_admin);
      const missing = await call(api.app, 'GET', path.replace(own, 'no-such-flow'), b.keys.org_admin);
      expect([foreign.status, foreign.body]).toEqual([404, missing.body]);
    }
    const versionId = (await call(api.app, 'GET', `/v1/flows/${own}`, a.keys.org_admin)).body.versions[0].questionnaireId;
    expect((await call(api.app, 'GET', `/fhir/R4/Questionnaire/${versionId}`, a.keys.integration)).status).toBe(200);
    expect((await call(api.app, 'GET', `/fhir/R4/Questionnaire/${versionId}`, b.keys.integration)).status).toBe(404);
    expect((await call(api.app, 'POST', `/v1/flows/${own}/versions/1.1/retire`, b.keys.org_admin)).status).toBe(404);
    expect(JSON.stringify((await call(api.app, 'GET', '/v1/flows', b.keys.org_admin)).body)).not.toContain(own);
    // B's own flow with the same id is B's alone.
    expect((await call(api.app, 'PUT', `/v1/flows/${own}/draft`, b.keys.flow_author, text, yaml)).status).toBe(201);
    expect((await call(api.app, 'GET', `/v1/flows/${own}`, a.keys.org_admin)).body.draft).toBeNull();
  });

  it('retiring a version lets running check-ins finish on it; new ones start on the latest published version left', async () => {
    const org = await api.organisation();
    await release(org.keys, 'post-op', postOp('1.0.0', 'Eins: Schmerzen?'));
    await release(org.keys, 'post-op', postOp('2.0.0', 'Zwei: Schmerzen?'));
    const p = await patient(org.orgId);
    await conversations.startCheckin(p.id, 'post-op');
    const retired = await call(api.app, 'POST', '/v1/flows/post-op/versions/2.0.0/retire', org.keys.flow_reviewer);
    expect(retired.body).toMatchObject({ status: 'retired', openCheckins: 1 });
    for (const text of ANSWERS) await say(p, text);
    const [running] = await backend.db.select().from(checkins).where(eq(checkins.patientId, p.id));
    expect(running).toMatchObject({ status: 'completed', flowVersion: '2.0.0' });
    expect((await asked(p.roomId)).filter((t) => t.includes('Zwei: Schmerzen?'))).toHaveLength(1);
    await conversations.startCheckin(p.id, 'post-op');
    expect((await asked(p.roomId)).at(-1)).toContain('Eins: Schmerzen?');
    // Its Questionnaire stays resolvable, as retired.
    const q = await questionnaireOfResponse(p.id, org.keys.integration);
    expect(q.found.body.entry[0].resource).toMatchObject({ version: '2.0.0', status: 'retired' });
    expect((await call(api.app, 'POST', '/v1/flows/post-op/versions/2.0.0/retire', org.keys.flow_reviewer)).status).toBe(409);
  });

  it("applies a care team's thresholds to the organisation's versions, and reports one for a rule a new version removed — in the diff, the publish result and the team", async () => {
    const org = await api.organisation();
    await call(api.app, 'POST', '/v1/clinicians', org.keys.org_admin, {
      matrixUserId: `@dr-${randomBytes(3).toString('hex')}:klinik.de`,
      displayName: 'Dr. Schwelle',
    });
    const team = await call(api.app, 'POST', '/v1/care-teams', org.keys.org_admin, {
      name: 'Station 5',
      roomId: `!s5-${org.orgId}:klinik.de`,
      thresholds: { 'post-op': { fever: 38.0 } },
    });
    expect(team.body.thresholdProblems).toEqual([]);
    // The organisation's own copy of the template, published with its transcripts.
    expect((await call(api.app, 'POST', '/v1/flows', org.keys.flow_author, { fromTemplate: 'post-op' })).status).toBe(201);
    expect((await call(api.app, 'POST', '/v1/flows/post-op/draft/submit', org.keys.flow_author)).status).toBe(200);
    expect((await call(api.app, 'POST', '/v1/flows/post-op/draft/publish', org.keys.flow_reviewer)).status).toBe(200);
    const p = await patient(org.orgId);
    const enrollment = await call(api.app, 'POST', '/v1/enrollments', org.keys.integration, {
      patientId: p.id,
      flowId: 'post-op',
      anchorDate: '2026-06-01',
      careTeamId: team.body.id,
    });
    const rulesRaised = async (temperature: string) => {
      await backend.db.transaction((tx) => conversations.startCheckinInTx(tx, p.id, 'post-op', new Date(), { enrollmentId: enrollment.body.id }));
      const before = (await backend.db.select().from(escalations).where(eq(escalations.patientId, p.id))).length;
      for (const text of ['2', temperature]) await say(p, text);
      return (await backend.db.select().from(escalations).where(eq(escalations.patientId, p.id))).slice(before).map((e) => e.ruleId);
    };
    // 38.2 °C: under the flow's 38.5, over the team's 38.0.
    expect(await rulesRaised('38,2')).toEqual(['fever']);

    // A version without the "fever" rule (the flow keeps "fever-high").
    const withoutFever = postOp('2.0.0', 'Schmerzen?').replace(/^ {6}- id: fever\n(?: {8}.*\n)+/m, '');
    expect(withoutFever).not.toContain('- id: fever\n');
    await call(api.app, 'PUT', '/v1/flows/post-op/draft', org.keys.flow_author, withoutFever, yaml);
    const diff = await call(api.app, 'GET', '/v1/flows/post-op/draft/diff', org.keys.flow_reviewer);
    expect(diff.body.rules).toContainEqual(expect.objectContaining({ id: 'fever', change: 'removed' }));
    expect(diff.body.thresholdProblems).toEqual([expect.objectContaining({ careTeamId: team.body.id, ruleId: 'fever' })]);
    // The transcripts it kept from 1.0.0 still expect "fever": new ones for the new version.
    expect((await call(api.app, 'POST', '/v1/flows/post-op/draft/submit', org.keys.flow_author)).status).toBe(422);
    const quiet =
      'transcripts:\n  - name: quiet\n    lang: de\n    messages: ["2", "38,2", "1", "nein", "wie gewohnt", "ja", "nein"]\n    expect: { alerts: [] }\n';
    expect((await call(api.app, 'PUT', '/v1/flows/post-op/draft/transcripts', org.keys.flow_author, quiet, yaml)).status).toBe(200);
    expect((await call(api.app, 'POST', '/v1/flows/post-op/draft/submit', org.keys.flow_author)).status).toBe(200);
    const published = await call(api.app, 'POST', '/v1/flows/post-op/draft/publish', org.keys.flow_reviewer);
    expect(published.body.thresholdProblems).toEqual([
      expect.objectContaining({ careTeamId: team.body.id, ruleId: 'fever', message: expect.stringMatching(/no rule "fever"/) }),
    ]);
    expect((await call(api.app, 'GET', `/v1/care-teams/${team.body.id}`, org.keys.org_admin)).body.thresholdProblems).toEqual([
      { flowId: 'post-op', ruleId: 'fever', message: expect.stringMatching(/no rule "fever".*version 2\.0\.0/) },
    ]);
    // No "fever" on 2.0.0; its trend rule sees the value of the check-in on 1.0.0 (history spans versions).
    expect(await rulesRaised('38,2')).toEqual(['fever-persisting']);
  });

  it('exports a version as FHIR Questionnaire, and another organisation imports it as its draft', async () => {
    const a = await api.organisation();
    const b = await api.organisation();
    await release(a.keys, 'post-op', postOp('1.2.0', 'Export: Schmerzen?'));
    const exported = await call(api.app, 'GET', '/v1/flows/post-op/versions/1.2.0?format=fhir', a.keys.flow_author);
    expect(exported.headers.get('content-type')).toBe('application/fhir+json');
    expect(validateR4(exported.body)).toEqual([]);
    expect(exported.body).toMatchObject({
      resourceType: 'Questionnaire',
      version: '1.2.0',
      status: 'active',
      url: expect.stringMatching(/^http:\/\/visite\.test\/fhir\/R4\/Questionnaire\//),
    });
    const imported = await call(api.app, 'PUT', '/v1/flows/post-op/draft', b.keys.flow_author, JSON.stringify(exported.body), {
      'content-type': 'application/fhir+json',
    });
    expect(imported.status).toBe(201);
    expect(imported.body.version).toBe('1.2.0');
    expect(imported.body.importWarnings).toEqual(expect.arrayContaining([expect.stringMatching(/url .* was replaced by this server's canonical URL/)]));
    expect(imported.body.url).not.toBe(exported.body.url);
    const text = await call(api.app, 'GET', '/v1/flows/post-op/draft?format=yaml', b.keys.flow_author);
    expect(text.body).toMatch(/^# Imported from a FHIR Questionnaire/);
    expect(text.body).toContain('Export: Schmerzen?');
    const broken = await call(
      api.app,
      'PUT',
      '/v1/flows/post-op/draft',
      b.keys.flow_author,
      JSON.stringify({ resourceType: 'Questionnaire', status: 'active', item: [{ linkId: 'u', type: 'url', text: 'Link?' }] }),
      { 'content-type': 'application/fhir+json' },
    );
    expect(broken.status).toBe(422);
    expect(broken.body.error.details.issues[0]).toMatchObject({ code: 'unsupported-fhir' });
  });

  it('an enrollment may pin a version; new check-ins of the others follow the latest published one', async () => {
    const org = await api.organisation();
    await release(org.keys, 'post-op', postOp('1.0.0', 'Eins: Schmerzen?'));
    await release(org.keys, 'post-op', postOp('2.0.0', 'Zwei: Schmerzen?'));
    const p = await patient(org.orgId);
    await call(api.app, 'POST', '/v1/clinicians', org.keys.org_admin, {
      matrixUserId: `@dr-${randomBytes(3).toString('hex')}:klinik.de`,
      displayName: 'Dr. Pin',
    });
    const team = await call(api.app, 'POST', '/v1/care-teams', org.keys.org_admin, { name: 'Pin', roomId: `!pin-${org.orgId}:klinik.de` });
    const badPin = await call(api.app, 'POST', '/v1/enrollments', org.keys.integration, {
      patientId: p.id,
      flowId: 'post-op',
      flowVersion: '9.9',
      anchorDate: '2026-06-01',
      careTeamId: team.body.id,
    });
    expect(badPin.body.error.details.fields[0].path).toBe('flowVersion');
    const pinned = await call(api.app, 'POST', '/v1/enrollments', org.keys.integration, {
      patientId: p.id,
      flowId: 'post-op',
      flowVersion: '1.0.0',
      anchorDate: '2026-06-01',
      careTeamId: team.body.id,
    });
    expect(pinned.body).toMatchObject({ flowVersion: '1.0.0' });
    await backend.db.transaction((tx) => conversations.startCheckinInTx(tx, p.id, 'post-op', new Date(), { enrollmentId: pinned.body.id, version: '1.0.0' }));
    expect((await asked(p.roomId)).at(-1)).toContain('Eins: Schmerzen?');
    // Retired, the pin gives way to the latest published version.
    await call(api.app, 'POST', '/v1/flows/post-op/versions/1.0.0/retire', org.keys.org_admin);
    await backend.db.transaction((tx) => conversations.startCheckinInTx(tx, p.id, 'post-op', new Date(), { enrollmentId: pinned.body.id, version: '1.0.0' }));
    expect((await asked(p.roomId)).at(-1)).toContain('Zwei: Schmerzen?');
  });

  it('a deployed flow file whose version was deployed before with other content stops the start, naming file and line', async () => {
    const file = SHIPPED.get('post-op')!;
    const changed = new Map([['post-op', { ...file, source: file.source.replace(`de: ${PAIN_DE}`, 'de: Geändert, ohne neue Version?') }]]);
    const refused = openFlowCatalog({ db: backend.db, deployed: changed, links: { publicUrl: 'http://visite.test' } });
    await expect(refused).rejects.toBeInstanceOf(DeployedFlowChangedError);
    await expect(refused).rejects.toThrow(
      new RegExp(`${file.file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:5:10: version 1\\.0\\.0 of "post-op" was deployed before with other content`),
    );
    // The same content with other comments is the same version.
    await expect(
      openFlowCatalog({
        db: backend.db,
        deployed: new Map([['post-op', { ...file, source: `# a comment\n${file.source}` }]]),
        links: { publicUrl: 'http://visite.test' },
      }),
    ).resolves.toBeDefined();
  });
});
