/**
 * An independent end-to-end encrypting Matrix client for tests: matrix-js-sdk
 * with its own Rust crypto (WebAssembly), the stack Element Web uses. It plays
 * patients and clinicians in encrypted rooms and shares no code with the bot,
 * so a bug in our crypto binding cannot hide itself here.
 */
import 'fake-indexeddb/auto';
import { ClientEvent, createClient, MsgType, Preset, SyncState, type MatrixClient, type MatrixEvent } from 'matrix-js-sdk';
import { logger as globalSdkLogger, type Logger } from 'matrix-js-sdk/lib/logger.js';

/** matrix-js-sdk logs every sync and crypto step; the tests show only its errors. */
const quietLogger: Logger = {
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: (...msg: unknown[]) => console.error('[matrix-js-sdk]', ...msg),
  getChild: () => quietLogger,
};
// Parts of matrix-js-sdk log through its global loglevel logger; its children copy this factory.
{
  const root = globalSdkLogger as unknown as { methodFactory: (method: string) => (...msg: unknown[]) => void; rebuild(): void };
  root.methodFactory = (method) => (method === 'error' ? (...msg) => console.error('[matrix-js-sdk]', ...msg) : () => {});
  root.rebuild();
}

export interface ClearEvent {
  eventId: string;
  sender: string;
  type: string;
  content: Record<string, unknown>;
  encrypted: boolean;
  decryptionFailure: boolean;
  ts: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface E2eeClientOptions {
  baseUrl: string;
  userId: string;
  accessToken: string;
  deviceId: string;
}

export class E2eeClient {
  readonly matrix: MatrixClient;
  readonly userId: string;

  private constructor(matrix: MatrixClient, userId: string) {
    this.matrix = matrix;
    this.userId = userId;
  }

  /** Logs the session in with Rust crypto (in-memory store) and waits for the first sync. */
  static async start(options: E2eeClientOptions): Promise<E2eeClient> {
    const matrix = createClient({
      baseUrl: options.baseUrl,
      userId: options.userId,
      accessToken: options.accessToken,
      deviceId: options.deviceId,
      logger: quietLogger,
    });
    await matrix.initRustCrypto({ useIndexedDB: false });
    const prepared = new Promise<void>((resolve, reject) => {
      const onSync = (state: SyncState) => {
        if (state === SyncState.Prepared || state === SyncState.Syncing) {
          matrix.off(ClientEvent.Sync, onSync);
          resolve();
        } else if (state === SyncState.Error) {
          reject(new Error('matrix-js-sdk sync failed'));
        }
      };
      matrix.on(ClientEvent.Sync, onSync);
    });
    await matrix.startClient({ initialSyncLimit: 20, lazyLoadMembers: false });
    await prepared;
    await deviceKeysUploaded(options);
    return new E2eeClient(matrix, options.userId);
  }

  async stop(): Promise<void> {
    this.matrix.stopClient();
  }

  /** An encrypted direct room with one invitee, created the TI-M way (invite-only, history for the invited). */
  async createEncryptedDirectRoom(invitee: string): Promise<string> {
    const { room_id } = await this.matrix.createRoom({
      preset: Preset.TrustedPrivateChat,
      is_direct: true,
      invite: [invitee],
      room_version: '10',
      creation_content: { type: 'de.gematik.tim.roomtype.default.v1' },
      initial_state: [
        { type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } },
        { type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'invited' } },
        { type: 'm.room.join_rules', state_key: '', content: { join_rule: 'invite' } },
      ],
    });
    await this.waitFor(() => this.matrix.getRoom(room_id) !== null, `room ${room_id} to appear`);
    return room_id;
  }

  async waitForMembership(roomId: string, userId: string, membership: 'join' | 'invite', timeoutMs = 20_000): Promise<void> {
    await this.waitFor(() => this.matrix.getRoom(roomId)?.getMember(userId)?.membership === membership, `${userId} to ${membership} ${roomId}`, timeoutMs);
  }

  async waitForInvite(roomId?: string, timeoutMs = 20_000): Promise<string> {
    let found: string | undefined;
    await this.waitFor(
      () => {
        found = this.matrix.getRooms().find((room) => room.getMyMembership() === 'invite' && (roomId === undefined || room.roomId === roomId))?.roomId;
        return found !== undefined;
      },
      'an invite',
      timeoutMs,
    );
    return found!;
  }

  async join(roomId: string): Promise<void> {
    await this.matrix.joinRoom(roomId);
    // The server is the judge: matrix-js-sdk's own idea of our membership can lag behind (or stay at
    // "invite") while the room's timeline already shows the join and the messages after it.
    const deadline = Date.now() + 20_000;
    while (!(await this.matrix.getJoinedRooms()).joined_rooms.includes(roomId)) {
      if (Date.now() > deadline) throw new Error(`the homeserver does not list ${this.userId} in ${roomId} after joining`);
      await sleep(100);
    }
    this.joined.add(roomId);
  }

  /** Rooms joined through `join` (matrix-js-sdk's membership may lag; see there). */
  readonly joined = new Set<string>();

  /** Are we in this room, by matrix-js-sdk or by a join we made? */
  isJoined(roomId: string): boolean {
    return this.joined.has(roomId) || this.matrix.getRoom(roomId)?.getMyMembership() === 'join';
  }

  isRoomEncrypted(roomId: string): Promise<boolean> {
    return this.matrix.getCrypto()!.isEncryptionEnabledInRoom(roomId);
  }

  /** Sends a text message; in an encrypted room matrix-js-sdk encrypts it (and shares its room key first). */
  async sendText(roomId: string, body: string): Promise<string> {
    const { event_id } = await this.matrix.sendMessage(roomId, { msgtype: MsgType.Text, body });
    return event_id;
  }

  /** Encrypts and uploads a file the way Element does, then sends an m.image with an encrypted `file`. */
  async sendEncryptedImage(roomId: string, data: Uint8Array, mimetype: string, name = 'photo.jpg'): Promise<string> {
    const encrypted = await encryptAttachment(data);
    const upload = await this.matrix.uploadContent(Buffer.from(encrypted.data), { type: 'application/octet-stream', includeFilename: false });
    const { event_id } = await this.matrix.sendMessage(roomId, {
      msgtype: MsgType.Image,
      body: name,
      info: { mimetype, size: data.byteLength },
      file: { ...encrypted.info, url: upload.content_uri },
    } as never);
    return event_id;
  }

  /** Downloads an encrypted attachment (authenticated media API) and decrypts it, checking its hash. */
  async downloadAndDecrypt(file: { url: string; key: { k: string }; iv: string; hashes: { sha256: string } }): Promise<Uint8Array> {
    const { createDecipheriv, createHash } = await import('node:crypto');
    const match = /^mxc:\/\/([^/]+)\/([^/]+)$/.exec(file.url);
    if (!match) throw new Error(`not an mxc URI: ${file.url}`);
    const res = await fetch(`${this.matrix.baseUrl}/_matrix/client/v1/media/download/${match[1]}/${match[2]}`, {
      headers: { authorization: `Bearer ${this.matrix.getAccessToken()}` },
    });
    if (!res.ok) throw new Error(`media download: HTTP ${res.status}`);
    const ciphertext = Buffer.from(await res.arrayBuffer());
    const hash = createHash('sha256').update(ciphertext).digest('base64').replace(/=+$/, '');
    if (hash !== file.hashes.sha256.replace(/=+$/, '')) throw new Error('attachment hash mismatch');
    const decipher = createDecipheriv('aes-256-ctr', Buffer.from(file.key.k, 'base64url'), Buffer.from(file.iv, 'base64'));
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  }

  /** Timeline events of a room as the user sees them: decrypted where possible. */
  events(roomId: string): ClearEvent[] {
    const room = this.matrix.getRoom(roomId);
    if (!room) return [];
    return room.getLiveTimeline().getEvents().map(toClear);
  }

  /** Waits until a (decrypted) event matches; fails with what was seen instead. */
  async waitForEvent(roomId: string, match: (event: ClearEvent) => boolean, timeoutMs = 30_000): Promise<ClearEvent> {
    let found: ClearEvent | undefined;
    try {
      await this.waitFor(
        () => {
          found = this.events(roomId).find(match);
          return found !== undefined;
        },
        'a matching event',
        timeoutMs,
      );
    } catch (error) {
      const seen = this.events(roomId).map((e) => `${e.sender} ${e.type}${e.decryptionFailure ? ' (undecryptable)' : ''}`);
      throw new Error(`${(error as Error).message}; seen in ${roomId}: ${seen.join(', ')}`);
    }
    return found!;
  }

  private async waitFor(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (matrix-js-sdk sync state: ${String(this.matrix.getSyncState())})`);
      }
      await sleep(100);
    }
  }
}

/**
 * matrix-js-sdk uploads the device keys in the background after start. A bot
 * that encrypts to this user before that finds no device and shares no key, so
 * we wait until the homeserver has them — as with a real client, which has
 * been running for a while before anyone writes to it.
 */
async function deviceKeysUploaded(options: E2eeClientOptions, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(new URL('/_matrix/client/v3/keys/query', options.baseUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${options.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ device_keys: { [options.userId]: [options.deviceId] } }),
    });
    const body = (await res.json()) as { device_keys?: Record<string, Record<string, unknown>> };
    if (body.device_keys?.[options.userId]?.[options.deviceId]) return;
    if (Date.now() > deadline) throw new Error(`device keys of ${options.userId} not uploaded within ${timeoutMs} ms`);
    await sleep(50);
  }
}

function toClear(event: MatrixEvent): ClearEvent {
  return {
    eventId: event.getId() ?? '',
    sender: event.getSender() ?? '',
    type: event.getType(),
    content: event.getContent(),
    encrypted: event.isEncrypted(),
    decryptionFailure: event.isDecryptionFailure(),
    ts: event.getTs(),
  };
}

/**
 * Attachment encryption per the spec (AES-256-CTR, SHA-256 of the ciphertext),
 * written with node:crypto so the patient side does not use our binding.
 */
export async function encryptAttachment(data: Uint8Array): Promise<{ data: Uint8Array; info: Record<string, unknown> }> {
  const { createCipheriv, createHash, randomBytes } = await import('node:crypto');
  const key = randomBytes(32);
  const iv = Buffer.concat([randomBytes(8), Buffer.alloc(8)]); // counter half starts at zero
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  const ciphertext = Buffer.concat([cipher.update(data), cipher.final()]);
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  const b64url = (b: Buffer) => b.toString('base64url');
  return {
    data: ciphertext,
    info: {
      v: 'v2',
      key: { kty: 'oct', key_ops: ['encrypt', 'decrypt'], alg: 'A256CTR', k: b64url(key), ext: true },
      iv: b64(iv),
      hashes: { sha256: b64(createHash('sha256').update(ciphertext).digest()) },
    },
  };
}
