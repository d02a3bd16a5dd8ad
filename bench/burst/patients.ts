/**
 * Patients for bench/burst.ts: each a registered Matrix user with a real
 * encrypted device — an OlmMachine of @matrix-org/matrix-sdk-crypto-wasm
 * (the crypto matrix-js-sdk and Element Web use) with an in-memory store —
 * and no full client. Each patient runs one long-poll /sync loop with a small
 * filter: it feeds to-device events, device-list changes and one-time-key
 * counts to its OlmMachine and sends what the machine asks for (keys upload,
 * keys query, …) the way matrix-js-sdk's OutgoingRequestProcessor does, joins
 * the rooms it is invited to, and decrypts the bots' messages as they arrive.
 */
import * as Crypto from '@matrix-org/matrix-sdk-crypto-wasm';
import { registerUser, type RegisteredUser } from '../../scripts/synapse.ts';

const SYNC_FILTER = JSON.stringify({
  presence: { types: [] },
  account_data: { types: [] },
  room: {
    state: { types: [] },
    ephemeral: { types: [] },
    account_data: { types: [] },
    timeline: { limit: 50, types: ['m.room.encrypted', 'm.room.message'] },
  },
});

export interface BotMessage {
  eventId: string;
  roomId: string;
  sender: string;
  /** origin_server_ts: when the homeserver stored the event (same machine, same clock). */
  ts: number;
  /** When our sync saw it. */
  seenAt: number;
  raw: Record<string, unknown>;
  /** Decrypted body; undefined while the room key is missing. */
  body?: string;
  encrypted: boolean;
}

export interface Invite {
  roomId: string;
  inviter: string;
  seenAt: number;
  joinedAt?: number;
  joinError?: string;
}

/** What one patient saw from the bots of the current scenario. */
export interface Observed {
  invites: Map<string, Invite>;
  messages: BotMessage[];
  /** The first message carrying the first question, once decrypted. */
  question?: BotMessage;
}

type Listener = (patient: PatientDevice, message: BotMessage) => void;

export class PatientDevice {
  readonly user: RegisteredUser;
  readonly machine: Crypto.OlmMachine;
  observed: Observed = { invites: new Map(), messages: [] };
  /** Senders counted as the bots of the current scenario. */
  bots = new Set<string>();
  decryptFailures = 0;
  syncs = 0;
  errors: string[] = [];
  readonly homeserver: string;
  private since: string | undefined;
  private readonly matchQuestion: (body: string) => boolean;
  private readonly onQuestion: Listener;

  constructor(homeserver: string, user: RegisteredUser, machine: Crypto.OlmMachine, matchQuestion: (body: string) => boolean, onQuestion: Listener) {
    this.homeserver = homeserver;
    this.user = user;
    this.machine = machine;
    this.matchQuestion = matchQuestion;
    this.onQuestion = onQuestion;
  }

  /** Starts counting for a new scenario's bots (earlier rooms and senders are ignored from now on). */
  reset(bots: Iterable<string>): void {
    this.bots = new Set(bots);
    this.observed = { invites: new Map(), messages: [] };
  }

  async request(method: string, path: string, body?: string | object, signal?: AbortSignal): Promise<string> {
    const res = await fetch(`${this.homeserver}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.user.accessToken}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      ...(signal ? { signal } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path.split('?')[0]}: HTTP ${res.status} ${text.slice(0, 200)}`);
    return text;
  }

  /** Sends everything the OlmMachine asks for and reports the answers back to it. */
  async processOutgoing(): Promise<void> {
    for (let round = 0; round < 5; round++) {
      const requests = await this.machine.outgoingRequests();
      if (requests.length === 0) return;
      for (const req of requests) {
        let response: string;
        if (req instanceof Crypto.KeysUploadRequest) response = await this.request('POST', '/_matrix/client/v3/keys/upload', req.body);
        else if (req instanceof Crypto.KeysQueryRequest) response = await this.request('POST', '/_matrix/client/v3/keys/query', req.body);
        else if (req instanceof Crypto.KeysClaimRequest) response = await this.request('POST', '/_matrix/client/v3/keys/claim', req.body);
        else if (req instanceof Crypto.SignatureUploadRequest) response = await this.request('POST', '/_matrix/client/v3/keys/signatures/upload', req.body);
        else if (req instanceof Crypto.ToDeviceRequest)
          response = await this.request(
            'PUT',
            `/_matrix/client/v3/sendToDevice/${encodeURIComponent(req.event_type)}/${encodeURIComponent(req.txn_id)}`,
            req.body,
          );
        else if (req instanceof Crypto.RoomMessageRequest)
          response = await this.request(
            'PUT',
            `/_matrix/client/v3/rooms/${encodeURIComponent(req.room_id)}/send/${encodeURIComponent(req.event_type)}/${encodeURIComponent(req.txn_id)}`,
            req.body,
          );
        else continue; // key backup: not used
        if (req.id) await this.machine.markRequestAsSent(req.id, req.type, response);
      }
    }
  }

  /** One /sync (long poll unless it is the first), processed completely before the next. */
  async syncOnce(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const query = new URLSearchParams({ timeout: String(this.since ? timeoutMs : 0), filter: SYNC_FILTER });
    if (this.since) query.set('since', this.since);
    const body = JSON.parse(await this.request('GET', `/_matrix/client/v3/sync?${query}`, undefined, signal)) as SyncResponse;
    this.syncs += 1;
    const now = Date.now();
    // Crypto first: room keys arrive as to-device messages, often in the same response as the message.
    const changed = (body.device_lists?.changed ?? []).map((u) => new Crypto.UserId(u));
    const left = (body.device_lists?.left ?? []).map((u) => new Crypto.UserId(u));
    await this.machine.receiveSyncChanges(
      JSON.stringify(body.to_device?.events ?? []),
      new Crypto.DeviceLists(changed, left),
      new Map(Object.entries(body.device_one_time_keys_count ?? {})),
      new Set(body.device_unused_fallback_key_types ?? []),
    );
    await this.processOutgoing();

    for (const [roomId, room] of Object.entries(body.rooms?.invite ?? {})) {
      const me = room.invite_state?.events?.find((e) => e.type === 'm.room.member' && e.state_key === this.user.userId);
      const inviter = me?.sender ?? '';
      if (!this.bots.has(inviter) || this.observed.invites.has(roomId)) continue;
      const invite: Invite = { roomId, inviter, seenAt: now };
      this.observed.invites.set(roomId, invite);
      try {
        await this.request('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {});
        invite.joinedAt = Date.now();
      } catch (error) {
        invite.joinError = (error as Error).message;
      }
    }
    for (const [roomId, room] of Object.entries(body.rooms?.join ?? {})) {
      for (const event of room.timeline?.events ?? []) {
        if (!this.bots.has(event.sender) || this.observed.messages.some((m) => m.eventId === event.event_id)) continue;
        this.observed.messages.push({
          eventId: event.event_id,
          roomId,
          sender: event.sender,
          ts: event.origin_server_ts,
          seenAt: now,
          raw: { ...event },
          encrypted: event.type === 'm.room.encrypted',
        });
      }
    }
    await this.decryptPending();
    this.since = body.next_batch;
  }

  /** Decrypts the messages whose room key has arrived; notes the first one carrying the first question. */
  async decryptPending(): Promise<void> {
    for (const message of this.observed.messages) {
      if (message.body !== undefined) continue;
      if (!message.encrypted) {
        message.body = String((message.raw['content'] as { body?: unknown } | undefined)?.body ?? '');
      } else {
        try {
          const decrypted = await this.machine.decryptRoomEvent(
            JSON.stringify(message.raw),
            new Crypto.RoomId(message.roomId),
            new Crypto.DecryptionSettings(Crypto.TrustRequirement.Untrusted),
          );
          const clear = JSON.parse(decrypted.event) as { content?: { body?: unknown } };
          message.body = String(clear.content?.body ?? '');
        } catch {
          this.decryptFailures += 1;
          continue;
        }
      }
      if (!this.observed.question && this.matchQuestion(message.body)) {
        this.observed.question = message;
        this.onQuestion(this, message);
      }
    }
  }

  /** Syncs until stopped; errors are kept (and retried after a pause), never thrown. */
  async run(signal: AbortSignal, timeoutMs = 90_000): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.syncOnce(timeoutMs, signal);
      } catch (error) {
        if (signal.aborted) return;
        if (this.errors.length < 20) this.errors.push((error as Error).message);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
}

interface SyncEvent {
  type: string;
  sender: string;
  event_id: string;
  origin_server_ts: number;
  state_key?: string;
  content: Record<string, unknown>;
}

interface SyncResponse {
  next_batch: string;
  to_device?: { events?: unknown[] };
  device_lists?: { changed?: string[]; left?: string[] };
  device_one_time_keys_count?: Record<string, number>;
  device_unused_fallback_key_types?: string[];
  rooms?: {
    invite?: Record<string, { invite_state?: { events?: SyncEvent[] } }>;
    join?: Record<string, { timeline?: { events?: SyncEvent[]; limited?: boolean } }>;
  };
}

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!, i);
      }
    }),
  );
  return results;
}

export interface PatientFleet {
  patients: PatientDevice[];
  /** Starts every patient's sync loop (after an initial sync each). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Registers `count` patients, creates their devices and uploads device keys
 * and one-time keys; the sync loops start with `start()`.
 */
export async function createPatients(
  homeserver: { url: string; sharedSecret: string },
  count: number,
  options: { prefix: string; matchQuestion: (body: string) => boolean; onQuestion: Listener; log?: (line: string) => void },
): Promise<PatientFleet> {
  await Crypto.initAsync();
  const t0 = performance.now();
  const users = await pool(
    Array.from({ length: count }, (_, i) => i),
    8,
    (i) => registerUser(homeserver, `${options.prefix}-${i + 1}`),
  );
  options.log?.(`registered ${count} patients (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  const t1 = performance.now();
  const patients = await pool(users, 8, async (user) => {
    const machine = await Crypto.OlmMachine.initialize(new Crypto.UserId(user.userId), new Crypto.DeviceId(user.deviceId));
    const patient = new PatientDevice(homeserver.url, user, machine, options.matchQuestion, options.onQuestion);
    await patient.processOutgoing(); // device keys and one-time keys
    return patient;
  });
  options.log?.(`${count} patient devices with keys uploaded (${((performance.now() - t1) / 1000).toFixed(1)} s)`);
  const abort = new AbortController();
  const loops: Promise<void>[] = [];
  return {
    patients,
    async start() {
      await pool(patients, 16, (p) => p.syncOnce(0)); // since tokens, and the first key counts
      for (const p of patients) loops.push(p.run(abort.signal));
    },
    async stop() {
      abort.abort();
      await Promise.allSettled(loops);
      for (const p of patients) p.machine.close();
    },
  };
}
