/**
 * TestClient's API over matrix-js-sdk with Rust crypto: the same tests can
 * play the patient in encrypted rooms. Sending goes through matrix-js-sdk
 * (encrypted where the room is), `timeline` holds the events as the person
 * sees them (decrypted), uploads are encrypted attachments. Plain
 * client-server requests (`request`, `joinedMembers`) stay those of TestClient.
 */
import { randomUUID } from 'node:crypto';
import { RoomEvent, type MatrixEvent as SdkEvent } from 'matrix-js-sdk';
import { E2eeClient, encryptAttachment } from './e2ee-client.ts';
import { TestClient, type MatrixEvent } from './client.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class E2eeTestClient extends TestClient {
  readonly e2ee: E2eeClient;
  /** Keys of files we uploaded encrypted, by their mxc URI, for the event that sends them. */
  readonly #uploads = new Map<string, Record<string, unknown>>();

  private constructor(baseUrl: string, userId: string, accessToken: string, e2ee: E2eeClient) {
    super(baseUrl, userId, accessToken);
    this.e2ee = e2ee;
    // Receipts as they came from the server (matrix-js-sdk's own view moves a sender's receipt to their latest event).
    e2ee.matrix.on(RoomEvent.Receipt, (event, room) => {
      const byEvent = this.receipts.get(room.roomId) ?? new Map<string, Set<string>>();
      for (const [eventId, kinds] of Object.entries(event.getContent() as Record<string, Record<string, Record<string, unknown>>>)) {
        for (const reader of Object.keys(kinds['m.read'] ?? {})) byEvent.set(eventId, (byEvent.get(eventId) ?? new Set()).add(reader));
      }
      this.receipts.set(room.roomId, byEvent);
    });
  }

  static async start(options: { baseUrl: string; userId: string; accessToken: string; deviceId: string }): Promise<E2eeTestClient> {
    const e2ee = await E2eeClient.start(options);
    return new E2eeTestClient(options.baseUrl, options.userId, options.accessToken, e2ee);
  }

  async stop(): Promise<void> {
    await this.e2ee.stop();
  }

  /** An encrypted direct room with one invitee (TI-M defaults). */
  override async createDirectRoom(invitee: string): Promise<string> {
    return this.e2ee.createEncryptedDirectRoom(invitee);
  }

  override async joinRoom(roomId: string): Promise<void> {
    await this.e2ee.join(roomId);
  }

  /** Waits until matrix-js-sdk itself has seen the join, so it encrypts for the new member's devices. */
  override async waitForJoin(roomId: string, userId: string, timeoutMs = 20_000): Promise<void> {
    await this.e2ee.waitForMembership(roomId, userId, 'join', timeoutMs);
  }

  override async sendText(roomId: string, body: string, msgtype = 'm.text'): Promise<string> {
    return this.sendEvent(roomId, 'm.room.message', { msgtype, body });
  }

  override async sendEvent(roomId: string, type: string, content: Record<string, unknown>): Promise<string> {
    const { event_id } = await this.e2ee.matrix.sendEvent(roomId, type as never, content as never, randomUUID());
    return event_id;
  }

  /** Encrypts, then uploads the ciphertext; `sendImage` with the returned URI sends it as an encrypted `file`. */
  override async upload(data: Uint8Array, _contentType: string, filename: string): Promise<string> {
    const encrypted = await encryptAttachment(data);
    const { content_uri } = await this.e2ee.matrix.uploadContent(Buffer.from(encrypted.data), {
      type: 'application/octet-stream',
      name: filename,
      includeFilename: false,
    });
    this.#uploads.set(content_uri, encrypted.info);
    return content_uri;
  }

  override async sendImage(roomId: string, mxc: string, info: { mimetype: string; size: number }, body = 'photo.jpg'): Promise<string> {
    const key = this.#uploads.get(mxc);
    if (!key) return super.sendImage(roomId, mxc, info, body); // not ours: as a plain url (tests of odd input)
    return this.sendEvent(roomId, 'm.room.message', { msgtype: 'm.image', body, info, file: { ...key, url: mxc } });
  }

  /** matrix-js-sdk syncs by itself; this waits a little and refreshes `timeline` and `invites` from it. */
  override async sync(timeoutMs = 1_000): Promise<void> {
    await sleep(Math.min(Math.max(timeoutMs, 0), 200));
    this.refresh();
  }

  private refresh(): void {
    for (const room of this.e2ee.matrix.getRooms()) {
      const membership = this.e2ee.isJoined(room.roomId) ? 'join' : room.getMyMembership();
      if (membership === 'invite') {
        const invite = room.currentState.getStateEvents('m.room.member', this.userId);
        if (!this.timeline.has(room.roomId)) this.invites.set(room.roomId, invite?.getSender() ?? '');
      } else if (membership === 'join') {
        const events = room.getLiveTimeline().getEvents();
        this.timeline.set(room.roomId, events.map(toPlain));
      }
    }
  }
}

function toPlain(event: SdkEvent): MatrixEvent {
  const stateKey = event.getStateKey();
  return {
    event_id: event.getId() ?? '',
    type: event.getType(),
    sender: event.getSender() ?? '',
    origin_server_ts: event.getTs(),
    content: event.getContent(),
    ...(stateKey === undefined ? {} : { state_key: stateKey }),
  };
}
