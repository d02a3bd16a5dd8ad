import { and, desc, eq, inArray, lte, ne, sql } from 'drizzle-orm';
import { HISTORY_LIMIT, historyFromRows, trendConditions, trendQuestionIds } from '../core/engine/history.ts';
import type { History } from '../core/engine/types.ts';
import { beginCheckin, turn, welcome, type CheckinView, type PatientInput, type PatientView, type TurnResult } from '../core/conversation/turn.ts';
import type { Vocabulary } from '../core/conversation/vocabulary.ts';
import type { Flow } from '../core/flow/model.ts';
import type { ConversationState } from '../core/engine/types.ts';
import { isLanguage, isRightToLeft } from '../core/language.ts';
import type { Db } from '../db/database.ts';
import { applyTurn, enqueue, lockPatientById, lockPatientByRoom, type CheckinRow, type PatientRow, type StoredFile, type Tx } from '../db/conversations.ts';
import { claimInboundEvent } from '../db/inbound-events.ts';
import { answers, careTeams, checkins, enrollments, patients } from '../db/schema.ts';
import { withThresholds } from '../core/flow/thresholds.ts';
import { renderMessage } from './render.ts';
import { translator } from '../core/i18n.ts';
import { checkinRecords } from '../core/fhir/records.ts';
import { storeRecords, storeResource } from '../db/fhir.ts';
import { patientResource } from '../core/fhir/patient.ts';

/**
 * The conversation service: loads what a turn needs, runs the pure policy, and
 * writes the outcome in one transaction together with the event-id claim. If
 * any step fails, nothing of the turn is stored and the event stays unclaimed,
 * so its redelivery gets a second chance.
 */
export interface Conversations {
  /** Handles one patient event. Returns false when it was not for us or already handled. */
  handle(event: { eventId: string; roomId: string; sender: string; input: PatientInput; file?: StoredFile; editOf?: string }, now?: Date): Promise<HandleOutcome>;
  /** Starts a check-in of `flowId` for the patient (supersedes an open one). */
  startCheckin(patientId: string, flowId: string, now?: Date): Promise<{ checkinId: string; status: string }>;
  /**
   * The same inside the caller's transaction (the scheduler claims its row and
   * starts the check-in atomically). Call `outgoingQueued()` after the commit.
   */
  startCheckinInTx(tx: Tx, patientId: string, flowId: string, now: Date, options?: { enrollmentId?: string }): Promise<{ checkinId: string; status: string }>;
  /** Tells the outbox sender that committed messages are waiting. */
  outgoingQueued(): void;
  isPatientRoom(roomId: string, sender: string): Promise<boolean>;
  /** A patient message that could not be decrypted: ask them, once, to send it again. */
  askToResend(event: { eventId: string; roomId: string; sender: string }): Promise<HandleOutcome>;
  /** Introduces the bot to a patient who has not been asked for consent yet (no-op otherwise). */
  welcome(patientId: string, now?: Date): Promise<void>;
}

export type HandleOutcome = 'handled' | 'duplicate' | 'not-a-patient-room';

export class UnknownFlowError extends Error {
  override name = 'UnknownFlowError';
}

function patientView(row: PatientRow): PatientView {
  return { language: isLanguage(row.language) ? row.language : 'de', consent: row.consent, monitoring: row.monitoring };
}

function checkinView(row: CheckinRow | undefined, flows: ReadonlyMap<string, Flow>): CheckinView | null {
  if (!row || (row.status !== 'pending' && row.status !== 'active')) return null;
  const flow = flows.get(row.flowId);
  if (!flow) return null;
  return { flow, status: row.status, state: (row.state as CheckinView['state']) ?? null };
}

/** Check-ins whose answers count as the patient's history for trend rules: finished ones, not open or cancelled. */
const HISTORY_STATUSES = ['completed', 'expired', 'superseded'] as const;

/**
 * The patient's earlier values of the questions the flow's trend rules look at:
 * current answers of earlier check-ins of the same flow, newest first, at most
 * HISTORY_LIMIT per question. One small query, and only for flows with trend rules.
 */
/**
 * Whether this turn can evaluate a trend rule: one on the open question or on
 * the last answered one (a correction re-evaluates it), or a flow-level one
 * (it may complete now). Other turns skip the history query.
 */
function needsHistory(flow: Flow, state: ConversationState): boolean {
  if ([...flow.escalations, ...flow.computed.flatMap((c) => c.escalations)].some((r) => trendConditions(r.when).length > 0)) return true;
  const last = state.path[state.path.length - 1];
  return [state.current, last].some((id) => {
    const q = id ? flow.questions.find((x) => x.id === id) : undefined;
    return q?.escalations.some((r) => trendConditions(r.when).length > 0) ?? false;
  });
}

async function loadHistory(tx: Tx, patientId: string, flow: Flow, currentCheckinId: string): Promise<History | undefined> {
  const ids = trendQuestionIds(flow);
  if (ids.length === 0) return undefined;
  const ranked = tx
    .select({
      questionId: answers.questionId,
      value: answers.value,
      at: answers.answeredAt,
      n: sql<number>`row_number() over (partition by ${answers.questionId} order by ${answers.answeredAt} desc)`.as('n'),
    })
    .from(answers)
    .innerJoin(checkins, eq(checkins.id, answers.checkinId))
    .where(
      and(
        eq(checkins.patientId, patientId),
        eq(checkins.flowId, flow.id),
        ne(checkins.id, currentCheckinId),
        inArray(checkins.status, [...HISTORY_STATUSES]),
        eq(answers.status, 'current'),
        inArray(answers.questionId, [...ids]),
      ),
    )
    .as('ranked');
  const rows = await tx.select({ questionId: ranked.questionId, value: ranked.value, at: ranked.at }).from(ranked).where(lte(ranked.n, HISTORY_LIMIT)).orderBy(desc(ranked.at));
  return historyFromRows(rows);
}

export function createConversations(options: { db: Db; flows: ReadonlyMap<string, Flow>; vocabulary: Vocabulary; onOutgoing: () => void }): Conversations {
  const { db, flows, vocabulary } = options;

  const tuned = new Map<string, Flow>();

  /** The flow with the thresholds of the care team the check-in's enrollment belongs to. */
  async function teamFlow(tx: Tx, flow: Flow, enrollmentId: string): Promise<Flow> {
    const [row] = await tx
      .select({ thresholds: careTeams.thresholds })
      .from(enrollments)
      .innerJoin(careTeams, eq(careTeams.id, enrollments.careTeamId))
      .where(eq(enrollments.id, enrollmentId));
    const overrides = (row?.thresholds as Record<string, Record<string, number>> | undefined)?.[flow.id];
    if (!overrides || Object.keys(overrides).length === 0) return flow;
    const key = `${flow.id}@${flow.version}:${JSON.stringify(overrides)}`;
    let result = tuned.get(key);
    if (!result) {
      result = withThresholds(flow, overrides);
      if (tuned.size > 500) tuned.clear();
      tuned.set(key, result);
    }
    return result;
  }

  async function apply(tx: Tx, patient: PatientRow, checkin: CheckinRow | undefined, result: TurnResult, sourceEventId: string | null, now: Date, file?: StoredFile) {
    await applyTurn(tx, {
      patient,
      checkin,
      result,
      sourceEventId,
      now,
      outgoing: result.replies.map((reply) => ({ content: renderMessage(reply) })),
      ...(file ? { file } : {}),
    });
    // The clinical record follows every turn that changed answers or ended the check-in.
    const state = result.checkin?.state;
    const flow = checkin ? flows.get(checkin.flowId) : undefined;
    const changed = result.answers.length > 0 || result.events.some((e) => e.type === 'engine' && (e.event.type === 'retracted' || e.event.type === 'completed'));
    if (checkin && state && flow && changed) {
      await storeRecords(tx, { orgId: patient.orgId, patientId: patient.id, checkinId: checkin.id }, checkinRecords(flow, state, { patientId: patient.id, checkinId: checkin.id }));
      if (result.answers.length > 0 && state.path.length <= 1) {
        // The patient's first record of this check-in: keep their Patient resource next to it.
        await storeResource(tx, { orgId: patient.orgId, patientId: patient.id, checkinId: null }, patientResource(patient), null);
      }
    }
  }

  async function startCheckinInTx(tx: Tx, patientId: string, flowId: string, now: Date, startOptions: { enrollmentId?: string } = {}) {
    const flow = flows.get(flowId);
    if (!flow) throw new UnknownFlowError(`no deployed flow with id "${flowId}"`);
    const patient = await lockPatientById(tx, patientId);
    if (!patient) throw new Error(`no patient ${patientId}`);
    // One open check-in per patient: a new one supersedes the old (its answers stay stored).
    await tx
      .update(checkins)
      .set({ status: 'superseded', endedAt: now, updatedAt: now })
      .where(and(eq(checkins.patientId, patientId), inArray(checkins.status, ['pending', 'active'])));
    const [row] = await tx
      .insert(checkins)
      .values({ patientId, enrollmentId: startOptions.enrollmentId ?? null, flowId: flow.id, flowVersion: flow.version, status: 'pending' })
      .returning();
    const checkin = row!;
    const result = beginCheckin(patientView(patient), { flow, status: 'pending', state: null }, now);
    await apply(tx, patient, checkin, result, null, now);
    return { checkinId: checkin.id, status: result.checkin?.status ?? 'pending' };
  }

  return {
    async isPatientRoom(roomId, sender) {
      const [row] = await db
        .select({ id: patients.id })
        .from(patients)
        .where(and(eq(patients.roomId, roomId), eq(patients.matrixUserId, sender)));
      return row !== undefined;
    },

    async handle(event, now = new Date()) {
      const outcome = await db.transaction(async (tx): Promise<HandleOutcome> => {
        const locked = await lockPatientByRoom(tx, event.roomId, event.sender);
        if (!locked) return 'not-a-patient-room';
        if (!(await claimInboundEvent(tx, { eventId: event.eventId, roomId: event.roomId, kind: event.input.type }))) return 'duplicate';
        const { patient, checkin } = locked;
        const view = checkinView(checkin, flows);
        if (view && checkin?.enrollmentId) view.flow = await teamFlow(tx, view.flow, checkin.enrollmentId);
        if (view && checkin && view.status === 'active' && view.state && needsHistory(view.flow, view.state)) {
          const history = await loadHistory(tx, patient.id, view.flow, checkin.id);
          if (history) view.history = history;
        }
        // An edit of the message that carried the last answer corrects that answer; other edits are new text.
        const input: PatientInput =
          event.input.type === 'text' && event.editOf && event.editOf === checkin?.lastAnswerEventId ? { type: 'correction', text: event.input.text } : event.input;
        const result = turn(patientView(patient), view, input, vocabulary, now);
        const file = event.file && result.attachment === 'answer' && view?.state?.current ? { ...event.file, questionId: view.state.current } : event.file;
        await apply(tx, patient, view ? checkin : undefined, result, event.eventId, now, file);
        return 'handled';
      });
      if (outcome === 'handled') options.onOutgoing();
      return outcome;
    },

    async askToResend(event) {
      const outcome = await db.transaction(async (tx): Promise<HandleOutcome> => {
        const locked = await lockPatientByRoom(tx, event.roomId, event.sender);
        if (!locked) return 'not-a-patient-room';
        if (!(await claimInboundEvent(tx, { eventId: event.eventId, roomId: event.roomId, kind: 'undecryptable' }))) return 'duplicate';
        const language = isLanguage(locked.patient.language) ? locked.patient.language : 'de';
        const reply = { kind: 'notice' as const, text: translator(language)('crypto.resend'), lang: language, rtl: isRightToLeft(language) };
        await enqueue(tx, event.roomId, [{ content: renderMessage(reply) }]);
        return 'handled';
      });
      if (outcome === 'handled') options.onOutgoing();
      return outcome;
    },

    async welcome(patientId, now = new Date()) {
      await db.transaction(async (tx) => {
        const patient = await lockPatientById(tx, patientId);
        if (!patient) return;
        await apply(tx, patient, undefined, welcome(patientView(patient), now), null, now);
      });
      options.onOutgoing();
    },

    async startCheckin(patientId, flowId, now = new Date()) {
      if (!flows.has(flowId)) throw new UnknownFlowError(`no deployed flow with id "${flowId}"`);
      const started = await db.transaction((tx) => startCheckinInTx(tx, patientId, flowId, now));
      options.onOutgoing();
      return started;
    },

    startCheckinInTx: (tx, patientId, flowId, now, startOptions) => startCheckinInTx(tx, patientId, flowId, now, startOptions),

    outgoingQueued: () => options.onOutgoing(),
  };
}
