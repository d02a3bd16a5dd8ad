/**
 * The binding's OlmMachine speaks the native binding's API to matrix-bot-sdk
 * and the wasm API to the crypto underneath. Checked with a fake wasm machine.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { OlmMachine } from '@matrix-org/matrix-sdk-crypto-nodejs';

const require = createRequire(import.meta.url);
const binding = require('@matrix-org/matrix-sdk-crypto-nodejs') as typeof import('@matrix-org/matrix-sdk-crypto-nodejs');

type Adapter = OlmMachine;
const Machine = binding.OlmMachine as unknown as new (inner: unknown, store: unknown) => Adapter;

function adapter(inner: Record<string, unknown>) {
  const store = {
    flushes: 0,
    async flush() {
      this.flushes++;
    },
    async close(before?: () => void) {
      before?.();
    },
  };
  return { machine: new Machine(inner, store), store };
}

describe('the native OlmMachine API over the wasm machine', () => {
  it('receiveSyncChanges: object and array in, Map and Set to wasm, JSON of the decrypted events out, then a flush', async () => {
    const seen: unknown[] = [];
    const { machine, store } = adapter({
      async receiveSyncChanges(events: string, lists: unknown, counts: unknown, fallbacks: unknown, settings: unknown) {
        seen.push(events, lists, counts, fallbacks, settings);
        return [
          { type: binding.ProcessedToDeviceEventType.Decrypted, rawEvent: '{"type":"m.room_key","content":{"session_id":"s"}}', free() {} },
          { type: binding.ProcessedToDeviceEventType.UnableToDecrypt, rawEvent: '{"type":"m.room.encrypted"}', free() {} },
          { type: binding.ProcessedToDeviceEventType.PlainText, rawEvent: '{"type":"m.dummy"}', free() {} },
        ];
      },
    });
    const out = await machine.receiveSyncChanges('[]', new binding.DeviceLists(), { signed_curve25519: 49 }, ['signed_curve25519']);
    expect(JSON.parse(out)).toEqual([{ type: 'm.room_key', content: { session_id: 's' } }, { type: 'm.dummy' }]);
    expect(seen[2]).toEqual(new Map([['signed_curve25519', 49]]));
    expect(seen[3]).toEqual(new Set(['signed_curve25519']));
    expect(seen[4]).toBeInstanceOf(binding.DecryptionSettings);
    expect(store.flushes).toBe(1);
  });

  it('sign: returns what matrix-bot-sdk reads — get(userId) → { keyId: { isValid, signature.toBase64() } }', async () => {
    const { machine } = adapter({
      async sign() {
        return { asJSON: () => '{"@bot:x":{"ed25519:DEV":"c2ln"}}', free() {} };
      },
    });
    const signatures = await machine.sign('{}');
    const mine = signatures.get(new binding.UserId('@bot:x'))!;
    expect(Object.keys(mine)).toEqual(['ed25519:DEV']);
    expect(mine['ed25519:DEV']!.isValid).toBe(true);
    expect(mine['ed25519:DEV']!.signature.toBase64()).toBe('c2ln');
    expect(signatures.get(new binding.UserId('@other:x'))).toBeUndefined();
  });

  it('clones user ids, which wasm-bindgen frees when they are passed in an array', async () => {
    const received: unknown[][] = [];
    const { machine } = adapter({
      async updateTrackedUsers(users: Array<{ free(): void }>) {
        received.push(users);
        for (const user of users) user.free();
      },
      async getMissingSessions(users: unknown[]) {
        received.push(users);
        return undefined;
      },
    });
    const users = [new binding.UserId('@patient:x')];
    await machine.updateTrackedUsers(users);
    expect(await machine.getMissingSessions(users)).toBeNull();
    expect(users[0]!.toString()).toBe('@patient:x'); // still alive for the second call, as RustEngine makes it
    expect(received[0]![0]).not.toBe(users[0]);
  });

  it('decryptRoomEvent passes decryption settings that accept unverified devices (patients rarely verify)', async () => {
    let settings: InstanceType<typeof binding.DecryptionSettings> | undefined;
    const { machine } = adapter({
      async decryptRoomEvent(_event: string, _room: unknown, s: InstanceType<typeof binding.DecryptionSettings>) {
        settings = s;
        return { event: '{}' };
      },
    });
    await machine.decryptRoomEvent('{}', new binding.RoomId('!r:x'));
    expect(settings?.sender_device_trust_requirement).toBe(binding.TrustRequirement.Untrusted);
  });

  it('refuses every call once closed', async () => {
    const { machine } = adapter({
      close() {},
      async outgoingRequests() {
        return [];
      },
    });
    await machine.close();
    await expect(machine.outgoingRequests()).rejects.toMatchObject({ code: 'CRYPTO_STORE_CLOSED' });
  });
});
