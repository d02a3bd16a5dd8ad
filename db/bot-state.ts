import { eq } from 'drizzle-orm';
import type { Db } from './database.ts';
import { botState } from './schema.ts';

export async function readBotState(db: Db, key: string): Promise<string | null> {
  const [row] = await db.select({ value: botState.value }).from(botState).where(eq(botState.key, key));
  return row?.value ?? null;
}

export async function writeBotState(db: Db, key: string, value: string | null): Promise<void> {
  if (value === null) {
    await db.delete(botState).where(eq(botState.key, key));
    return;
  }
  await db
    .insert(botState)
    .values({ key, value })
    .onConflictDoUpdate({ target: botState.key, set: { value, updatedAt: new Date() } });
}
