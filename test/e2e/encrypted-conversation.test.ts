import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type Database } from '../../db/database.ts';
import { createOrganisation } from '../../db/organisations.ts';
import { enrollPatient } from '../../db/patients.ts';
import { registerUser, type RegisteredUser } from '../../scripts/synapse.ts';
import { E2eeChat } from '../harness/e2ee-chat.ts';
import { E2eeClient } from '../harness/e2ee-client.ts';
import { recordsOf } from '../harness/records.ts';
import { startTestVisite, type RunningVisite } from '../harness/visite.ts';

/**
 * Visite's own bot in TI-M's encrypted rooms: the patient is matrix-js-sdk
 * with its Rust crypto (not our adapter), everything on the real Synapse and
 * Postgres. The bot's crypto store lives in a data folder that survives the
 * restart in the middle.
 */
let database: Database;
let running: RunningVisite;
let bot: RegisteredUser;
const dataDir = mkdtempSync(join(tmpdir(), 'visite-e2ee-'));
const env = { VISITE_CRYPTO_PASSPHRASE: 'correct horse battery staple', VISITE_DATA_DIR: dataDir };

beforeAll(async () => {
  database = await openDatabase({ url: inject('databaseUrl') });
  bot = await registerUser(inject('homeserver'), `visite-${randomBytes(4).toString('hex')}`);
  running = await startTestVisite(env, bot);
  await running.visite.botStarted;
});
afterAll(async () => {
  await running?.visite.stop();
  await database?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('check-ins in end-to-end encrypted rooms', () => {
  it('runs a check-in in an encrypted room the bot created, across a restart, with an encrypted photo', async () => {
    const homeserver = inject('homeserver');
    const org = await createOrganisation(database.db, { name: 'Klinikum E2EE' });
    const user = await registerUser(homeserver, `patient-${randomBytes(4).toString('hex')}`);
    const patient = await E2eeClient.start({ baseUrl: homeserver.url, userId: user.userId, accessToken: user.accessToken, deviceId: user.deviceId });
    try {
      const enrolled = await enrollPatient(database.db, { orgId: org.id, matrixUserId: user.userId, language: 'de' });
      const { roomId } = await running.visite.startCheckin(enrolled, 'post-op');
      await patient.join(await patient.waitForInvite(roomId));
      const encryption = await patient.waitForEvent(roomId, (e) => e.type === 'm.room.encryption');
      expect(encryption.content['algorithm']).toBe('m.megolm.v1.aes-sha2');
      expect(encryption.sender).toBe(bot.userId);

      const chat = new E2eeChat(patient, roomId, bot.userId);
      const expectBot = (match: RegExp) => chat.expectBot(match);
      const consent = await expectBot(/einverstanden/);
      expect(consent.encrypted).toBe(true);

      await patient.sendText(roomId, 'ja');
      await expectBot(/Wie stark sind Ihre Schmerzen/);
      await patient.sendText(roomId, '3');
      await expectBot(/Körpertemperatur/);

      // Restart: same device, same keys; a message sent while the bot is down is answered afterwards.
      await running.visite.stop();
      await patient.sendText(roomId, '37,2');
      running = await startTestVisite(env, bot);
      await running.visite.botStarted;
      await expectBot(/notiert: 37,2/);
      await expectBot(/Wie sieht Ihre Wunde heute aus/);

      await patient.sendText(roomId, '2');
      await expectBot(/Foto der Wunde/);
      const photo = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, ...randomBytes(64), 0xff, 0xd9]);
      await patient.sendEncryptedImage(roomId, photo, 'image/jpeg', 'wunde.jpg');
      await expectBot(/Foto ist angekommen/);

      expect(chat.botMessages().every((e) => e.encrypted && !e.decryptionFailure)).toBe(true);
      const records = await recordsOf(database.db, user.userId);
      expect(Object.fromEntries(records.answers.map((a) => [a.questionId, a.value]))).toMatchObject({
        pain: { type: 'number', value: 3 },
        temperature: { type: 'number', value: 37.2, unit: 'Cel' },
        wound: { type: 'choices', codes: ['redness'] },
        wound_photo: { type: 'attachment', contentType: 'image/jpeg' },
      });
      expect(records.answers.every((a) => a.revision === 1)).toBe(true);
      // Visite keeps the decrypted photo, not the ciphertext.
      expect(Buffer.from(records.attachments[0]!.data).equals(Buffer.from(photo))).toBe(true);
    } finally {
      await patient.stop();
    }
  });

  it('refuses to start with a wrong passphrase instead of creating a new identity', async () => {
    await running.visite.stop();
    const wrong = await startTestVisite({ ...env, VISITE_CRYPTO_PASSPHRASE: 'not the right passphrase' }, bot);
    try {
      await expect(wrong.visite.botStarted).rejects.toThrow(/passphrase/i);
      expect(wrong.logs.join('\n')).toMatch(/the (crypto store|stored session) cannot be opened/);
    } finally {
      await wrong.visite.stop();
    }
    running = await startTestVisite(env, bot);
    await running.visite.botStarted;
  });

  it('does not take a plaintext message in an encrypted room as an answer, and tells the patient so, encrypted', async () => {
    const homeserver = inject('homeserver');
    const org = await createOrganisation(database.db, { name: 'Klinikum Klartext' });
    const user = await registerUser(homeserver, `patient-${randomBytes(4).toString('hex')}`);
    const patient = await E2eeClient.start({ baseUrl: homeserver.url, userId: user.userId, accessToken: user.accessToken, deviceId: user.deviceId });
    try {
      const enrolled = await enrollPatient(database.db, { orgId: org.id, matrixUserId: user.userId, language: 'de' });
      const { roomId } = await running.visite.startCheckin(enrolled, 'post-op');
      await patient.join(await patient.waitForInvite(roomId));
      const chat = new E2eeChat(patient, roomId, bot.userId);
      await chat.expectBot(/einverstanden/);
      await patient.sendText(roomId, 'ja');
      await chat.expectBot(/Wie stark sind Ihre Schmerzen/);

      // Someone holding only the patient's access token (not their keys) answers in the clear.
      const res = await fetch(
        `${homeserver.url}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/plain-${randomBytes(4).toString('hex')}`,
        {
          method: 'PUT',
          headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ msgtype: 'm.text', body: '0' }),
        },
      );
      expect(res.status).toBe(200);
      const refused = await chat.expectBot(/unverschlüsselt/);
      expect(refused.encrypted).toBe(true);
      expect((await recordsOf(database.db, user.userId)).answers).toEqual([]);

      // The patient's own (encrypted) answer is taken as usual.
      await patient.sendText(roomId, '3');
      await chat.expectBot(/Körpertemperatur/);
      expect((await recordsOf(database.db, user.userId)).answers.map((a) => [a.questionId, a.value])).toEqual([['pain', { type: 'number', value: 3 }]]);
      expect(running.logs.some((l) => l.includes('refused an unencrypted event'))).toBe(true);
    } finally {
      await patient.stop();
    }
  });
});
