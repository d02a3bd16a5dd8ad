/**
 * Whether a room is encrypted decides whether a patient's data leaves in clear
 * text. matrix-bot-sdk takes any error while reading m.room.encryption for
 * "unencrypted"; our check only takes "not found" for that.
 */
import { describe, expect, it } from 'vitest';
import { checkRoomEncryption } from '../../../bots/crypto.ts';

class HttpFailure extends Error {
  readonly statusCode: number;
  readonly errcode: string;
  constructor(statusCode: number, errcode: string) {
    super(errcode);
    this.statusCode = statusCode;
    this.errcode = errcode;
  }
}

function tracker(state: Record<string, unknown | Error>, stored: Record<string, Record<string, unknown>> = {}) {
  const rooms = new Map(Object.entries(stored));
  const client = {
    cryptoStore: {
      async getRoom(roomId: string) {
        return rooms.get(roomId);
      },
      async storeRoom(roomId: string, config: Record<string, unknown>) {
        rooms.set(roomId, config);
      },
    },
    async getRoomStateEvent(_roomId: string, type: string) {
      const value = state[type];
      if (value instanceof Error) throw value;
      if (value === undefined) throw new HttpFailure(404, 'M_NOT_FOUND');
      return value;
    },
  };
  return { self: { client } as never, rooms };
}

describe('room encryption tracking', () => {
  it('records an encrypted room with its history visibility', async () => {
    const t = tracker({ 'm.room.encryption': { algorithm: 'm.megolm.v1.aes-sha2' }, 'm.room.history_visibility': { history_visibility: 'invited' } });
    await checkRoomEncryption.call(t.self, '!r:x');
    expect(t.rooms.get('!r:x')).toEqual({ algorithm: 'm.megolm.v1.aes-sha2', historyVisibility: 'invited' });
  });

  it('treats a room without m.room.encryption (404) as unencrypted and asks again next time', async () => {
    const t = tracker({});
    await checkRoomEncryption.call(t.self, '!r:x');
    expect(t.rooms.has('!r:x')).toBe(false);
  });

  it('fails on any other error instead of declaring the room unencrypted (matrix-bot-sdk would send clear text)', async () => {
    const t = tracker({ 'm.room.encryption': new HttpFailure(502, 'M_UNKNOWN') });
    await expect(checkRoomEncryption.call(t.self, '!r:x')).rejects.toThrow('M_UNKNOWN');
    expect(t.rooms.has('!r:x')).toBe(false);
    const offline = tracker({ 'm.room.encryption': new TypeError('fetch failed') });
    await expect(checkRoomEncryption.call(offline.self, '!r:x')).rejects.toThrow('fetch failed');
  });

  it('never forgets that a room is encrypted', async () => {
    const t = tracker({}, { '!r:x': { algorithm: 'm.megolm.v1.aes-sha2' } });
    await checkRoomEncryption.call(t.self, '!r:x');
    expect(t.rooms.get('!r:x')).toEqual({ algorithm: 'm.megolm.v1.aes-sha2' });
  });
});
