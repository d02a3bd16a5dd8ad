import { eq } from 'drizzle-orm';
import type { Db } from './database.ts';
import { organisations } from './schema.ts';

export type Organisation = typeof organisations.$inferSelect;

export async function createOrganisation(db: Db, values: { name: string; retentionDays?: number }): Promise<Organisation> {
  const [row] = await db.insert(organisations).values(values).returning();
  return row!;
}

export async function getOrganisation(db: Db, id: string): Promise<Organisation | undefined> {
  const [row] = await db.select().from(organisations).where(eq(organisations.id, id));
  return row;
}
