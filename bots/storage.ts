import type { IFilterInfo, IStorageProvider } from 'matrix-bot-sdk';
import { readBotState, writeBotState } from '../db/bot-state.ts';
import type { Db } from '../db/database.ts';

/**
 * matrix-bot-sdk's storage in our database, so the /sync position survives
 * restarts and moves with the data. The SDK fires event handlers without
 * awaiting them (BRIEF §5); we hold the new sync token back until every handler
 * of the batch has finished. A crash mid-batch therefore replays the batch, and
 * the event-id claims turn the replay into a no-op: at-least-once delivery plus
 * idempotent handling gives exactly-once effects.
 */
export class DatabaseStorage implements IStorageProvider {
  readonly #db: Db;
  readonly #prefix: string;
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(db: Db, botUserId: string) {
    this.#db = db;
    this.#prefix = `${botUserId}:`;
  }

  /** Registers a running event handler; the next sync token waits for it. */
  track(work: Promise<unknown>): void {
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work)).catch(() => {});
  }

  async settle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  async setSyncToken(token: string | null): Promise<void> {
    await this.settle();
    await writeBotState(this.#db, `${this.#prefix}sync_token`, token);
  }

  getSyncToken(): Promise<string | null> {
    return readBotState(this.#db, `${this.#prefix}sync_token`);
  }

  async setFilter(filter: IFilterInfo): Promise<void> {
    await writeBotState(this.#db, `${this.#prefix}filter`, JSON.stringify(filter));
  }

  async getFilter(): Promise<IFilterInfo> {
    const raw = await readBotState(this.#db, `${this.#prefix}filter`);
    return raw ? (JSON.parse(raw) as IFilterInfo) : (undefined as unknown as IFilterInfo);
  }

  async storeValue(key: string, value: string): Promise<void> {
    await writeBotState(this.#db, `${this.#prefix}kv:${key}`, value);
  }

  readValue(key: string): Promise<string | null> {
    return readBotState(this.#db, `${this.#prefix}kv:${key}`);
  }
}
