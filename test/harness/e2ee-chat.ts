import type { ClearEvent, E2eeClient } from './e2ee-client.ts';

/**
 * The patient's view of an encrypted direct room with the bot (matrix-js-sdk
 * with Rust crypto): send a message, then wait for the next bot message that
 * matches. Messages already read are passed over.
 */
export class E2eeChat {
  readonly client: E2eeClient;
  readonly roomId: string;
  readonly botUserId: string;
  readonly #read = new Set<string>();

  constructor(client: E2eeClient, roomId: string, botUserId: string) {
    this.client = client;
    this.roomId = roomId;
    this.botUserId = botUserId;
  }

  botMessages(): ClearEvent[] {
    return this.client.events(this.roomId).filter((e) => e.sender === this.botUserId && e.type === 'm.room.message');
  }

  async expectBot(match: RegExp, timeoutMs = 30_000): Promise<ClearEvent> {
    const event = await this.client.waitForEvent(
      this.roomId,
      (e) => e.sender === this.botUserId && e.type === 'm.room.message' && !this.#read.has(e.eventId) && match.test(String(e.content['body'])),
      timeoutMs,
    );
    for (const e of this.botMessages()) {
      this.#read.add(e.eventId);
      if (e.eventId === event.eventId) break;
    }
    return event;
  }

  async say(text: string, expected: RegExp): Promise<ClearEvent> {
    await this.client.sendText(this.roomId, text);
    return this.expectBot(expected);
  }
}
