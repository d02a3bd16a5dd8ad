/**
 * An independent Matrix client over the raw client-server API (v1.11), used to
 * play patients and clinicians in tests and in the demo. It shares no code with
 * the bot on purpose: a bug in the bot's Matrix layer cannot hide itself here.
 */
import { randomUUID } from 'node:crypto';

export interface MatrixEvent {
  event_id: string;
  type: string;
  sender: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  state_key?: string;
}

export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: number;
  readonly errcode: string | undefined;
  constructor(status: number, errcode: string | undefined, message: string) {
    super(message);
    this.status = status;
    this.errcode = errcode;
  }
}

export class TestClient {
  private since: string | undefined;
  /** Timeline events seen by `sync`, per room, in arrival order. */
  readonly timeline = new Map<string, MatrixEvent[]>();
  /** Read receipts seen by `sync`: room → event id → users who read up to it. */
  readonly receipts = new Map<string, Map<string, Set<string>>>();
  /** Rooms we are invited to, with the inviter. */
  readonly invites = new Map<string, string>();

  readonly baseUrl: string;
  readonly userId: string;
  readonly #accessToken: string;

  constructor(baseUrl: string, userId: string, accessToken: string) {
    this.baseUrl = baseUrl;
    this.userId = userId;
    this.#accessToken = accessToken;
  }

  async request<T = Record<string, unknown>>(method: string, path: string, body?: unknown, query: Record<string, string> = {}): Promise<T> {
    const url = new URL(`/_matrix/client/v3${path}`, this.baseUrl);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${this.#accessToken}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) throw new HttpError(res.status, json['errcode'] as string | undefined, `${method} ${path}: HTTP ${res.status} ${String(json['error'] ?? '')}`);
    return json as T;
  }

  /** A direct room with one invitee, as Element creates it. */
  async createDirectRoom(invitee: string, extra: Record<string, unknown> = {}): Promise<string> {
    const { room_id } = await this.request<{ room_id: string }>('POST', '/createRoom', {
      preset: 'trusted_private_chat',
      is_direct: true,
      invite: [invitee],
      ...extra,
    });
    return room_id;
  }

  async sendText(roomId: string, body: string, msgtype = 'm.text'): Promise<string> {
    const { event_id } = await this.request<{ event_id: string }>('PUT', `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${randomUUID()}`, {
      msgtype,
      body,
    });
    return event_id;
  }

  async joinRoom(roomId: string): Promise<void> {
    await this.request('POST', `/join/${encodeURIComponent(roomId)}`, {});
  }

  /** Waits for an invite from `inviter` and accepts it; returns the room id. */
  async acceptInviteFrom(inviter: string, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = [...this.invites].find(([, from]) => from === inviter);
      if (found) {
        await this.joinRoom(found[0]);
        this.invites.delete(found[0]);
        return found[0];
      }
      if (Date.now() > deadline) throw new Error(`no invite from ${inviter} within ${timeoutMs} ms`);
      await this.sync(1_000);
    }
  }

  async sendEvent(roomId: string, type: string, content: Record<string, unknown>): Promise<string> {
    const { event_id } = await this.request<{ event_id: string }>(
      'PUT',
      `/rooms/${encodeURIComponent(roomId)}/send/${encodeURIComponent(type)}/${randomUUID()}`,
      content,
    );
    return event_id;
  }

  /** An edit (m.replace) of one of our messages, as Element sends it. */
  async editText(roomId: string, eventId: string, body: string): Promise<string> {
    return this.sendEvent(roomId, 'm.room.message', {
      msgtype: 'm.text',
      body: `* ${body}`,
      'm.new_content': { msgtype: 'm.text', body },
      'm.relates_to': { rel_type: 'm.replace', event_id: eventId },
    });
  }

  async react(roomId: string, eventId: string, key: string): Promise<string> {
    return this.sendEvent(roomId, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: eventId, key } });
  }

  /** Uploads bytes to the media repository; returns the mxc:// URI. */
  async upload(data: Uint8Array, contentType: string, filename: string): Promise<string> {
    const url = new URL('/_matrix/media/v3/upload', this.baseUrl);
    url.searchParams.set('filename', filename);
    const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${this.#accessToken}`, 'content-type': contentType }, body: data });
    const json = (await res.json()) as { content_uri?: string };
    if (!res.ok || !json.content_uri) throw new HttpError(res.status, undefined, `upload: HTTP ${res.status}`);
    return json.content_uri;
  }

  async sendImage(roomId: string, mxc: string, info: { mimetype: string; size: number }, body = 'photo.jpg'): Promise<string> {
    return this.sendEvent(roomId, 'm.room.message', { msgtype: 'm.image', body, url: mxc, info });
  }

  async joinedMembers(roomId: string): Promise<string[]> {
    const { joined } = await this.request<{ joined: Record<string, unknown> }>('GET', `/rooms/${encodeURIComponent(roomId)}/joined_members`);
    return Object.keys(joined);
  }

  /** One /sync round; records new timeline events per room. */
  async sync(timeoutMs = 1_000): Promise<void> {
    const query: Record<string, string> = { timeout: String(timeoutMs) };
    if (this.since) query['since'] = this.since;
    const res = await this.request<{
      next_batch: string;
      rooms?: {
        join?: Record<
          string,
          {
            timeline?: { events?: MatrixEvent[] };
            ephemeral?: { events?: Array<{ type: string; content: Record<string, Record<string, Record<string, unknown>>> }> };
          }
        >;
        invite?: Record<string, { invite_state?: { events?: Array<{ type: string; sender: string; state_key?: string }> } }>;
      };
    }>('GET', '/sync', undefined, query);
    this.since = res.next_batch;
    for (const [roomId, room] of Object.entries(res.rooms?.invite ?? {})) {
      const member = room.invite_state?.events?.find((e) => e.type === 'm.room.member' && e.state_key === this.userId);
      this.invites.set(roomId, member?.sender ?? '');
    }
    for (const [roomId, room] of Object.entries(res.rooms?.join ?? {})) {
      for (const receipt of room.ephemeral?.events ?? []) {
        if (receipt.type !== 'm.receipt') continue;
        const byEvent = this.receipts.get(roomId) ?? new Map<string, Set<string>>();
        for (const [eventId, kinds] of Object.entries(receipt.content)) {
          for (const userId of Object.keys(kinds['m.read'] ?? {})) byEvent.set(eventId, (byEvent.get(eventId) ?? new Set()).add(userId));
        }
        this.receipts.set(roomId, byEvent);
      }
      const list = this.timeline.get(roomId) ?? [];
      list.push(...(room.timeline?.events ?? []));
      this.timeline.set(roomId, list);
    }
  }

  /** Syncs until an event in `roomId` satisfies `predicate`, or fails after `timeoutMs`. */
  async waitForEvent(roomId: string, predicate: (event: MatrixEvent) => boolean, timeoutMs = 20_000): Promise<MatrixEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.timeline.get(roomId)?.find(predicate);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching event in ${roomId} within ${timeoutMs} ms`);
      await this.sync(Math.min(left, 5_000));
    }
  }

  /** Waits until `userId` has joined `roomId`. */
  async waitForJoin(roomId: string, userId: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.joinedMembers(roomId)).includes(userId)) {
      if (Date.now() > deadline) throw new Error(`${userId} did not join ${roomId} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
