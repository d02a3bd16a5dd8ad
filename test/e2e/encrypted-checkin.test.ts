import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createOrganisation } from '../../db/organisations.ts';
import { PatientChat } from '../harness/chat.ts';
import { TestClient } from '../harness/client.ts';
import { E2eeTestClient } from '../harness/e2ee-test-client.ts';
import { newUser, startTestVisite, stopE2eeClients, type RunningVisite } from '../harness/visite.ts';

/**
 * Visite in TI-M's encrypted rooms: the patient is matrix-js-sdk with its own
 * Rust crypto; the room is created by the bot with TI-M defaults.
 */
describe('an encrypted check-in with Visite', () => {
  let running: RunningVisite;
  let orgId: string;
  const bot = () => running.botUser.userId;

  beforeAll(async () => {
    running = await startTestVisite({ VISITE_UNDECRYPTABLE_WAIT_SECONDS: '2' });
    await running.visite.botStarted;
    orgId = (await createOrganisation(running.visite.database.db, { name: 'Klinik Encrypted' })).id;
  });
  afterAll(async () => {
    await running?.visite.stop();
    await stopE2eeClients();
  });

  async function enrolledPatient() {
    const { user, client } = await newUser('patient', { e2ee: true });
    const patient = await running.visite.enroll({ orgId, matrixUserId: user.userId, language: 'de', displayName: 'Erika Muster' });
    const started = await running.visite.startCheckin(patient, 'post-op');
    const roomId = await client.acceptInviteFrom(bot());
    expect(roomId).toBe(started.roomId);
    return { user, client: client as E2eeTestClient, roomId, chat: new PatientChat(client, roomId, bot()) };
  }

  it('creates the patient room the TI-M way, encrypted, and nothing readable reaches the server', async () => {
    const p = await enrolledPatient();
    await p.chat.expectBot(/Ich bin Visite, ein digitaler Helfer/);
    await p.chat.say('ja', /Dann fangen wir an/);

    const state = await p.client.request<Array<{ type: string; state_key: string; content: Record<string, unknown> }>>(
      'GET',
      `/rooms/${encodeURIComponent(p.roomId)}/state`,
    );
    const get = (type: string) => state.find((e) => e.type === type && e.state_key === '')?.content;
    expect(get('m.room.encryption')).toEqual({ algorithm: 'm.megolm.v1.aes-sha2' });
    expect(get('m.room.join_rules')).toEqual({ join_rule: 'invite' });
    expect(get('m.room.history_visibility')).toEqual({ history_visibility: 'invited' });
    expect(get('m.room.create')?.['type']).toBe('de.gematik.tim.roomtype.default.v1');
    expect(get('m.room.create')?.['room_version']).toBe('10');
    expect(get('de.gematik.tim.room.name')).toEqual({ name: get('m.room.name')?.['name'] });
    expect(get('de.gematik.tim.room.topic')).toEqual({ topic: get('m.room.topic')?.['topic'] });
    expect(String(get('m.room.topic')?.['topic'])).toMatch(/112/);
    expect(await p.client.e2ee.isRoomEncrypted(p.roomId)).toBe(true);

    const raw = await p.client.request<{ chunk: Array<{ type: string; sender: string; content: Record<string, unknown> }> }>(
      'GET',
      `/rooms/${encodeURIComponent(p.roomId)}/messages`,
      undefined,
      { dir: 'b', limit: '50' },
    );
    const messages = raw.chunk.filter((e) => e.type === 'm.room.message' || e.type === 'm.room.encrypted');
    expect(messages.length).toBeGreaterThanOrEqual(4);
    expect(messages.every((e) => e.type === 'm.room.encrypted')).toBe(true);
    expect(messages.every((e) => e.content['body'] === undefined && typeof e.content['ciphertext'] === 'string')).toBe(true);
    expect(JSON.stringify(messages.map((e) => e.content))).not.toMatch(/einverstanden|digitaler Helfer|fangen wir an/);
  });

  it('cross-signs its device and backs up its room keys on the homeserver', async () => {
    const p = await enrolledPatient();
    await p.chat.expectBot(/einverstanden/);
    const crypto = p.client.e2ee.matrix.getCrypto()!;
    const devices = await crypto.getUserDeviceInfo([bot()], true);
    const ids = [...(devices.get(bot())?.keys() ?? [])];
    expect(ids.length).toBeGreaterThan(0);
    const statuses = await Promise.all(ids.map((id) => crypto.getDeviceVerificationStatus(bot(), id)));
    expect(statuses.some((status) => status?.signedByOwner)).toBe(true);

    // The backup belongs to the bot's account: read it with a token of that account.
    const asBot = new TestClient(inject('homeserver').url, bot(), running.botUser.accessToken);
    const { version } = await asBot.request<{ version: string }>('GET', '/room_keys/version');
    const deadline = Date.now() + 25_000;
    let sessions = 0;
    while (sessions === 0 && Date.now() < deadline) {
      const keys = await asBot.request<{ rooms: Record<string, { sessions: Record<string, unknown> }> }>('GET', '/room_keys/keys', undefined, { version });
      sessions = Object.keys(keys.rooms[p.roomId]?.sessions ?? {}).length;
      if (sessions === 0) await new Promise((r) => setTimeout(r, 500));
    }
    expect(sessions).toBeGreaterThan(0);
  });

  it('still decrypts and replies after a restart between two answers, and processes a message sent while it was down', async () => {
    const p = await enrolledPatient();
    await p.chat.expectBot(/einverstanden/);
    await p.chat.say('ja', /Wie stark sind Ihre Schmerzen/);
    await p.chat.say('3', /Körpertemperatur/);

    await running.visite.stop();
    running = await startTestVisite({ VISITE_UNDECRYPTABLE_WAIT_SECONDS: '2' }, running.botUser);
    await running.visite.botStarted;
    await p.chat.say('37,2', /notiert: 37,2/);

    await running.visite.stop();
    await p.client.sendText(p.roomId, '1'); // while the bot is down
    running = await startTestVisite({ VISITE_UNDECRYPTABLE_WAIT_SECONDS: '2' }, running.botUser);
    await running.visite.botStarted;
    await p.chat.expectBot(/Ist Ihnen übel/, 30_000);
  });

  it('asks the patient to send a message again when it stays undecryptable', async () => {
    const p = await enrolledPatient();
    await p.chat.expectBot(/einverstanden/);
    const raw = new TestClient(inject('homeserver').url, p.user.userId, p.user.accessToken);
    await raw.sendEvent(p.roomId, 'm.room.encrypted', {
      algorithm: 'm.megolm.v1.aes-sha2',
      sender_key: 'nAT8QaXkBbZ1ZtOrrtEG9uVkvMI7nUwNp5m7ByzxIVU',
      session_id: 'cHVM2xGgA1vbvO2Rf6QbEuTZwRn1BEuZCnZrGJjTVSU',
      device_id: p.user.deviceId,
      ciphertext: 'AwgAEnBFh8Xxs6IuPaXYj9TuJDSpMjJI',
    });
    await p.chat.expectBot(/nicht entschlüsseln.*noch einmal/, 20_000);
  });
});
