import { randomUUID } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import postgres from 'postgres';
import type { Db } from '../../db/database.ts';
import { answers, attachments, careTeams, checkins, enrollments, escalations, inboundEvents, outbox, patients, scheduledCheckins } from '../../db/schema.ts';

/** Starts a check-in in the database as the conversation service does (supersedes an open one). */
export function dbStartCheckin(db: Db, flowVersion = '1') {
  return async (patientId: string, flowId: string): Promise<string> => {
    const now = new Date();
    await db
      .update(checkins)
      .set({ status: 'superseded', endedAt: now, updatedAt: now })
      .where(and(eq(checkins.patientId, patientId), inArray(checkins.status, ['pending', 'active'])));
    const [row] = await db.insert(checkins).values({ patientId, flowId, flowVersion, status: 'pending' }).returning({ id: checkins.id });
    return row!.id;
  };
}

export interface SeededPatient {
  patientId: string;
  roomId: string;
  checkinId: string;
  alertId: string;
  careTeamId: string;
  enrollmentId: string;
  /** A free-text answer value unique to this patient. */
  answerText: string;
}

/**
 * Gives an existing patient a trail in every table that can hold patient data:
 * a room, an enrollment with a scheduled check-in, a check-in with answers, an
 * alert, a photo, queued messages and handled event ids — all dated `at`.
 */
export async function seedPatientData(db: Db, orgId: string, patientId: string, at = new Date()): Promise<SeededPatient> {
  const tag = randomUUID().slice(0, 8);
  const roomId = `!room${tag}:klinik.de`;
  const answerText = `Wundschmerz-${tag}`;
  await db.update(patients).set({ roomId, consent: 'given', consentAt: at, updatedAt: at, createdAt: at }).where(eq(patients.id, patientId));
  const [team] = await db
    .insert(careTeams)
    .values({ orgId, name: `Team ${tag}`, roomId: `!team${tag}:klinik.de` })
    .returning();
  const [enrollment] = await db
    .insert(enrollments)
    .values({ orgId, patientId, flowId: 'post-op', anchorDate: at.toISOString().slice(0, 10), careTeamId: team!.id, createdAt: at })
    .returning();
  const [checkin] = await db
    .insert(checkins)
    .values({
      patientId,
      enrollmentId: enrollment!.id,
      flowId: 'post-op',
      flowVersion: '1',
      status: 'active',
      state: { note: answerText },
      createdAt: at,
      startedAt: at,
      updatedAt: at,
    })
    .returning();
  await db
    .insert(scheduledCheckins)
    .values({ orgId, enrollmentId: enrollment!.id, day: 1, dueAt: at, status: 'started', checkinId: checkin!.id, startedAt: at });
  await db.insert(answers).values([
    { checkinId: checkin!.id, questionId: 'pain', value: 8, answeredAt: at, sourceEventId: `$pain${tag}` },
    { checkinId: checkin!.id, questionId: 'note', value: answerText, answeredAt: at, sourceEventId: `$note${tag}` },
  ]);
  const [alert] = await db
    .insert(escalations)
    .values({
      patientId,
      checkinId: checkin!.id,
      kind: 'rule',
      severity: 'urgent',
      ruleId: 'pain-high',
      details: { itemId: 'pain', values: [8], message: answerText },
      createdAt: at,
    })
    .returning();
  await db.insert(attachments).values({
    patientId,
    checkinId: checkin!.id,
    questionId: 'wound',
    mxcUrl: `mxc://klinik.de/${tag}`,
    contentType: 'image/png',
    size: 4,
    data: new Uint8Array([1, 2, 3, 4]),
    sourceEventId: `$photo${tag}`,
    createdAt: at,
  });
  await db
    .insert(outbox)
    .values({ roomId, txnId: `txn${tag}`, eventType: 'm.room.message', content: { msgtype: 'm.text', body: `Danke, notiert: ${answerText}` }, createdAt: at });
  await db.insert(inboundEvents).values({ eventId: `$in${tag}`, roomId, kind: 'text', receivedAt: at });
  return { patientId, roomId, checkinId: checkin!.id, alertId: alert!.id, careTeamId: team!.id, enrollmentId: enrollment!.id, answerText };
}

export interface Finding {
  table: string;
  column: string;
  needle: string;
}

/**
 * Reads every column of every table of the public schema (enumerated from
 * information_schema, so new tables are scanned too) and reports where any
 * needle occurs. `allow(table, column, needle)` exempts expected places.
 */
export async function scanAllTables(
  url: string,
  needles: string[],
  allow: (f: Finding) => boolean = () => false,
): Promise<{ tables: string[]; findings: Finding[] }> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const tables = (
      await sql<
        { table_name: string }[]
      >`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`
    ).map((t) => t.table_name);
    const findings: Finding[] = [];
    for (const table of tables) {
      const rows = await sql.unsafe<Array<{ j: Record<string, unknown> }>>(`select row_to_json(t) as j from "${table}" t`);
      for (const { j } of rows) {
        for (const [column, value] of Object.entries(j)) {
          const text = typeof value === 'string' ? value : JSON.stringify(value);
          // bytea comes back as hex (\x…): compare its decoded bytes too.
          const decoded = typeof value === 'string' && value.startsWith('\\x') ? Buffer.from(value.slice(2), 'hex').toString('utf8') : '';
          for (const needle of needles) {
            if (!text?.includes(needle) && !decoded.includes(needle)) continue;
            const finding = { table, column, needle };
            if (!allow(finding)) findings.push(finding);
          }
        }
      }
    }
    return { tables, findings };
  } finally {
    await sql.end({ timeout: 5 });
  }
}
