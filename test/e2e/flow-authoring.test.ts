import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createOrganisation } from '../../db/organisations.ts';
import { careTeams } from '../../db/schema.ts';
import { createApiKey } from '../../server/api/auth.ts';
import { SHIPPED } from '../harness/catalog.ts';
import { PatientChat } from '../harness/chat.ts';
import type { E2eeTestClient } from '../harness/e2ee-test-client.ts';
import { newUser, visiteSuite } from '../harness/visite.ts';

/**
 * A care team changes its own flow without a deploy, over real HTTP against a
 * running Visite (real Synapse, real Postgres): an author edits a question
 * text, a second person publishes it, and the patient's next check-in in the
 * encrypted room asks the new text — while the check-in that was running
 * finishes on the version it started with, and each stored response resolves
 * to the version that was asked.
 */
const suite = visiteSuite();
const ROOT = join(import.meta.dirname, '..', '..');
const PAIN_DE = 'Wie stark sind Ihre Schmerzen im Moment, von 0 bis 10?';
const NEW_PAIN_DE = 'Wie stark sind Ihre Schmerzen heute, auf einer Skala von 0 bis 10?';

async function http(method: string, path: string, key: string, body?: unknown, type = 'application/json') {
  const res = await fetch(`${suite.running.visite.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': type } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // YAML and other text stay text
  }
  return { status: res.status, type: res.headers.get('content-type'), body: parsed };
}

/** The Questionnaire a patient's stored QuestionnaireResponse (by its status) points at, resolved over FHIR. */
async function askedQuestionnaire(patientId: string, key: string, status: 'completed' | 'in-progress') {
  const responses = await http('GET', `/fhir/R4/QuestionnaireResponse?patient=${patientId}`, key);
  const response = responses.body.entry.find((e: { resource: { status: string } }) => e.resource.status === status).resource;
  const [url, version] = (response.questionnaire as string).split('|') as [string, string];
  const found = await http('GET', `/fhir/R4/Questionnaire?url=${encodeURIComponent(url)}&version=${encodeURIComponent(version)}`, key);
  expect(found.body.total).toBe(1);
  return found.body.entry[0].resource as { version: string; url: string; item: Array<{ linkId: string; text: string }> };
}

const run = promisify(execFile);
async function visite(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(join(ROOT, 'scripts/node24.sh'), ['node', join(ROOT, 'cli/visite.ts'), ...args], { cwd: ROOT, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('authoring a flow over the API, without a deploy', () => {
  it('an author edits a question text, another person publishes it, and the next check-in in the encrypted room asks the new text', async () => {
    const { db } = suite.database;
    const org = await createOrganisation(db, { name: 'Klinik Eigenfluss' });
    const author = (await createApiKey(db, org.id, 'Pflegeexpertin', ['flow_author'])).secret;
    const reviewer = (await createApiKey(db, org.id, 'Oberarzt', ['flow_reviewer'])).secret;
    const kis = (await createApiKey(db, org.id, 'KIS', ['integration'])).secret;
    await db.insert(careTeams).values({ orgId: org.id, name: 'Chirurgie', roomId: `!eigenfluss-${org.id}:localhost` });
    const { user, client } = await newUser('patient', { e2ee: true });
    const patient = await http('POST', '/v1/patients', kis, { matrixUserId: user.userId, language: 'de', displayName: 'Erika Muster' });

    // A check-in on the deployed post-op is running.
    expect((await http('POST', `/v1/patients/${patient.body.id}/checkins`, kis, { flowId: 'post-op' })).status).toBe(201);
    const roomId = await client.acceptInviteFrom(suite.running.botUser.userId);
    const chat = new PatientChat(client, roomId, suite.running.botUser.userId);
    await chat.expectBot(/einverstanden/);
    await chat.say('ja', new RegExp(PAIN_DE.replace(/[?]/g, '\\?')));
    await chat.say('5', /Körpertemperatur/);

    // The author copies the template, edits the question in its YAML and submits it.
    expect((await http('POST', '/v1/flows', author, { fromTemplate: 'post-op' })).status).toBe(201);
    const draft = await http('GET', '/v1/flows/post-op/draft?format=yaml', author);
    expect(draft.type).toMatch(/^application\/yaml/);
    const edited = (draft.body as string).replace(`de: ${PAIN_DE}`, `de: ${NEW_PAIN_DE}`).replace('version: "1.0.0"', 'version: "1.0.1"');
    const saved = await http('PUT', '/v1/flows/post-op/draft', author, edited, 'application/yaml');
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ version: '1.0.1', status: 'draft', missingTexts: [] });
    expect((await http('POST', '/v1/flows/post-op/draft/submit', author)).status).toBe(200);

    // The reviewer sees exactly the change, the author may not publish, the reviewer does.
    const diff = await http('GET', '/v1/flows/post-op/draft/diff', reviewer);
    expect(diff.body).toMatchObject({ from: '1.0.0', to: '1.0.1', questions: [], options: [], rules: [], thresholds: [], schedule: null });
    expect(diff.body.texts).toEqual([{ key: 'questions.pain.text', language: 'de', before: PAIN_DE, after: NEW_PAIN_DE }]);
    expect((await http('POST', '/v1/flows/post-op/draft/publish', author)).status).toBe(403);
    const published = await http('POST', '/v1/flows/post-op/draft/publish', reviewer);
    expect(published.status).toBe(200);
    expect(published.body).toMatchObject({ previous: null, published: { version: '1.0.1', status: 'published', origin: 'organisation' } });

    // The running check-in finishes on the version it started with.
    for (const [answer, next] of [
      ['38,2', /Wunde/],
      ['1', /übel/],
      ['1', /bewegen/],
      ['1', /Stuhlgang/],
      ['ja', /mitteilen/],
      ['nein', /Vielen Dank/],
    ] as const)
      await chat.say(answer, next);

    // The next check-in asks the new text, in the same encrypted room.
    expect((await http('POST', `/v1/patients/${patient.body.id}/checkins`, kis, { flowId: 'post-op' })).body.flowVersion).toBe('1.0.1');
    const question = await chat.expectBot(new RegExp(NEW_PAIN_DE.replace(/[?]/g, '\\?')));
    expect(question.content['body']).not.toContain(PAIN_DE);
    expect(await (client as E2eeTestClient).e2ee.isRoomEncrypted(roomId)).toBe(true);
    await chat.say('3', /Körpertemperatur/);

    // Each stored response points at the version it asked, resolvable on this server.
    const first = await askedQuestionnaire(patient.body.id, kis, 'completed');
    const second = await askedQuestionnaire(patient.body.id, kis, 'in-progress');
    expect([first.version, first.item.find((i) => i.linkId === 'pain')?.text]).toEqual(['1.0.0', PAIN_DE]);
    expect([second.version, second.item.find((i) => i.linkId === 'pain')?.text]).toEqual(['1.0.1', NEW_PAIN_DE]);
    expect(second.url).toBe(published.body.published.url);
    expect(second.url.startsWith(`${suite.running.visite.httpUrl}/fhir/R4/Questionnaire/`)).toBe(true);
    expect(first.url).not.toMatch(/visite\.example/);
  });

  it('the CLI pushes a flow file with its transcripts, submits it, and publishes it as another person', async () => {
    const { db } = suite.database;
    const org = await createOrganisation(db, { name: 'Praxis Kommandozeile' });
    const author = (await createApiKey(db, org.id, 'Autorin', ['flow_author'])).secret;
    const reviewer = (await createApiKey(db, org.id, 'Prüfer', ['flow_reviewer'])).secret;
    const url = suite.running.visite.httpUrl;
    const dir = mkdtempSync(join(tmpdir(), 'visite-push-'));
    const file = join(dir, 'post-op.yaml');
    const template = SHIPPED.get('post-op')!;
    writeFileSync(file, template.source.replace('version: "1.0.0"', 'version: "2.0.0"'));
    writeFileSync(join(dir, 'post-op.transcripts.yaml'), template.transcripts!);

    const pushed = await visite(['flows', 'push', file, '--url', url, '--key', author]);
    expect(pushed.stderr).toBe('');
    expect(pushed.code).toBe(0);
    expect(pushed.stdout).toContain('draft post-op 2.0.0 created');
    expect(pushed.stdout).toContain('transcripts');
    expect((await visite(['flows', 'submit', 'post-op', '--url', url, '--key', author])).code).toBe(0);
    const own = await visite(['flows', 'publish', 'post-op', '--url', url, '--key', author]);
    expect(own.code).toBe(1);
    expect(own.stderr).toMatch(/^403 forbidden: .*(roles|four-eyes)/m);
    const published = await visite(['flows', 'publish', 'post-op', '--url', url, '--key', reviewer]);
    expect(published.code).toBe(0);
    expect(published.stdout).toMatch(/published post-op 2\.0\.0; \d+ golden transcript\(s\) passed/);
    expect((await http('GET', '/v1/flows/post-op', reviewer)).body).toMatchObject({ origin: 'organisation', version: '2.0.0' });

    // A broken file is refused with the located errors `flows validate` prints.
    writeFileSync(file, template.source.replace('version: "1.0.0"', 'version: "2.0.1"').replace(/^ {4}min: 0$/m, '    mni: 0'));
    const broken = await visite(['flows', 'push', file, '--url', url, '--key', author]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(
      new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:5: unknown key "mni" \\[unknown-key\\]\\n  hint: did you mean "min"\\?`),
    );
  });
});
