import type { MatrixEvent, TestClient } from './client.ts';

/**
 * The patient's view of a direct room with the bot: send a message, then wait
 * for the next bot message matching what a person would expect to read.
 */
export class PatientChat {
  readonly client: TestClient;
  readonly roomId: string;
  readonly botUserId: string;
  /** Bot messages already consumed by `expectBot`. */
  #seen = 0;

  constructor(client: TestClient, roomId: string, botUserId: string) {
    this.client = client;
    this.roomId = roomId;
    this.botUserId = botUserId;
  }

  botMessages(): MatrixEvent[] {
    return (this.client.timeline.get(this.roomId) ?? []).filter((e) => e.sender === this.botUserId && e.type === 'm.room.message');
  }

  /** The next unread bot message whose body matches; earlier non-matching ones are passed over. */
  async expectBot(match: RegExp, timeoutMs = 20_000): Promise<MatrixEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const messages = this.botMessages();
      const index = messages.findIndex((e, i) => i >= this.#seen && match.test(String(e.content['body'])));
      if (index >= 0) {
        this.#seen = index + 1;
        return messages[index]!;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        const unread = messages.slice(this.#seen).map((e) => String(e.content['body']).slice(0, 120));
        throw new Error(`no bot message matching ${match} within ${timeoutMs} ms; unread: ${JSON.stringify(unread)}`);
      }
      await this.client.sync(Math.min(left, 2_000));
    }
  }

  async say(text: string, expected: RegExp): Promise<MatrixEvent> {
    await this.client.sendText(this.roomId, text);
    return this.expectBot(expected);
  }

  /** Waits a moment and returns bot messages that arrived after everything consumed so far. */
  async unreadAfter(ms: number): Promise<MatrixEvent[]> {
    await new Promise((r) => setTimeout(r, ms));
    await this.client.sync(0);
    return this.botMessages().slice(this.#seen);
  }
}
