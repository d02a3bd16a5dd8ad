import { randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, useBackend } from '../harness/backends.ts';
import { createWake } from '../../services/signal.ts';
import { openTestCatalog } from '../harness/catalog.ts';
import { createConversations, type Conversations } from '../../services/conversations.ts';
import { vocabulary } from '../../core/conversation/vocabulary.ts';
import { createOrganisation } from '../../db/organisations.ts';
import { answers, checkins, escalations, patients } from '../../db/schema.ts';

/**
 * The conversation service loads the patient's history for trend rules from
 * Postgres: current answers of earlier, ended check-ins of the same patient and
 * flow. Days are controlled through the service's `now` parameters.
 */
let conversations: Conversations;
let orgId: string;
const DAY = 86_400_000;
const DAY1 = new Date('2026-02-02T08:00:00Z');
const at = (day: number, minute = 0) => new Date(DAY1.getTime() + (day - 1) * DAY + minute * 60_000);

describe.each(BACKENDS)('trend history, on %s', (kind) => {
  const backend = useBackend(kind);

  beforeAll(async () => {
    conversations = createConversations({ db: backend.db, flows: await openTestCatalog(backend.db), vocabulary: vocabulary(), wake: createWake() });
    orgId = (await createOrganisation(backend.db, { name: 'Klinik Trend-Historie' })).id;
  });

  async function patient(): Promise<{ id: string; roomId: string; sender: string }> {
    const tag = randomBytes(4).toString('hex');
    const [row] = await backend.db
      .insert(patients)
      .values({ orgId, matrixUserId: `@trend-${tag}:localhost`, language: 'de', roomId: `!trend-${tag}:localhost`, consent: 'given' })
      .returning();
    return { id: row!.id, roomId: row!.roomId!, sender: row!.matrixUserId };
  }

  /** One check-in on `day`: each message a minute after the one before. */
  async function checkin(p: { id: string; roomId: string; sender: string }, day: number, messages: string[]): Promise<string> {
    const { checkinId } = await conversations.startCheckin(p.id, 'post-op', at(day));
    for (const [i, text] of messages.entries()) {
      await conversations.handle(
        { eventId: `$${randomBytes(8).toString('hex')}`, roomId: p.roomId, sender: p.sender, input: { type: 'text', text } },
        at(day, i + 1),
      );
    }
    return checkinId;
  }

  const rest = ['1', 'nein', 'wie gewohnt', 'ja', 'nein'];
  const rulesOf = async (patientId: string) =>
    (
      await backend.db.select({ ruleId: escalations.ruleId, details: escalations.details }).from(escalations).where(eq(escalations.patientId, patientId))
    ).filter((e) => e.ruleId);

  describe('history for trend rules', () => {
    it('uses current answers of earlier check-ins of the same patient, ignores withdrawn ones and other patients', async () => {
      const erika = await patient();
      const other = await patient();
      // Day 1: 38,2 °C. Day 2: 37,0 °C, withdrawn with "zurück" and then skipped.
      await checkin(erika, 1, ['2', '38,2', ...rest]);
      const day2 = await checkin(erika, 2, ['2', '37,0', 'zurück', 'überspringen', ...rest]);
      const [withdrawn] = await backend.db
        .select()
        .from(answers)
        .where(and(eq(answers.checkinId, day2), eq(answers.questionId, 'temperature')));
      expect(withdrawn).toMatchObject({ status: 'retracted' });
      // Another patient's fever does not count for a first check-in.
      await checkin(other, 3, ['2', '38,1', ...rest]);
      expect(await rulesOf(other.id)).toEqual([]);

      // Day 3: 38,1 °C — with the withdrawn 37,0 ignored, the check-in before had 38,2.
      const day3 = await checkin(erika, 3, ['2', '38,1']);
      const fired = await rulesOf(erika.id);
      expect(fired.map((e) => e.ruleId)).toEqual(['fever-persisting']);
      expect((fired[0]!.details as { trend: Record<string, { value: number; at: string }[]> }).trend).toEqual({
        temperature: [
          { value: 38.2, at: at(1, 2).toISOString() },
          { value: 38.1, at: at(3, 2).toISOString() },
        ],
      });
      const [open] = await backend.db.select({ status: checkins.status }).from(checkins).where(eq(checkins.id, day3));
      expect(open?.status).toBe('active');
    });

    it('counts a superseded check-in, but not the open one itself, and pain rising over three', async () => {
      const hans = await patient();
      await checkin(hans, 1, ['2', '36,8', ...rest]);
      // Day 2: superseded after the first answers by a new check-in the same day.
      await checkin(hans, 2, ['3']);
      const day2b = await checkin(hans, 2, ['3', '37,0', ...rest]);
      const [superseded] = await backend.db
        .select({ status: checkins.status })
        .from(checkins)
        .where(and(eq(checkins.patientId, hans.id), eq(checkins.status, 'superseded')));
      expect(superseded).toBeDefined();
      expect(day2b).toBeDefined();
      // Values 2 (day 1), 3 (day 2, superseded), 3 (day 2) → day 3: 5 is not strictly rising over the last three.
      await checkin(hans, 3, ['5', '36,9', ...rest]);
      expect(await rulesOf(hans.id)).toEqual([]);
      // Day 5: 3 (day 2), 5 (day 3), 6 (today) → rising to ≥ 4.
      await checkin(hans, 5, ['6']);
      expect((await rulesOf(hans.id)).map((e) => e.ruleId)).toEqual(['pain-rising']);
    });
  });
});
