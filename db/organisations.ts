import type { Db } from './database.ts';
import { organisations } from './schema.ts';

export type Organisation = typeof organisations.$inferSelect;

export async function createOrganisation(db: Db, values: { name: string; retentionDays?: number }): Promise<Organisation> {
  const [row] = await db.insert(organisations).values(values).returning();
  return row!;
}
