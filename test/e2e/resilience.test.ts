import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createWake } from '../../services/signal.ts';
import { openTestCatalog } from '../harness/catalog.ts';
import { createConversations, type Conversations } from '../../services/conversations.ts';
import { vocabulary } from '../../core/conversation/vocabulary.ts';
import { openDatabase, type Database } from '../../db/database.ts';
import { enrollPatient } from '../../db/patients.ts';
import { createOrganisation } from '../../db/organisations.ts';
import { freePort, registerUser, startSynapse, type SynapseInstance } from '../../scripts/synapse.ts';
import { PatientChat } from '../harness/chat.ts';
import { createApiKey } from '../../server/api/auth.ts';
import { TestClient } from '../harness/client.ts';
import { eventually, processEnv, runMain, waitForHttp, type RunningProcess } from '../harness/process.ts';
import { recordsOf } from '../harness/records.ts';
import { startTestVisite } from '../harness/visite.ts';

/**
 * Restarts, crashes, replays and homeserver outages are normal events: nothing
 * the patient sent may be lost or stored twice, and no reply may be sent twice.
 */
let database: Database;
let service: Conversations;
let orgId: string;

beforeAll(async () => {
  database = await openDatabase({ url: inject('databaseUrl') });
  orgId = (await createOrganisation(database.db, { name: 'Klinik Resilience' })).id;
  // Check-ins are started from the test's own connection (as the scheduler would); the bot process delivers them.
  service = createConversations({ db: database.db, flows: await openTestCatalog(database.db), vocabulary: vocabulary(), wake: createWake() });
});
afterAll(async () => {
  await database?.close();
});

/** An enrolled, consenting patient in a direct room they opened with the bot, with a running post-op check-in. */
async function patientInCheckin(homeserver: { url: string; sharedSecret: string }, botUserId: string) {
  const user = await registerUser(homeserver, `patient-${randomBytes(4).toString('hex')}`);
  const client = new TestClient(homeserver.url, user.userId, user.accessToken);
  const patient = await enrollPatient(database.db, { orgId, matrixUserId: user.userId, language: 'de' });
  const roomId = await client.createDirectRoom(botUserId);
  await client.waitForJoin(roomId, botUserId, 30_000);
  const chat = new PatientChat(client, roomId, botUserId);
  await chat.say('Hallo', /einverstanden/);
  await chat.say('ja', /melde mich, sobald/);
  await service.startCheckin(patient.id, 'post-op');
  await chat.expectBot(/Wie stark sind Ihre Schmerzen/, 30_000);
  return { user, client, chat, patient };
}

describe('kill -9 of the Visite process mid-conversation', () => {
  let run: RunningProcess | undefined;
  afterAll(() => {
    run?.child.kill('SIGKILL');
  });

  it('continues at the right question after restarts, losing and doubling nothing', async () => {
    const homeserver = inject('homeserver');
    const bot = await registerUser(homeserver, `visite-${randomBytes(4).toString('hex')}`);
    const port = await freePort();
    const env = processEnv(homeserver, bot, inject('databaseUrl'), port);
    const start = async () => {
      run = runMain(env);
      await waitForHttp(`http://127.0.0.1:${port}/healthz`);
      await eventually(async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok ? true : undefined), 30_000, 'ready');
    };
    await start();
    const p = await patientInCheckin(homeserver, bot.userId);
    await p.chat.say('3', /Körpertemperatur/);

    // Killed while idle; the patient answers while Visite is down.
    run!.child.kill('SIGKILL');
    await run!.exited;
    await p.client.sendText(p.chat.roomId, '37,4');
    await start();
    await p.chat.expectBot(/notiert: 37,4/, 30_000);
    await p.chat.expectBot(/Wie sieht Ihre Wunde heute aus/);

    // Killed right after the patient's answer arrives, probably in the middle of handling it.
    await p.client.sendText(p.chat.roomId, '1');
    await new Promise((r) => setTimeout(r, 150));
    run!.child.kill('SIGKILL');
    await run!.exited;
    await start();
    await p.chat.expectBot(/Ist Ihnen übel/, 30_000);
    await p.chat.say('1', /bewegen/);

    expect(await p.chat.unreadAfter(1_500)).toEqual([]);
    const questions = p.chat.botMessages().map((e) => String(e.content['body']));
    for (const question of [/Körpertemperatur/, /Wie sieht Ihre Wunde/, /Ist Ihnen übel/, /bewegen/]) {
      expect(questions.filter((body) => question.test(body) && !/notiert/.test(body))).toHaveLength(1);
    }
    const records = await recordsOf(database.db, p.user.userId);
    expect(Object.fromEntries(records.answers.map((a) => [a.questionId, [a.value, a.revision]]))).toEqual({
      pain: [{ type: 'number', value: 3 }, 1],
      temperature: [{ type: 'number', value: 37.4, unit: 'Cel' }, 1],
      wound: [{ type: 'choices', codes: ['unremarkable'] }, 1],
      nausea: [{ type: 'choice', code: 'none' }, 1],
    });
    run!.child.kill('SIGTERM');
    expect(await run!.exited).toBe(0);
  });
});

describe('homeserver outage', () => {
  let synapse: SynapseInstance | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'visite-outage-'));
  afterAll(async () => {
    await synapse?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps messages while the homeserver is down and delivers them once, in order, when it is back', async () => {
    const port = await freePort();
    synapse = await startSynapse({ dir, port });
    const bot = await registerUser(synapse, 'visite');
    const running = await startTestVisite({ VISITE_HOMESERVER_URL: synapse.url, VISITE_ALLOWED_INVITERS: '' }, bot);
    try {
      await running.visite.botStarted;
      const user = await registerUser(synapse, 'patient');
      const client = new TestClient(synapse.url, user.userId, user.accessToken);
      const patient = await enrollPatient(database.db, { orgId, matrixUserId: user.userId, language: 'de' });
      const roomId = await client.createDirectRoom(bot.userId);
      await client.waitForJoin(roomId, bot.userId);
      const chat = new PatientChat(client, roomId, bot.userId);
      await chat.say('Hallo', /einverstanden/);
      await chat.say('ja', /melde mich, sobald/);

      await synapse.stop();
      const ready = await fetch(`${running.visite.httpUrl}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { checks: Record<string, string> }).checks['homeserver']).toBe('unreachable');

      // Over the API a check-in the patient cannot get now is refused, not reported as running.
      const key = (await createApiKey(database.db, orgId, 'KIS', ['integration'])).secret;
      const refused = await fetch(`${running.visite.httpUrl}/v1/patients/${patient.id}/checkins`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ flowId: 'post-op' }),
      });
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('not_ready');
      expect((await recordsOf(database.db, user.userId)).checkins).toHaveLength(0);

      // The scheduler starts a check-in while the homeserver is down: it waits in the outbox.
      await running.visite.conversations.startCheckin(patient.id, 'post-op');
      await new Promise((r) => setTimeout(r, 4_000));
      const pending = await recordsOf(database.db, user.userId);
      const waiting = pending.outbox
        .filter((row) => row.status === 'pending')
        .map((row) => (row.message?.type === 'bot' ? row.message.message.text.slice(0, 40) : ''));
      expect(waiting).toHaveLength(2);
      expect(pending.outbox.some((row) => row.attempts > 0)).toBe(true);

      synapse = await startSynapse({ dir, port });
      const intro = await chat.expectBot(/Check-in nach der Operation/, 60_000);
      const question = await chat.expectBot(/Wie stark sind Ihre Schmerzen/, 30_000);
      expect(intro.origin_server_ts).toBeLessThanOrEqual(question.origin_server_ts);
      await chat.say('2', /Körpertemperatur/);
      expect(await chat.unreadAfter(1_500)).toEqual([]);
      expect(chat.botMessages().filter((e) => /Wie stark sind Ihre Schmerzen/.test(String(e.content['body'])))).toHaveLength(1);
      const records = await recordsOf(database.db, user.userId);
      // The form offered at the start is skipped: this patient's client cannot show forms (docs/tim.md).
      expect(records.outbox.every((row) => row.status === 'sent' || (row.status === 'skipped' && row.message?.type === 'fhir'))).toBe(true);
    } finally {
      await running.visite.stop();
    }
  });
});

describe('two Visite instances on one database', () => {
  it('runs the bot account in one of them only, and handles every message once', async () => {
    const homeserver = inject('homeserver');
    const bot = await registerUser(homeserver, `visite-${randomBytes(4).toString('hex')}`);
    // This patient's client is the raw client-server one (no encryption); test/e2e/scale-out.test.ts has the encrypted case.
    const plain = { VISITE_CRYPTO_PASSPHRASE: '' };
    const a = await startTestVisite(plain, bot);
    const b = await startTestVisite(plain, bot);
    try {
      await Promise.all([a.visite.botStarted, b.visite.botStarted]);
      expect(a.visite.fleet.held().length + b.visite.fleet.held().length).toBe(1);
      const p = await patientInCheckin(homeserver, bot.userId);
      await p.chat.say('3', /Körpertemperatur/);
      await p.chat.say('37,1', /Wie sieht Ihre Wunde/);
      await p.chat.say('1', /Ist Ihnen übel/);
      await p.chat.say('1', /bewegen/);
      expect(await p.chat.unreadAfter(2_000)).toEqual([]);

      const bodies = p.chat.botMessages().map((e) => String(e.content['body']));
      expect(new Set(bodies).size).toBe(bodies.length);
      const records = await recordsOf(database.db, p.user.userId);
      expect(records.answers.map((a) => a.questionId).sort()).toEqual(['nausea', 'pain', 'temperature', 'wound']);
      // Only the holder syncs: every event handled once, none seen twice.
      const outcomes = [...a.logs, ...b.logs].filter((line) => line.includes('"patient event"'));
      expect(outcomes.filter((line) => line.includes('"outcome":"handled"'))).toHaveLength(6);
      expect(outcomes.filter((line) => line.includes('"outcome":"duplicate"'))).toHaveLength(0);
    } finally {
      await a.visite.stop();
      await b.visite.stop();
    }
  });
});
