/**
 * `npm run demo`: a local Synapse, Visite on embedded storage (PGlite), and a
 * scripted patient who talks to the bot through an independent Matrix client.
 * Prints what happened, then serves until Ctrl-C; with CI=true it exits 0 after
 * the scripted part.
 */
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PatientChat } from '../test/harness/chat.ts';
import { E2eeChat } from '../test/harness/e2ee-chat.ts';
import { E2eeClient } from '../test/harness/e2ee-client.ts';
import { TestClient } from '../test/harness/client.ts';
import { recordsOf } from '../test/harness/records.ts';
import { loadConfig } from '../server/config.ts';
import { createLogger } from '../server/logger.ts';
import { startVisite } from '../server/visite.ts';
import { createOrganisation } from '../db/organisations.ts';
import { careTeamMembers, careTeams, clinicians } from '../db/schema.ts';
import { createApiKey } from '../server/api/auth.ts';
import { createLoginLink } from '../db/web-sessions.ts';
import { registerUser, startSynapse } from './synapse.ts';

process.noDeprecation = true;

const root = resolve(import.meta.dirname, '..', 'var', 'demo');
const say = (line: string) => process.stdout.write(`${line}\n`);
const step = (line: string) => say(`\n▸ ${line}`);

/** Prints messages as `who │ text`, continuation lines indented. */
function printLines<T>(events: readonly T[], who: (e: T) => string, text: (e: T) => string): void {
  for (const event of events) {
    const lines = text(event).split('\n');
    say(`  ${who(event)} │ ${lines[0]}`);
    for (const line of lines.slice(1)) say(`          │ ${line}`);
  }
}

/** Prints a room's messages and reactions as a raw client received them. */
function printRoom(client: TestClient, roomId: string, botUserId: string, name: string): void {
  const events = (client.timeline.get(roomId) ?? []).filter((e) => e.type === 'm.room.message' || e.type === 'm.reaction');
  printLines(
    events,
    (e) => (e.sender === botUserId ? (e.content['msgtype'] === 'm.notice' ? 'Visite·' : 'Visite ') : name.padEnd(7).slice(0, 7)),
    (e) => (e.type === 'm.reaction' ? `(reaction ${(e.content['m.relates_to'] as { key?: string } | undefined)?.key ?? ''})` : String(e.content['body'])),
  );
}

let webLink: (base: string, orgId: string) => Promise<string> = async () => '';

async function main(): Promise<void> {
  say('Visite demo: a post-operative check-in on a real, local Matrix homeserver.');
  rmSync(root, { recursive: true, force: true });

  step('Starting Synapse (pinned, from PyPI; the first run installs it into a cached virtualenv)');
  const synapse = await startSynapse({ dir: join(root, 'synapse'), log: (line) => say(`  ${line}`) });
  const stack: Array<() => Promise<void>> = [() => synapse.stop()];
  const shutdown = async () => {
    for (const stop of stack.splice(0).reverse()) await stop().catch(() => {});
  };

  try {
    step('Creating the bot account and a demo patient');
    const bot = await registerUser(synapse, 'visite');
    const patientUser = await registerUser(synapse, 'patient.demo', 'demo-patient-password');
    say(`  bot:     ${bot.userId}`);
    say(`  patient: ${patientUser.userId} (password: demo-patient-password)`);

    step('Starting Visite on embedded storage (PGlite, no database server)');
    const config = loadConfig({
      VISITE_HOMESERVER_URL: synapse.url,
      VISITE_BOT_USER_ID: bot.userId,
      VISITE_BOT_PASSWORD: bot.password,
      VISITE_ALLOWED_INVITERS: `@*:${synapse.serverName}`,
      VISITE_DATA_DIR: join(root, 'data'),
      VISITE_HTTP_PORT: process.env['VISITE_HTTP_PORT'] ?? '0',
      VISITE_LOG_LEVEL: 'warn',
      // The script runs the scheduler's pass itself, at the first check-in's due time.
      VISITE_SCHEDULER_CRON: 'off',
      // TI-M rooms are end-to-end encrypted: so are the demo patient's.
      VISITE_CRYPTO_PASSPHRASE: 'visite demo passphrase',
    });
    const visite = await startVisite(config, createLogger('warn'));
    /** A single-use sign-in link to the web app for Dr. Berg (no identity provider in the demo). */
    webLink = async (base: string, orgId: string) => {
      const { token } = await createLoginLink(visite.database.db, {
        orgId,
        name: 'Dr. Berg',
        roles: ['clinician', 'org_admin', 'flow_author', 'flow_reviewer'],
        lifetimeMs: 60 * 60_000,
      });
      return `${base}/app/auth/link?token=${token}`;
    };
    stack.push(() => visite.stop());
    await visite.botStarted;
    const ready = await fetch(`${visite.httpUrl}/readyz`).then((r) => r.json());
    say(`  ${visite.httpUrl}/readyz → ${JSON.stringify(ready)}`);

    step('A clinician opens the care-team room and invites the bot');
    const doctorUser = await registerUser(synapse, 'dr.berg', 'demo-doctor-password');
    const doctor = new TestClient(synapse.url, doctorUser.userId, doctorUser.accessToken);
    const org = await createOrganisation(visite.database.db, { name: 'Demo-Klinik' });
    const [clinician] = await visite.database.db
      .insert(clinicians)
      .values({ orgId: org.id, matrixUserId: doctorUser.userId, displayName: 'Dr. Berg', roles: ['clinician'] })
      .returning();
    const { room_id: teamRoom } = await doctor.request<{ room_id: string }>('POST', '/createRoom', {
      preset: 'private_chat',
      name: 'Station 3 – Chirurgie',
      invite: [bot.userId],
    });
    await doctor.waitForJoin(teamRoom, bot.userId);
    const [team] = await visite.database.db.insert(careTeams).values({ orgId: org.id, name: 'Station 3', roomId: teamRoom, language: 'de' }).returning();
    await visite.database.db.insert(careTeamMembers).values({ careTeamId: team!.id, clinicianId: clinician!.id });
    say(`  ${doctorUser.userId} (password: demo-doctor-password) in care-team room ${teamRoom}`);

    step('The hospital system enrolls the patient over the REST API');
    const key = (await createApiKey(visite.database.db, org.id, 'KIS', ['integration'])).secret;
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${visite.httpUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return (await res.json()) as any;
    };
    // The patient's phone: matrix-js-sdk with its own Rust crypto, online before the bot writes.
    const patient = await E2eeClient.start({
      baseUrl: synapse.url,
      userId: patientUser.userId,
      accessToken: patientUser.accessToken,
      deviceId: patientUser.deviceId,
    });
    stack.push(() => patient.stop());
    const patientRecord = await api('POST', '/v1/patients', { matrixUserId: patientUser.userId, language: 'de', displayName: 'Erika Muster' });
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const enrollment = await api('POST', '/v1/enrollments', { patientId: patientRecord.id, flowId: 'post-op', anchorDate: yesterday, careTeamId: team!.id });
    say(`  POST /v1/patients → ${patientRecord.id}`);
    say(`  POST /v1/enrollments (surgery ${yesterday}) → check-ins at ${enrollment.schedule.map((x: { dueAt: string }) => x.dueAt.slice(0, 16)).join(', ')}`);

    const roomId = await patient.waitForInvite();
    await patient.join(roomId);
    say(`  the bot opened an end-to-end encrypted direct room (${roomId}); the patient joined`);
    const chat = new E2eeChat(patient, roomId, bot.userId);
    await chat.expectBot(/einverstanden/);
    await chat.say('ja', /melde mich/);

    step('09:00: the scheduler starts the first check-in; the patient answers (one re-ask, red values)');
    await visite.scheduler.runOnce(new Date(new Date(enrollment.schedule[0].dueAt).getTime() + 30_000));
    await chat.expectBot(/Wie stark sind Ihre Schmerzen/);
    const script: Array<[string, RegExp]> = [
      ['12', /außerhalb/],
      ['8', /Körpertemperatur/],
      ['39,8 Grad', /Wunde/],
      ['1', /übel/],
      ['1', /bewegen/],
      ['2', /Stuhlgang/],
      ['ja', /mitteilen/],
      ['nein', /Ihre Angaben heute/],
    ];
    for (const [answer, next] of script) await chat.say(answer, next);

    step("Conversation as the patient's client received it");
    printLines(
      patient.events(roomId).filter((e) => e.type === 'm.room.message'),
      (e) => (e.sender === bot.userId ? (e.content['msgtype'] === 'm.notice' ? 'Visite·' : 'Visite ') : 'Patient'),
      (e) => `${String(e.content['body'])}${e.encrypted ? '' : '  (unencrypted!)'}`,
    );
    say(`  (every message above travelled end-to-end encrypted; Visite decrypted the patient's and encrypted its own)`);

    step('The care team is alerted; Dr. Berg acknowledges the urgent alert with ✅');
    const team$ = new PatientChat(doctor, teamRoom, bot.userId);
    const urgent = await team$.expectBot(/DRINGEND/);
    await doctor.react(teamRoom, urgent.event_id, '✅');
    await team$.expectBot(/Übernommen von Dr\. Berg/);
    printRoom(doctor, teamRoom, bot.userId, 'Dr. Berg');

    step('What Visite stored, and what the hospital system reads over FHIR');
    const records = await recordsOf(visite.database.db, patientUser.userId);
    say(`  check-ins: ${records.checkins.map((c) => c.status).join(', ')}`);
    for (const answer of records.answers) say(`  answer   ${answer.questionId.padEnd(12)} ${JSON.stringify(answer.value)}`);
    for (const e of records.escalations)
      say(`  alert    ${e.severity.padEnd(7)} ${e.kind}${e.ruleId ? ` ${e.ruleId}` : ''}${e.acknowledgedBy ? ` — acknowledged by ${e.acknowledgedBy}` : ''}`);
    const observations = await api('GET', `/fhir/R4/Observation?patient=${patientRecord.id}`);
    say(
      `  GET /fhir/R4/Observation?patient=… → Bundle with ${observations.total} Observations, e.g. ${observations.entry
        .map((x: { resource: { code: { text?: string }; valueQuantity?: { value: number; unit: string } } }) => x.resource)
        .filter((o: { valueQuantity?: unknown }) => o.valueQuantity)
        .map((o: { code: { text?: string }; valueQuantity?: { value: number; unit: string } }) => `${o.valueQuantity!.value} ${o.valueQuantity!.unit}`)
        .join(', ')}`,
    );
    if (!records.escalations.some((e) => e.severity === 'urgent' && e.acknowledgedAt)) throw new Error('the urgent alert was not acknowledged');

    if (process.env['CI'] === 'true') {
      const link = await webLink(visite.httpUrl, org.id);
      step('CI=true: scripted part done, shutting down');
      await shutdown();
      step(`The care team's web app (worklist, chart with the values above, enrollment): ${link}`);
      say('  (single use; with CI=true the server has stopped — run npm run demo without CI to use it)');
      return;
    }
    step(
      `Serving. Homeserver ${synapse.url}, Visite ${visite.httpUrl}. Log in as ${patientUser.userId} with any Matrix client and write to the bot. Ctrl-C stops.`,
    );
    step(`Sign in to the care team's web app as Dr. Berg (single use, 60 minutes): ${await webLink(visite.httpUrl, org.id)}`);
    await new Promise<void>((resolveStop) => {
      process.once('SIGINT', () => resolveStop());
      process.once('SIGTERM', () => resolveStop());
    });
    await shutdown();
  } catch (error) {
    await shutdown();
    throw error;
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
