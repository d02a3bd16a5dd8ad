/**
 * `npm run demo`: a local Synapse, Visite on embedded storage (PGlite), and a
 * scripted patient who talks to the bot through an independent Matrix client.
 * Prints what happened, then serves until Ctrl-C; with CI=true it exits 0 after
 * the scripted part.
 */
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TestClient, type MatrixEvent } from '../test/harness/client.ts';
import { loadConfig } from '../server/config.ts';
import { createLogger } from '../server/logger.ts';
import { startVisite } from '../server/visite.ts';
import { registerUser, startSynapse } from './synapse.ts';

process.noDeprecation = true;

const root = resolve(import.meta.dirname, '..', 'var', 'demo');
const say = (line: string) => process.stdout.write(`${line}\n`);
const step = (line: string) => say(`\n▸ ${line}`);

async function main(): Promise<void> {
  say('Visite demo: a check-in bot on a real, local Matrix homeserver.');
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

    step('The patient opens a direct chat with the bot and says hello');
    const patient = new TestClient(synapse.url, patientUser.userId, patientUser.accessToken);
    const roomId = await patient.createDirectRoom(bot.userId);
    await patient.waitForJoin(roomId, bot.userId);
    say(`  room ${roomId}: the bot joined`);
    await patient.sendText(roomId, 'Hallo');
    const reply = await patient.waitForEvent(roomId, (e: MatrixEvent) => e.sender === bot.userId && e.type === 'm.room.message');

    step('Conversation as the patient\'s client received it');
    for (const event of patient.timeline.get(roomId) ?? []) {
      if (event.type !== 'm.room.message') continue;
      const who = event.sender === bot.userId ? 'Visite ' : 'Patient';
      say(`  ${who} │ ${String(event.content['body'])}`);
    }
    if (reply.content['msgtype'] !== 'm.text') throw new Error('the bot did not answer with m.text');

    if (process.env['CI'] === 'true') {
      step('CI=true: scripted part done, shutting down');
      await shutdown();
      return;
    }
    step(`Serving. Homeserver ${synapse.url}, Visite ${visite.httpUrl}. Log in as the patient with any Matrix client. Ctrl-C stops.`);
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
