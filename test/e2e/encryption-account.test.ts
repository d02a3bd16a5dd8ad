/**
 * Cross-signing and server-side key backup of a matrix-bot-sdk bot on our wasm
 * binding, checked from the outside: matrix-js-sdk's view of the bot's device,
 * and the backup as stored on Synapse.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MemoryStorageProvider } from 'matrix-bot-sdk';
import { registerUser, type RegisteredUser } from '../../scripts/synapse.ts';
import { enableKeyBackup, ensureCrossSigning, type KeyBackup } from '../../bots/crypto-account.ts';
import { createLogger } from '../../server/logger.ts';
import { E2eeClient } from '../harness/e2ee-client.ts';
import { startEchoBot, type EchoBot } from '../harness/e2ee-bot.ts';

const require = createRequire(import.meta.url);
const binding = require('@matrix-org/matrix-sdk-crypto-nodejs') as typeof import('@matrix-org/matrix-sdk-crypto-nodejs');
const logger = createLogger('error');

describe('cross-signing and key backup of the bot', () => {
  const homeserver = inject('homeserver');
  const passphrase = randomBytes(16).toString('hex');
  let dir: string;
  let botUser: RegisteredUser;
  let patient: E2eeClient;
  let storage: MemoryStorageProvider;
  let bot: EchoBot | undefined;
  let backup: KeyBackup | undefined;
  let roomId: string;
  let helloId: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'visite-e2ee-account-'));
    botUser = await registerUser(homeserver, `e2ee-xs-bot-${randomBytes(4).toString('hex')}`);
    const patientUser = await registerUser(homeserver, `e2ee-xs-patient-${randomBytes(4).toString('hex')}`);
    storage = new MemoryStorageProvider();
    bot = await startEchoBot(botUser, storage, join(dir, 'store'), passphrase);
    patient = await E2eeClient.start({
      baseUrl: homeserver.url,
      userId: patientUser.userId,
      accessToken: patientUser.accessToken,
      deviceId: patientUser.deviceId,
    });
    roomId = await patient.createEncryptedDirectRoom(botUser.userId);
    await patient.waitForMembership(roomId, botUser.userId, 'join');
  });

  afterAll(async () => {
    backup?.stop();
    await bot?.stop().catch(() => {});
    await patient?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('cross-signs the bot device, so clients see it as verified by its owner', async () => {
    expect(await ensureCrossSigning(bot!.client, { userId: botUser.userId, password: botUser.password, logger })).toBe('created');
    expect(await ensureCrossSigning(bot!.client, { userId: botUser.userId, password: botUser.password, logger })).toBe('existing');

    const crypto = patient.matrix.getCrypto()!;
    const deadline = Date.now() + 20_000;
    let signedByOwner = false;
    while (!signedByOwner && Date.now() < deadline) {
      await crypto.getUserDeviceInfo([botUser.userId], true);
      signedByOwner = (await crypto.getDeviceVerificationStatus(botUser.userId, botUser.deviceId))?.signedByOwner ?? false;
      if (!signedByOwner) await new Promise((r) => setTimeout(r, 250));
    }
    expect(signedByOwner).toBe(true);
    expect(await crypto.userHasCrossSigningKeys(botUser.userId, true)).toBe(true);
  });

  it('backs up the room keys it receives to the homeserver, readable with the exported backup key', async () => {
    backup = await enableKeyBackup(bot!.client, { logger, intervalMs: 60_000 });
    helloId = await patient.sendText(roomId, 'Hallo');
    await patient.waitForEvent(roomId, (e) => e.sender === botUser.userId && e.content['body'] === 'echo: Hallo');
    const counts = await backup.backupNow();
    expect(counts.total).toBeGreaterThanOrEqual(2); // the patient's session and the bot's own
    expect(counts.backedUp).toBe(counts.total);

    const stored = (await bot!.client.doRequest('GET', '/_matrix/client/v3/room_keys/keys', { version: backup.version })) as {
      rooms: Record<string, { sessions: Record<string, { session_data: { ephemeral: string; mac: string; ciphertext: string } }> }>;
    };
    const sessions = Object.values(stored.rooms[roomId]?.sessions ?? {});
    expect(sessions.length).toBeGreaterThanOrEqual(2);
    const key = binding.BackupDecryptionKey.fromBase64(await backup.exportDecryptionKey());
    const first = sessions[0]!.session_data;
    const session = JSON.parse(key.decryptV1(first.ephemeral, first.mac, first.ciphertext)) as { algorithm: string; session_key: string };
    expect(session.algorithm).toBe('m.megolm.v1.aes-sha2');
    expect(session.session_key.length).toBeGreaterThan(100);
  });

  it('keeps cross-signing keys and the backup across a restart', async () => {
    const version = backup!.version;
    backup!.stop();
    await bot!.stop();
    bot = await startEchoBot(botUser, storage, join(dir, 'store'), passphrase);
    expect(await ensureCrossSigning(bot.client, { userId: botUser.userId, password: botUser.password, logger })).toBe('existing');
    backup = await enableKeyBackup(bot.client, { logger, intervalMs: 60_000 });
    expect(backup.version).toBe(version);
    await patient.sendText(roomId, 'Noch da?');
    await patient.waitForEvent(roomId, (e) => e.sender === botUser.userId && e.content['body'] === 'echo: Noch da?');
    const counts = await backup.backupNow();
    expect(counts.backedUp).toBe(counts.total);
  });

  it('lets a new device of the bot (an empty store) read old messages with the exported backup key', async () => {
    const key = await backup!.exportDecryptionKey();
    const version = backup!.version;
    backup!.stop();
    await bot!.stop();
    const res = await fetch(`${homeserver.url}/_matrix/client/v3/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user: botUser.userId }, password: botUser.password }),
    });
    const login = (await res.json()) as { access_token: string; device_id: string };
    const newDevice = { ...botUser, accessToken: login.access_token, deviceId: login.device_id };
    bot = await startEchoBot(newDevice, new MemoryStorageProvider(), join(dir, 'store-new-device'), passphrase);
    await expect(bot.client.getEvent(roomId, helloId)).rejects.toThrow();

    backup = await enableKeyBackup(bot.client, { logger, intervalMs: 60_000, decryptionKeyBase64: key });
    expect(backup.version).toBe(version);
    expect(backup.joinedExisting).toBe(true);
    const restored = await backup.restore();
    expect(restored.imported).toBeGreaterThanOrEqual(1);
    const hello = await bot.client.getEvent(roomId, helloId);
    expect(hello.type).toBe('m.room.message');
    expect(hello.content.body).toBe('Hallo');
  });
});
