/**
 * matrix-bot-sdk 0.8.0 bugs and how bots/crypto.ts compensates for them.
 * Each bug is first shown on the SDK's own code (so we notice when an upgrade
 * fixes it), then the patched engine is checked with fakes of the client and
 * the crypto machine — no network, no store.
 */
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { RustEngine } from 'matrix-bot-sdk/lib/e2ee/RustEngine.js';
import { encryptionSettingsFor, installMatrixBotSdkFixes, keyRecipientsMembership, sendToDeviceRequest } from '../../../bots/crypto.ts';

const require = createRequire(import.meta.url);
const binding = require('@matrix-org/matrix-sdk-crypto-nodejs') as typeof import('@matrix-org/matrix-sdk-crypto-nodejs');

type Call = [string, ...unknown[]];

/** A fake MatrixClient and OlmMachine that record what the engine does with them. */
function fakes(options: { members?: string[]; sharedRequests?: unknown[]; outgoing?: unknown[]; missing?: unknown } = {}) {
  const calls: Call[] = [];
  const client = {
    async doRequest(method: string, path: string, _query: unknown, body: unknown) {
      calls.push(['doRequest', method, path, body]);
      return {};
    },
    async sendToDevices(type: string, messages: unknown) {
      calls.push(['sendToDevices', type, messages]);
      return {};
    },
    async getJoinedRoomMembers() {
      return options.members ?? ['@patient:example.org'];
    },
    async getRoomMembers(_roomId: string, _batch: unknown, memberships: string[]) {
      calls.push(['getRoomMembers', memberships]);
      return (options.members ?? ['@patient:example.org']).map((id) => ({ membershipFor: id }));
    },
  };
  const machine = {
    async outgoingRequests() {
      calls.push(['outgoingRequests']);
      const out = options.outgoing ?? [];
      options.outgoing = [];
      return out;
    },
    async markRequestAsSent(id: string, type: number, response: string) {
      calls.push(['markRequestAsSent', id, type, response]);
      return true;
    },
    async updateTrackedUsers(users: Array<{ toString(): string }>) {
      calls.push(['updateTrackedUsers', users.map(String)]);
    },
    async getMissingSessions(users: Array<{ toString(): string }>) {
      calls.push(['getMissingSessions', users.map(String)]);
      return options.missing ?? null;
    },
    async shareRoomKey(roomId: { toString(): string }, users: Array<{ toString(): string }>, settings: InstanceType<typeof binding.EncryptionSettings>) {
      calls.push([
        'shareRoomKey',
        roomId.toString(),
        users.map(String),
        { rotationPeriod: settings.rotationPeriod, rotationPeriodMessages: settings.rotationPeriodMessages, historyVisibility: settings.historyVisibility },
      ]);
      return options.sharedRequests ?? [];
    },
  };
  return { calls, client, machine };
}

interface EngineForTest {
  processToDeviceRequest(request: unknown): Promise<void>;
  prepareEncrypt(roomId: string, roomInfo: Record<string, unknown>): Promise<void>;
  addTrackedUsers(userIds: string[]): Promise<void>;
}

const engineWith = (f: ReturnType<typeof fakes>) => new RustEngine(f.machine as never, f.client as never) as unknown as EngineForTest;

const toDevice = () =>
  binding.nativeRequest(
    new binding.ToDeviceRequest(
      'req-1',
      'm.room.encrypted',
      'txn-1',
      JSON.stringify({ messages: { '@patient:example.org': { DEVICE: { ciphertext: 'x' } } } }),
    ),
  );

// Captured before the fixes are installed: the SDK's own behaviour.
const original = {
  processToDeviceRequest: (RustEngine.prototype as unknown as EngineForTest).processToDeviceRequest,
  prepareEncrypt: (RustEngine.prototype as unknown as EngineForTest).prepareEncrypt,
};

describe('matrix-bot-sdk bug: to-device requests', () => {
  it('the SDK reads event type and transaction id from a body that only holds messages', async () => {
    const f = fakes();
    await original.processToDeviceRequest.call(engineWith(f), toDevice());
    expect(f.calls).toContainEqual(['sendToDevices', undefined, { '@patient:example.org': { DEVICE: { ciphertext: 'x' } } }]);
    expect(f.calls).toContainEqual(['markRequestAsSent', undefined, binding.RequestType.ToDevice, '{}']);
  });

  it('our binding gives to-device requests the native camelCase fields, and the body keeps only messages', () => {
    const request = toDevice();
    expect(request).toMatchObject({ id: 'req-1', type: binding.RequestType.ToDevice, txnId: 'txn-1', eventType: 'm.room.encrypted' });
    expect(Object.keys(JSON.parse(request.body) as object)).toEqual(['messages']);
  });

  it('fixed: sends to sendToDevice/<type>/<the request’s txn id> and marks the request as sent', async () => {
    const f = fakes();
    await sendToDeviceRequest({ machine: f.machine as never, client: f.client as never }, toDevice());
    expect(f.calls).toEqual([
      ['doRequest', 'PUT', '/_matrix/client/v3/sendToDevice/m.room.encrypted/txn-1', { messages: { '@patient:example.org': { DEVICE: { ciphertext: 'x' } } } }],
      ['markRequestAsSent', 'req-1', binding.RequestType.ToDevice, '{}'],
    ]);
  });

  it('fixed: refuses a request without type or transaction id instead of sending to "undefined"', async () => {
    const f = fakes();
    await expect(
      sendToDeviceRequest({ machine: f.machine as never, client: f.client as never }, { id: 'x', type: binding.RequestType.ToDevice, body: '{"messages":{}}' }),
    ).rejects.toThrow(/event type or transaction id/);
    expect(f.calls).toEqual([]);
  });
});

describe('matrix-bot-sdk bug: Megolm rotation period units', () => {
  it('the SDK passes milliseconds where the Rust crypto expects microseconds', async () => {
    const f = fakes();
    await original.prepareEncrypt.call(engineWith(f), '!room:example.org', { algorithm: 'm.megolm.v1.aes-sha2' });
    const share = f.calls.find((c) => c[0] === 'shareRoomKey')!;
    expect((share[3] as { rotationPeriod: bigint }).rotationPeriod).toBe(604_800_000n); // one week in ms, read as 10 minutes
  });

  it('fixed: one week is 604,800,000,000 µs; a room’s rotation_period_ms and _msgs are honoured', () => {
    const week = encryptionSettingsFor({ algorithm: 'm.megolm.v1.aes-sha2' });
    expect(week.rotationPeriod).toBe(604_800_000_000n);
    expect(week.rotationPeriodMessages).toBe(100n);
    const hour = encryptionSettingsFor({
      algorithm: 'm.megolm.v1.aes-sha2',
      rotation_period_ms: 3_600_000,
      rotation_period_msgs: 20,
      historyVisibility: 'invited',
    });
    expect(hour.rotationPeriod).toBe(3_600_000_000n);
    expect(hour.rotationPeriodMessages).toBe(20n);
    expect(hour.historyVisibility).toBe(binding.HistoryVisibility.Invited);
  });

  it('fixed: nonsense rotation values fall back to the defaults, unknown algorithms are refused', () => {
    expect(encryptionSettingsFor({ algorithm: 'm.megolm.v1.aes-sha2', rotation_period_ms: -5 }).rotationPeriod).toBe(604_800_000_000n);
    expect(() => encryptionSettingsFor({ algorithm: 'm.olm.v1.curve25519-aes-sha2' })).toThrow(/unsupported/);
  });
});

describe('the patched engine', () => {
  beforeAll(() => {
    installMatrixBotSdkFixes();
    installMatrixBotSdkFixes(); // idempotent
  });

  it('prepareEncrypt shares the key with µs rotation and sends each to-device request to its own txn id', async () => {
    const shared = [binding.nativeRequest(new binding.ToDeviceRequest('r1', 'm.room.encrypted', 't1', '{"messages":{}}'))];
    const f = fakes({ sharedRequests: shared });
    await engineWith(f).prepareEncrypt('!room:example.org', { algorithm: 'm.megolm.v1.aes-sha2', historyVisibility: 'invited' });
    const share = f.calls.find((c) => c[0] === 'shareRoomKey')!;
    expect(share[2]).toEqual(['@patient:example.org']);
    expect((share[3] as { rotationPeriod: bigint }).rotationPeriod).toBe(604_800_000_000n);
    expect(f.calls).toContainEqual(['doRequest', 'PUT', '/_matrix/client/v3/sendToDevice/m.room.encrypted/t1', { messages: {} }]);
    expect(f.calls).toContainEqual(['markRequestAsSent', 'r1', binding.RequestType.ToDevice, '{}']);
    expect(f.calls.some((c) => c[0] === 'sendToDevices')).toBe(false);
  });

  it('prepareEncrypt includes invited members unless history is visible to joined members only (TI-M rooms: invited)', async () => {
    expect(keyRecipientsMembership('invited')).toEqual(['join', 'invite']);
    expect(keyRecipientsMembership('shared')).toEqual(['join', 'invite']);
    expect(keyRecipientsMembership('joined')).toEqual(['join']);
    const f = fakes();
    await engineWith(f).prepareEncrypt('!room:example.org', { algorithm: 'm.megolm.v1.aes-sha2', historyVisibility: 'invited' });
    expect(f.calls).toContainEqual(['getRoomMembers', ['join', 'invite']]);
  });

  it('addTrackedUsers sends the key query before asking for missing sessions (no 5 s stall)', async () => {
    const query = binding.nativeRequest(new binding.KeysQueryRequest('q1', '{"device_keys":{}}'));
    const f = fakes({ outgoing: [query] });
    await engineWith(f).addTrackedUsers(['@patient:example.org']);
    const names = f.calls.map((c) => (c[0] === 'doRequest' ? `doRequest ${String(c[2])}` : c[0]));
    expect(names).toEqual(['updateTrackedUsers', 'outgoingRequests', 'doRequest /_matrix/client/v3/keys/query', 'markRequestAsSent', 'getMissingSessions']);
  });
});
