/**
 * Reply latency: patient sends → first bot reply arrives at the patient's
 * client, on one local Synapse, for Visite (Postgres, full conversation path:
 * sync → event claim → policy + engine → one transaction → outbox → send)
 * and for a bare matrix-bot-sdk echo bot as the baseline. Samples alternate
 * between the two so machine noise hits both alike.
 *
 *   scripts/node24.sh node bench/reply-latency.ts [samples=60]
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { AutojoinRoomsMixin, MatrixClient, MemoryStorageProvider, LogService, LogLevel } from 'matrix-bot-sdk';
import { loadConfig } from '../server/config.ts';
import { createLogger } from '../server/logger.ts';
import { startVisite } from '../server/visite.ts';
import { createOrganisation } from '../db/organisations.ts';
import { registerUser, startSynapse } from '../scripts/synapse.ts';
import { PatientChat } from '../test/harness/chat.ts';
import { TestClient, type MatrixEvent } from '../test/harness/client.ts';
import { createFreshDatabase } from '../test/harness/postgres.ts';

process.noDeprecation = true;
const SAMPLES = Number(process.argv[2] ?? 60);
const dir = join(import.meta.dirname, '..', 'var', 'bench-synapse');
rmSync(dir, { recursive: true, force: true });

const synapse = await startSynapse({ dir });
const fresh = await createFreshDatabase('visite_bench');
const cleanups: Array<() => Promise<unknown>> = [() => synapse.stop(), () => fresh.drop()];
try {
  // Baseline: a bare echo bot.
  LogService.setLevel(LogLevel.ERROR);
  const echoUser = await registerUser(synapse, 'echo');
  const echo = new MatrixClient(synapse.url, echoUser.accessToken, new MemoryStorageProvider());
  AutojoinRoomsMixin.setupOnClient(echo);
  echo.on('room.message', (roomId: string, event: { sender: string; content?: { body?: string } }) => {
    if (event.sender === echoUser.userId) return;
    void echo.sendMessage(roomId, { msgtype: 'm.notice', body: String(event.content?.body ?? '') });
  });
  await echo.start();
  cleanups.unshift(async () => echo.stop());

  // Visite on Postgres.
  const botUser = await registerUser(synapse, 'visite');
  const config = loadConfig({
    VISITE_HOMESERVER_URL: synapse.url,
    VISITE_BOT_USER_ID: botUser.userId,
    VISITE_BOT_PASSWORD: botUser.password,
    DATABASE_URL: fresh.url,
    VISITE_HTTP_PORT: '0',
    VISITE_LOG_LEVEL: 'error',
  });
  const visite = await startVisite(config, createLogger('error'));
  cleanups.unshift(() => visite.stop());
  await visite.botStarted;

  const p1 = await registerUser(synapse, 'patient-echo');
  const echoClient = new TestClient(synapse.url, p1.userId, p1.accessToken);
  const echoRoom = await echoClient.createDirectRoom(echoUser.userId);
  await echoClient.waitForJoin(echoRoom, echoUser.userId);

  const p2 = await registerUser(synapse, 'patient-visite');
  const org = await createOrganisation(visite.database.db, { name: 'Bench' });
  const enrolled = await visite.enroll({ orgId: org.id, matrixUserId: p2.userId, language: 'de' });
  const visiteClient = new TestClient(synapse.url, p2.userId, p2.accessToken);
  const started = await visite.startCheckin(enrolled, 'post-op');
  await visiteClient.acceptInviteFrom(botUser.userId);
  const chat = new PatientChat(visiteClient, started.roomId, botUser.userId);
  await chat.say('ja', /Wie stark sind Ihre Schmerzen/);

  /** Time from send until the first message of `from` after our event shows up in the patient's sync. */
  async function sample(client: TestClient, roomId: string, from: string, text: string): Promise<number> {
    await client.sync(0);
    const before = (client.timeline.get(roomId) ?? []).length;
    const t0 = performance.now();
    await client.sendText(roomId, text);
    await client.waitForEvent(roomId, (e: MatrixEvent) => e.sender === from && (client.timeline.get(roomId) ?? []).indexOf(e) >= before, 30_000);
    return performance.now() - t0;
  }

  const answers = ['3', '37,2', '1', '1', '1', 'ja', 'nein'];
  const echoTimes: number[] = [];
  const visiteTimes: number[] = [];
  let position = 0;
  for (let i = 0; i < SAMPLES; i++) {
    echoTimes.push(await sample(echoClient, echoRoom, echoUser.userId, `ping ${i}`));
    visiteTimes.push(await sample(visiteClient, started.roomId, botUser.userId, answers[position]!));
    position += 1;
    if (position === answers.length) {
      // Check-in complete: start the next one (not measured) and wait for its first question.
      await new Promise((r) => setTimeout(r, 300));
      await visite.startCheckin(enrolled, 'post-op');
      await chat.expectBot(/Wie stark sind Ihre Schmerzen/);
      position = 0;
    }
  }

  const pct = (xs: number[], p: number) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  };
  const line = (name: string, xs: number[]) =>
    `  ${name.padEnd(44)} p50 ${pct(xs, 50).toFixed(1).padStart(6)} ms   p95 ${pct(xs, 95).toFixed(1).padStart(6)} ms`;
  console.log(`reply-latency: ${SAMPLES} samples each, alternating, Synapse ${synapse.url}`);
  console.log(line('bare matrix-bot-sdk echo bot', echoTimes));
  console.log(line('Visite (Postgres, full conversation path)', visiteTimes));
  console.log(
    `  ratio Visite / echo: p50 ${(pct(visiteTimes, 50) / pct(echoTimes, 50)).toFixed(2)}, p95 ${(pct(visiteTimes, 95) / pct(echoTimes, 95)).toFixed(2)} (target p95 ≤ 1.2)`,
  );
} finally {
  for (const cleanup of cleanups) await cleanup().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
