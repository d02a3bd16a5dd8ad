/**
 * `npm run demo`: a local Synapse, Visite on embedded storage (PGlite), and a
 * scripted patient who talks to the bot through an independent Matrix client.
 * Prints what happened, then serves until Ctrl-C; with CI=true it exits 0 after
 * the scripted part.
 */
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PatientChat } from '../test/harness/chat.ts';
import { TestClient } from '../test/harness/client.ts';
import { recordsOf } from '../test/harness/records.ts';
import { loadConfig } from '../server/config.ts';
import { createLogger } from '../server/logger.ts';
import { startVisite } from '../server/visite.ts';
import { createOrganisation } from '../db/organisations.ts';
import { registerUser, startSynapse } from './synapse.ts';

process.noDeprecation = true;

const root = resolve(import.meta.dirname, '..', 'var', 'demo');
const say = (line: string) => process.stdout.write(`${line}\n`);
const step = (line: string) => say(`\n▸ ${line}`);

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
    });
    const visite = await startVisite(config, createLogger('warn'));
    stack.push(() => visite.stop());
    await visite.botStarted;
    const ready = await fetch(`${visite.httpUrl}/readyz`).then((r) => r.json());
    say(`  ${visite.httpUrl}/readyz → ${JSON.stringify(ready)}`);

    step('Enrolling the demo patient (German) and starting the post-operative check-in');
    const org = await createOrganisation(visite.database.db, { name: 'Demo-Klinik' });
    const enrolled = await visite.enroll({ orgId: org.id, matrixUserId: patientUser.userId, language: 'de', displayName: 'Demo Patient' });
    const started = await visite.startCheckin(enrolled, 'post-op');
    const patient = new TestClient(synapse.url, patientUser.userId, patientUser.accessToken);
    const roomId = await patient.acceptInviteFrom(bot.userId);
    say(`  the bot opened direct room ${roomId}; the patient joined`);
    const chat = new PatientChat(patient, roomId, bot.userId);

    step('The patient answers (one answer out of range, one red value)');
    await chat.expectBot(/einverstanden/);
    const script: Array<[string, RegExp]> = [
      ['ja', /Wie stark sind Ihre Schmerzen/],
      ['12', /außerhalb/],
      ['8', /Körpertemperatur/],
      ['38,9 Grad', /Wunde/],
      ['1', /übel/],
      ['1', /bewegen/],
      ['2', /Stuhlgang/],
      ['ja', /mitteilen/],
      ['nein', /Vielen Dank/],
    ];
    for (const [answer, next] of script) await chat.say(answer, next);

    step("Conversation as the patient's client received it");
    for (const event of patient.timeline.get(roomId) ?? []) {
      if (event.type !== 'm.room.message') continue;
      const who = event.sender === bot.userId ? (event.content['msgtype'] === 'm.notice' ? 'Visite·' : 'Visite ') : 'Patient';
      const lines = String(event.content['body']).split('\n');
      say(`  ${who} │ ${lines[0]}`);
      for (const line of lines.slice(1)) say(`          │ ${line}`);
    }

    step('What Visite stored (Postgres/PGlite, no message text in logs)');
    const records = await recordsOf(visite.database.db, patientUser.userId);
    say(`  check-in ${started.checkinId}: ${records.checkins.map((c) => c.status).join(', ')}`);
    for (const answer of records.answers) say(`  answer   ${answer.questionId.padEnd(12)} ${JSON.stringify(answer.value)}`);
    for (const e of records.escalations) say(`  escalation ${e.severity.padEnd(7)} ${e.kind}${e.ruleId ? ` ${e.ruleId}` : ''}`);
    if (!records.escalations.some((e) => e.severity === 'urgent' || e.severity === 'warning')) throw new Error('the red value raised no escalation');

    if (process.env['CI'] === 'true') {
      step('CI=true: scripted part done, shutting down');
      await shutdown();
      return;
    }
    step(`Serving. Homeserver ${synapse.url}, Visite ${visite.httpUrl}. Log in as ${patientUser.userId} with any Matrix client and write to the bot. Ctrl-C stops.`);
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
