import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MatrixEvent } from '../harness/client.ts';
import { newUser, startTestVisite, stopE2eeClients, type RunningVisite } from '../harness/visite.ts';

const fromBot = (botId: string) => (e: MatrixEvent) => e.sender === botId && e.type === 'm.room.message';

describe('greeting round trip on a real Synapse', () => {
  let running: RunningVisite;

  beforeAll(async () => {
    running = await startTestVisite();
    await running.visite.botStarted;
  });
  afterAll(async () => {
    await running?.visite.stop();
    await stopE2eeClients();
  });

  it('answers "Hallo" in a direct room in German, as the patient client receives it', async () => {
    const { client: patient } = await newUser('patient');
    const roomId = await patient.createDirectRoom(running.botUser.userId);
    await patient.waitForJoin(roomId, running.botUser.userId);

    const sent = await patient.sendText(roomId, 'Hallo');
    const reply = await patient.waitForEvent(roomId, fromBot(running.botUser.userId));

    expect(reply.content['msgtype']).toBe('m.text');
    expect(reply.content['body']).toMatch(/^Guten Tag! Ich bin Visite/);
    expect(reply.content['body']).toContain('112');
    expect(reply.origin_server_ts).toBeGreaterThanOrEqual((patient.timeline.get(roomId) ?? []).find((e) => e.event_id === sent)!.origin_server_ts);
  });

  it('answers "Hello" in English and ignores text that is not a greeting', async () => {
    const { client: patient } = await newUser('patient');
    const roomId = await patient.createDirectRoom(running.botUser.userId);
    await patient.waitForJoin(roomId, running.botUser.userId);

    await patient.sendText(roomId, 'what is this?');
    await patient.sendText(roomId, 'Hello!');
    const reply = await patient.waitForEvent(roomId, fromBot(running.botUser.userId));
    expect(reply.content['body']).toMatch(/^Hello! I am Visite/);

    // A barrier instead of a pause: the bot handles a room's events in order and sends its replies in
    // order, so an answer to "ok" would arrive before the answer to the greeting sent after it.
    await patient.sendText(roomId, 'ok');
    await patient.sendText(roomId, 'Hallo');
    const barrier = await patient.waitForEvent(roomId, (e) => fromBot(running.botUser.userId)(e) && /^Guten Tag/.test(String(e.content['body'])));
    expect(
      patient.timeline
        .get(roomId)!
        .filter(fromBot(running.botUser.userId))
        .map((e) => e.event_id),
    ).toEqual([reply.event_id, barrier.event_id]);
  });

  it('declines invites from users not on the allow-list and says nothing there', async () => {
    const guarded = await startTestVisite({ VISITE_ALLOWED_INVITERS: '@dr.nobody:localhost' });
    try {
      await guarded.visite.botStarted;
      const { client: stranger } = await newUser('stranger');
      const roomId = await stranger.createDirectRoom(guarded.botUser.userId);
      const leave = await stranger.waitForEvent(
        roomId,
        (e) => e.type === 'm.room.member' && e.state_key === guarded.botUser.userId && e.content['membership'] === 'leave',
      );
      expect(leave.sender).toBe(guarded.botUser.userId);
      expect(await stranger.joinedMembers(roomId)).toEqual([stranger.userId]);
    } finally {
      await guarded.visite.stop();
    }
  });

  it('answers, after a restart, a message sent while it was down, exactly once', async () => {
    const { client: patient } = await newUser('patient');
    const roomId = await patient.createDirectRoom(running.botUser.userId);
    await patient.waitForJoin(roomId, running.botUser.userId);
    await running.visite.stop();

    await patient.sendText(roomId, 'Hallo');
    running = await startTestVisite({}, running.botUser);
    await running.visite.botStarted;
    const reply = await patient.waitForEvent(roomId, fromBot(running.botUser.userId));
    expect(reply.content['body']).toMatch(/^Guten Tag! Ich bin Visite/);

    // Barrier: a later greeting's answer comes after any second answer to the first.
    await patient.sendText(roomId, 'Hello');
    const barrier = await patient.waitForEvent(roomId, (e) => fromBot(running.botUser.userId)(e) && /^Hello!/.test(String(e.content['body'])));
    expect(
      patient.timeline
        .get(roomId)!
        .filter(fromBot(running.botUser.userId))
        .map((e) => e.event_id),
    ).toEqual([reply.event_id, barrier.event_id]);
  });

  it('treats what happened before its very first start as history, not as requests', async () => {
    const { user: freshBot } = await newUser('visite-fresh', { e2ee: false });
    const { client: patient } = await newUser('patient');
    const roomId = await patient.createDirectRoom(freshBot.userId);
    await patient.sendText(roomId, 'Hallo');
    await new Promise((r) => setTimeout(r, 6_000)); // older than the start-skew tolerance

    const first = await startTestVisite({}, freshBot);
    try {
      await first.visite.botStarted;
      await patient.waitForJoin(roomId, freshBot.userId);
      await patient.sendText(roomId, 'Hi');
      const reply = await patient.waitForEvent(roomId, fromBot(freshBot.userId));
      expect(reply.content['body']).toMatch(/^Hello! I am Visite/);
      // Barrier: had the old "Hallo" been answered, that answer would precede this one.
      await patient.sendText(roomId, 'Guten Morgen');
      const barrier = await patient.waitForEvent(roomId, (e) => fromBot(freshBot.userId)(e) && /^Guten Tag/.test(String(e.content['body'])));
      expect(
        patient.timeline
          .get(roomId)!
          .filter(fromBot(freshBot.userId))
          .map((e) => e.event_id),
      ).toEqual([reply.event_id, barrier.event_id]);
    } finally {
      await first.visite.stop();
    }
  });
});
