import { beginCheckin, turn, welcome, type CheckinView, type PatientInput, type PatientView, type TurnResult } from '../core/conversation/turn.ts';
import type { Vocabulary } from '../core/conversation/vocabulary.ts';
import { HISTORY_LIMIT, historyFromRows, trendConditions, trendQuestionIds } from '../core/engine/history.ts';
import type { ConversationState, History } from '../core/engine/types.ts';
import { patientResource } from '../core/fhir/patient.ts';
import { checkinRecords } from '../core/fhir/records.ts';
import type { Flow } from '../core/flow/model.ts';
import { translator } from '../core/i18n.ts';
import { isLanguage, isRightToLeft } from '../core/language.ts';
import {
  applyTurn,
  earlierAnswers,
  enrollmentTeamThresholds,
  isPatientRoom,
  lockPatientById,
  lockPatientByRoom,
  openCheckin,
  type CheckinRow,
  type PatientRow,
  type StoredFile,
} from '../db/conversations.ts';
import type { Db, Tx } from '../db/database.ts';
import { storeRecords, storeResource } from '../db/fhir.ts';
import { claimInboundEvent } from '../db/inbound-events.ts';
import { enqueue } from '../db/outbox.ts';
import { startableFlow, withTeamThresholds, type FlowCatalog } from './flows.ts';
import type { Wake } from './signal.ts';

/**
 * The conversation service: a patient's event (already translated from Matrix
 * by bots/) → the pure policy `turn()` → everything it decided, written in one
 * transaction together with the event-id claim. If any step fails, nothing of
 * the turn is stored and the event stays unclaimed, so its redelivery gets a
 * second chance. Replies go to the outbox as data.
 */
export interface PatientEvent {
  eventId: string;
  roomId: string;
  sender: string;
  input: PatientInput;
  file?: StoredFile;
  /** The event this one edits (an edit of the message that carried the last answer corrects it). */
  editOf?: string;
}

export type HandleOutcome = 'handled' | 'duplicate' | 'not-a-patient-room';

export interface Conversations {
  /** Handles one patient event. */
  handle(event: PatientEvent, now?: Date): Promise<HandleOutcome>;
  /** Starts a check-in of `flowId` for the patient (supersedes an open one). */
  startCheckin(patientId: string, flowId: string, now?: Date): Promise<{ checkinId: string; status: string }>;
  /**
   * The same inside the caller's transaction (the scheduler claims its row and
   * starts the check-in atomically). The caller wakes the outbox after its commit.
   * `version`: an enrollment's pinned flow version (used while it is published).
   */
  startCheckinInTx(tx: Tx, patientId: string, flowId: string, now: Date, options?: { enrollmentId?: string; version?: string | null }): Promise<{ checkinId: string; status: string }>;
  isPatientRoom(roomId: string, sender: string): Promise<boolean>;
  /** A patient message that could not be decrypted: ask them, once, to send it again. */
  askToResend(event: { eventId: string; roomId: string; sender: string }): Promise<HandleOutcome>;
  /** A message that arrived unencrypted in the patient's encrypted room: not processed, and the patient is told so, once. */
  refusePlaintext(event: { eventId: string; roomId: string; sender: string }): Promise<HandleOutcome>;
  /** Introduces the bot to a patient who has not been asked for consent yet (no-op otherwise). */
  welcome(patientId: string, now?: Date): Promise<void>;
}

export class UnknownFlowError extends Error {
  override name = 'UnknownFlowError';
}

export interface ConversationOptions {
  db: Db;
  flows: FlowCatalog;
  vocabulary: Vocabulary;
  wake: Wake;
  /** Test hook: runs inside the turn's transaction after the event was claimed (a crash there must lose nothing). */
  afterClaim?: (eventId: string) => void | Promise<void>;
}

function patientView(row: PatientRow): PatientView {
  return { language: isLanguage(row.language) ? row.language : 'de', consent: row.consent, monitoring: row.monitoring };
}

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

export function createConversations(options: ConversationOptions): Conversations {
  const { db, flows, vocabulary, wake } = options;

  /** The open check-in as the policy sees it: its flow version with the care team's thresholds, and history where a trend rule needs it. */
  async function checkinView(tx: Tx, patient: PatientRow, row: CheckinRow | undefined): Promise<CheckinView | null> {
    if (!row || (row.status !== 'pending' && row.status !== 'active')) return null;
    // The version the check-in started on, to its end: a newer published version does not change it.
    const started = await flows.find(patient.orgId, row.flowId, { version: row.flowVersion, versionId: row.flowVersionId }, tx);
    if (!started) return null;
    const flow = row.enrollmentId ? withTeamThresholds(started, await enrollmentTeamThresholds(tx, row.enrollmentId)) : started;
    const view: CheckinView = { flow, status: row.status, state: (row.state as CheckinView['state']) ?? null };
    if (view.status === 'active' && view.state && needsHistory(flow, view.state)) {
      const history = await loadHistory(tx, patient.id, flow, row.id);
      if (history) view.history = history;
    }
    return view;
  }

  async function loadHistory(tx: Tx, patientId: string, flow: Flow, currentCheckinId: string): Promise<History | undefined> {
    const questionIds = trendQuestionIds(flow);
    if (questionIds.length === 0) return undefined;
    return historyFromRows(await earlierAnswers(tx, { patientId, flowId: flow.id, questionIds, excludeCheckinId: currentCheckinId, perQuestion: HISTORY_LIMIT }));
  }

  /** Stores what a turn decided, and the clinical record of every turn that changed answers or ended the check-in. */
  async function apply(tx: Tx, patient: PatientRow, checkin: { row: CheckinRow; flow: Flow } | undefined, result: TurnResult, sourceEventId: string | null, now: Date, file?: StoredFile) {
    await applyTurn(tx, { patient, checkin: checkin?.row, result, sourceEventId, now, ...(file ? { file } : {}) });
    const state = result.checkin?.state;
    const changed = result.answers.length > 0 || result.events.some((e) => e.type === 'engine' && (e.event.type === 'retracted' || e.event.type === 'completed'));
    if (checkin && state && changed) {
      const ids = { patientId: patient.id, checkinId: checkin.row.id };
      await storeRecords(tx, { orgId: patient.orgId, ...ids }, checkinRecords(checkin.flow, state, ids));
      if (result.answers.length > 0 && state.path.length <= 1) {
        // The patient's first record of this check-in: keep their Patient resource next to it.
        await storeResource(tx, { orgId: patient.orgId, patientId: patient.id, checkinId: null }, patientResource(patient), null);
      }
    }
  }

  async function startCheckinInTx(tx: Tx, patientId: string, flowId: string, now: Date, startOptions: { enrollmentId?: string; version?: string | null } = {}) {
    const patient = await lockPatientById(tx, patientId);
    if (!patient) throw new Error(`no patient ${patientId}`);
    const flow = await startableFlow(flows, patient.orgId, flowId, startOptions.version, tx);
    if (!flow) throw new UnknownFlowError(`no published flow with id "${flowId}"`);
    const row = await openCheckin(tx, { patientId, enrollmentId: startOptions.enrollmentId ?? null, flowId: flow.id, flowVersion: flow.version, flowVersionId: flow.catalog.versionId, now });
    const result = beginCheckin(patientView(patient), { flow, status: 'pending', state: null }, now);
    await apply(tx, patient, { row, flow }, result, null, now);
    return { checkinId: row.id, status: result.checkin?.status ?? 'pending' };
  }

  /** A message the conversation does not take: claimed, and answered once with a notice in the patient's language. */
  async function tellPatient(event: { eventId: string; roomId: string; sender: string }, kind: string, key: string): Promise<HandleOutcome> {
    const outcome = await db.transaction(async (tx): Promise<HandleOutcome> => {
      const locked = await lockPatientByRoom(tx, event.roomId, event.sender);
      if (!locked) return 'not-a-patient-room';
      if (!(await claimInboundEvent(tx, { eventId: event.eventId, roomId: event.roomId, kind }))) return 'duplicate';
      const language = isLanguage(locked.patient.language) ? locked.patient.language : 'de';
      const message = { kind: 'notice' as const, text: translator(language)(key), lang: language, rtl: isRightToLeft(language) };
      await enqueue(tx, event.roomId, [{ type: 'bot', message }]);
      return 'handled';
    });
    if (outcome === 'handled') wake.outgoing.notify();
    return outcome;
  }

  return {
    isPatientRoom: (roomId, sender) => isPatientRoom(db, roomId, sender),

    async handle(event, now = new Date()) {
      const outcome = await db.transaction(async (tx): Promise<HandleOutcome> => {
        const locked = await lockPatientByRoom(tx, event.roomId, event.sender);
        if (!locked) return 'not-a-patient-room';
        if (!(await claimInboundEvent(tx, { eventId: event.eventId, roomId: event.roomId, kind: event.input.type }))) return 'duplicate';
        await options.afterClaim?.(event.eventId);
        const { patient, checkin } = locked;
        const view = await checkinView(tx, patient, checkin);
        const input: PatientInput =
          event.input.type === 'text' && event.editOf && event.editOf === checkin?.lastAnswerEventId ? { type: 'correction', text: event.input.text } : event.input;
        const result = turn(patientView(patient), view, input, vocabulary, now);
        const file = event.file && result.attachment === 'answer' && view?.state?.current ? { ...event.file, questionId: view.state.current } : event.file;
        await apply(tx, patient, view && checkin ? { row: checkin, flow: view.flow } : undefined, result, event.eventId, now, file);
        return 'handled';
      });
      if (outcome === 'handled') {
        wake.outgoing.notify();
        wake.escalations.notify();
      }
      return outcome;
    },

    askToResend: (event) => tellPatient(event, 'undecryptable', 'crypto.resend'),
    refusePlaintext: (event) => tellPatient(event, 'plaintext-refused', 'crypto.plaintext'),

    async welcome(patientId, now = new Date()) {
      await db.transaction(async (tx) => {
        const patient = await lockPatientById(tx, patientId);
        if (!patient) return;
        await apply(tx, patient, undefined, welcome(patientView(patient), now), null, now);
      });
      wake.outgoing.notify();
    },

    async startCheckin(patientId, flowId, now = new Date()) {
      const started = await db.transaction((tx) => startCheckinInTx(tx, patientId, flowId, now));
      wake.outgoing.notify();
      return started;
    },

    startCheckinInTx: (tx, patientId, flowId, now, startOptions) => startCheckinInTx(tx, patientId, flowId, now, startOptions),
  };
}
