import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { trackUndecryptable } from '../../../bots/undecryptable.ts';
import { createLogger } from '../../../server/logger.ts';

const encrypted = (id: string) => ({
  event_id: id,
  sender: '@patient:x',
  type: 'm.room.encrypted',
  content: { algorithm: 'm.megolm.v1.aes-sha2', session_id: 's' },
});

function fakeClient() {
  const client = Object.assign(new EventEmitter(), {
    keyArrived: false,
    crypto: {
      async decryptRoomEvent(event: { raw: { event_id: string } }) {
        if (!client.keyArrived) throw new Error('no key');
        return { raw: { ...event.raw, type: 'm.room.message', content: { msgtype: 'm.text', body: 'Hallo' } } };
      },
    },
  });
  return client;
}

describe('messages that cannot be decrypted yet', () => {
  it('are decrypted and handed on once their key arrives', async () => {
    const client = fakeClient();
    const decrypted: unknown[] = [];
    const tracker = trackUndecryptable(client as never, { logger: createLogger('error'), onDecrypted: (_r, e) => void decrypted.push(e), onGiveUp: () => {} });
    client.emit('room.failed_decryption', '!r:x', encrypted('$1'), new Error('no key'));
    client.emit('room.failed_decryption', '!r:x', encrypted('$1'), new Error('no key')); // replayed: counted once
    expect(tracker.pending).toBe(1);
    await tracker.retry();
    expect(decrypted).toEqual([]);
    client.keyArrived = true;
    client.emit('to_device.decrypted', { type: 'm.room_key' });
    await new Promise((r) => setImmediate(r));
    await tracker.retry();
    expect(decrypted).toEqual([expect.objectContaining({ event_id: '$1', type: 'm.room.message' })]);
    expect(tracker.pending).toBe(0);
    tracker.stop();
  });

  it('are given up after the wait, once, so the bot can ask for the message again', async () => {
    const client = fakeClient();
    let now = 1_000;
    const givenUp: string[] = [];
    const tracker = trackUndecryptable(client as never, {
      logger: createLogger('error'),
      giveUpAfterMs: 5_000,
      now: () => now,
      onDecrypted: () => {},
      onGiveUp: (_r, e) => void givenUp.push(e.event_id),
    });
    client.emit('room.failed_decryption', '!r:x', encrypted('$2'), new Error('no key'));
    now += 4_999;
    await tracker.expire();
    expect(givenUp).toEqual([]);
    now += 2;
    await tracker.expire();
    await tracker.expire();
    expect(givenUp).toEqual(['$2']);
    tracker.stop();
  });
});
