import { randomUUID } from 'node:crypto';
import {
  beginCheckin,
  continueInChat,
  turn,
  welcome,
  type CheckinView,
  type PatientInput,
  type PatientView,
  type TurnResult,
} from '../core/conversation/turn.ts';
import type { Vocabulary } from '../core/conversation/vocabulary.ts';
import { HISTORY_LIMIT, historyFromRows, trendConditions, trendQuestionIds } from '../core/engine/history.ts';
import type { ConversationState, History } from '../core/engine/types.ts';
import { summaryMessage } from '../core/engine/render.ts';
import { FORM_DATA, FORM_DEFINITION, type MdrRelevance, type StructureInfo } from '../core/fhir/isik.ts';
import { patientResource } from '../core/fhir/patient.ts';
import { checkinRecords } from '../core/fhir/records.ts';
import type { Flow } from '../core/flow/model.ts';
import { localize } from '../core/flow/text.ts';
import { translator } from '../core/i18n.ts';
import { isLanguage, isRightToLeft, type Language } from '../core/language.ts';
import type { StatusMessage } from '../core/outgoing.ts';
import { readFormResponse } from '../core/tim/answers.ts';
import { formFallbackText, formQuestionnaire, hasFormQuestions, questionNames } from '../core/tim/form.ts';
import {
  applyTurn,
  checkinById,
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
import { teamOfPatient } from '../db/care-teams.ts';
import type { Db, Tx } from '../db/database.ts';
import { storeRecords, storeResource } from '../db/fhir.ts';
import {
  closeFormDelivery,
  createFormDelivery,
  dueFormFallbacks,
  formDeliveryById,
  formDeliveryOfCheckin,
  formDeliveryOfEvent,
  lockOpenFormDelivery,
  markFormSent,
  type FormDelivery,
} from '../db/forms.ts';
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

/**
 * A `de.gematik.fhir` event from the patient (docs/tim.md), read by bots/:
 * what it says it carries and the resource (inline, or downloaded and
 * decrypted), or why the resource could not be read. `respond`: whether the
 * sender may get a processing status (a request addressed to us and not
 * expired, or none at all).
 */
export interface PatientFhirEvent {
  eventId: string;
  roomId: string;
  sender: string;
  structure: StructureInfo;
  resource?: unknown;
  unreadable?: string;
  respond: boolean;
}

/** A processing status the patient's client sent about one of our events (`de.gematik.response.status`). */
export interface PatientStatusEvent {
  eventId: string;
  roomId: string;
  sender: string;
  relatesTo: string;
  status: 'success' | 'error';
}

/** Forms (TI-M structured data): on or off, how long the chat waits for one, and the MDR relevance the operator declares. */
export interface FormSettings {
  enabled: boolean;
  waitMs: number;
  mdr: MdrRelevance;
}

export type FallbackReason = 'not-capable' | 'refused' | 'timeout';

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
  startCheckinInTx(
    tx: Tx,
    patientId: string,
    flowId: string,
    now: Date,
    options?: { enrollmentId?: string; version?: string | null },
  ): Promise<{ checkinId: string; status: string }>;
  isPatientRoom(roomId: string, sender: string): Promise<boolean>;
  /** A patient message that could not be decrypted: ask them, once, to send it again. */
  askToResend(event: { eventId: string; roomId: string; sender: string }): Promise<HandleOutcome>;
  /** A message that arrived unencrypted in the patient's encrypted room: not processed, and the patient is told so, once. */
  refusePlaintext(event: { eventId: string; roomId: string; sender: string }): Promise<HandleOutcome>;
  /** Introduces the bot to a patient who has not been asked for consent yet (no-op otherwise). */
  welcome(patientId: string, now?: Date): Promise<void>;
  /** A filled-in form (or another FHIR resource) from the patient: taken like chat answers, answered with a processing status. */
  handleFhir(event: PatientFhirEvent, now?: Date): Promise<HandleOutcome>;
  /** The patient's client reports how it processed our form: an error lets the chat take over. */
  handleStatus(event: PatientStatusEvent, now?: Date): Promise<HandleOutcome>;
  /** Inside the outbox sender's transaction: the form went out (`sent`) or is not to be sent (`skip`), or no device of the patient can show it (the chat takes over). */
  formSent(tx: Tx, deliveryId: string, eventId: string, now: Date): Promise<void>;
  formStillWanted(tx: Tx, deliveryId: string): Promise<boolean>;
  fallBackToChat(tx: Tx, deliveryId: string, reason: FallbackReason, now: Date): Promise<boolean>;
  /** Forms nobody answered in time: the chat takes over (scheduler). Returns how many. */
  fallBackDue(now: Date, limit?: number): Promise<number>;
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
  /** Forms for patients whose TI-M client can show them (docs/tim.md); off when absent. */
  forms?: FormSettings;
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
  const forms: FormSettings = options.forms ?? { enabled: false, waitMs: 0, mdr: 'none' };

  /** The open check-in as the policy sees it: its flow version with the care team's thresholds, and history where a trend rule needs it. */
  async function checkinView(tx: Tx, patient: PatientRow, row: CheckinRow | undefined): Promise<CheckinView | null> {
    if (!row || (row.status !== 'pending' && row.status !== 'active')) return null;
    // The version the check-in started on, to its end: a newer published version does not change it.
    const started = await flows.find(patient.orgId, row.flowId, { version: row.flowVersion, versionId: row.flowVersionId }, tx);
    if (!started) return null;
    const flow = row.enrollmentId ? withTeamThresholds(started, await enrollmentTeamThresholds(tx, row.enrollmentId)) : started;
    const view: CheckinView = { flow, status: row.status, state: (row.state as CheckinView['state']) ?? null };
    // A form needs the patient's room to go to (otherwise the chat asks, once there is one).
    if (forms.enabled && patient.roomId && hasFormQuestions(flow)) view.offerForm = true;
    if (view.status === 'active' && view.state && needsHistory(flow, view.state)) {
      const history = await loadHistory(tx, patient.id, flow, row.id);
      if (history) view.history = history;
    }
    return view;
  }

  async function loadHistory(tx: Tx, patientId: string, flow: Flow, currentCheckinId: string): Promise<History | undefined> {
    const questionIds = trendQuestionIds(flow);
    if (questionIds.length === 0) return undefined;
    return historyFromRows(
      await earlierAnswers(tx, { patientId, flowId: flow.id, questionIds, excludeCheckinId: currentCheckinId, perQuestion: HISTORY_LIMIT }),
    );
  }

  /** Stores what a turn decided, and the clinical record of every turn that changed answers or ended the check-in. */
  async function apply(
    tx: Tx,
    patient: PatientRow,
    checkin: { row: CheckinRow; flow: Flow } | undefined,
    result: TurnResult,
    sourceEventId: string | null,
    now: Date,
    file?: StoredFile,
  ) {
    await applyTurn(tx, { patient, checkin: checkin?.row, result, sourceEventId, now, ...(file ? { file } : {}) });
    const state = result.checkin?.state;
    const completed = result.events.some((e) => e.type === 'engine' && e.event.type === 'completed');
    const changed = result.answers.length > 0 || completed || result.events.some((e) => e.type === 'engine' && e.event.type === 'retracted');
    if (checkin && state && changed) {
      const ids = { patientId: patient.id, checkinId: checkin.row.id };
      const records = checkinRecords(checkin.flow, state, ids, { mdr: forms.mdr, validate: 'completed' });
      await storeRecords(tx, { orgId: patient.orgId, ...ids }, records);
      if (result.answers.length > 0 && state.path.length <= 1) {
        // The patient's first record of this check-in: keep their Patient resource next to it.
        await storeResource(tx, { orgId: patient.orgId, patientId: patient.id, checkinId: null }, patientResource(patient), null);
      }
      if (completed) await postToTeam(tx, patient, checkin.flow, state, records.find((r) => r.resourceType === 'QuestionnaireResponse')?.resource);
    }
    if (checkin && result.formOffered && patient.roomId) await offerForm(tx, patient, checkin, now);
    // The patient went on in the chat while the form was out: it no longer waits for the form.
    const before = checkin?.row.state as { awaitingForm?: boolean } | null | undefined;
    if (checkin && before?.awaitingForm && !state?.awaitingForm && !result.form) {
      const delivery = await formDeliveryOfCheckin(tx, checkin.row.id);
      if (delivery) await closeFormDelivery(tx, delivery.id, 'chat', null, now);
    }
  }

  /** The check-in's questions as a form (ISiKFormularDefinition), queued after the turn's replies; the outbox decides at sending whether a device of the patient can show it. */
  async function offerForm(tx: Tx, patient: PatientRow, checkin: { row: CheckinRow; flow: Flow }, now: Date): Promise<void> {
    const lang: Language = isLanguage(patient.language) ? patient.language : 'de';
    const questionnaire = formQuestionnaire(checkin.flow, lang, { mdr: forms.mdr });
    const deliveryId = randomUUID();
    const [outboxId] = await enqueue(tx, patient.roomId!, [
      {
        type: 'fhir',
        structure: FORM_DEFINITION,
        resource: JSON.stringify(questionnaire),
        fileName: `${checkin.flow.id}-${checkin.flow.version}.json`,
        text: formFallbackText(checkin.flow, lang),
        statusLifetimeMs: forms.waitMs,
        form: { deliveryId, recipient: patient.matrixUserId },
      },
    ]);
    // Until it is sent the wait has not begun; a form stuck that long (homeserver down) is given up too.
    await createFormDelivery(tx, {
      id: deliveryId,
      checkinId: checkin.row.id,
      patientId: patient.id,
      roomId: patient.roomId!,
      outboxId: outboxId!,
      fallbackAt: new Date(now.getTime() + 2 * forms.waitMs),
    });
  }

  /** A completed check-in as a `de.gematik.fhir` QuestionnaireResponse in the care team's room, where the team wants it. */
  async function postToTeam(tx: Tx, patient: PatientRow, flow: Flow, state: NonNullable<TurnResult['checkin']>['state'], qr: unknown): Promise<void> {
    if (!qr || !state) return;
    const team = await teamOfPatient(tx, patient.id);
    if (!team?.roomId || !team.postFhirResponses) return;
    const lang: Language = isLanguage(team.language) ? team.language : 'de';
    const head = translator(lang)('checkinCompleted', {
      ns: 'alerts',
      title: localize(flow.title, lang),
      patient: `${patient.displayName ?? '—'} (#${patient.id.slice(0, 8)})`,
    });
    const lines = (summaryMessage(flow, state, lang)?.text ?? '').split('\n').slice(1);
    await enqueue(tx, team.roomId, [
      { type: 'fhir', structure: FORM_DATA, resource: JSON.stringify(qr), fileName: `${flow.id}-response.json`, text: [head, ...lines].join('\n') },
    ]);
  }

  const patientLanguage = (patient: PatientRow): Language => (isLanguage(patient.language) ? patient.language : 'de');

  /** The processing status for a patient's event, in their language, plus the technical messages (rules) for their client. */
  function statusFor(patient: PatientRow, relatesTo: string, status: 'success' | 'error', key: string, vars: Record<string, string>, details: StatusMessage[]) {
    const text = translator(patientLanguage(patient))(`form.status.${key}`, vars);
    return {
      type: 'status' as const,
      relatesTo,
      status,
      messages: [{ type: status === 'success' ? ('info' as const) : ('error' as const), text }, ...details],
    };
  }

  async function fallBack(tx: Tx, delivery: FormDelivery, reason: FallbackReason | 'invalid', now: Date): Promise<boolean> {
    const patient = await lockPatientById(tx, delivery.patientId);
    // Closed first, so the turn below (which starts the chat) is not taken for the patient going on in the chat.
    const closed = await closeFormDelivery(tx, delivery.id, 'fallback', reason, now);
    const row = await checkinById(tx, delivery.checkinId);
    if (!patient || !row || !closed) return closed;
    const view = await checkinView(tx, patient, row);
    if (view) await apply(tx, patient, { row, flow: view.flow }, continueInChat(patientView(patient), view, reason, now), null, now);
    return true;
  }

  async function startCheckinInTx(tx: Tx, patientId: string, flowId: string, now: Date, startOptions: { enrollmentId?: string; version?: string | null } = {}) {
    const patient = await lockPatientById(tx, patientId);
    if (!patient) throw new Error(`no patient ${patientId}`);
    const flow = await startableFlow(flows, patient.orgId, flowId, startOptions.version, tx);
    if (!flow) throw new UnknownFlowError(`no published flow with id "${flowId}"`);
    const row = await openCheckin(tx, {
      patientId,
      enrollmentId: startOptions.enrollmentId ?? null,
      flowId: flow.id,
      flowVersion: flow.version,
      flowVersionId: flow.catalog.versionId,
      now,
    });
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
          event.input.type === 'text' && event.editOf && event.editOf === checkin?.lastAnswerEventId
            ? { type: 'correction', text: event.input.text }
            : event.input;
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

    async handleFhir(event, now = new Date()) {
      const outcome = await db.transaction(async (tx): Promise<HandleOutcome> => {
        const locked = await lockPatientByRoom(tx, event.roomId, event.sender);
        if (!locked) return 'not-a-patient-room';
        if (!(await claimInboundEvent(tx, { eventId: event.eventId, roomId: event.roomId, kind: 'fhir' }))) return 'duplicate';
        await options.afterClaim?.(event.eventId);
        const { patient, checkin } = locked;
        const reply = (status: 'success' | 'error', key: string, vars: Record<string, string> = {}, details: StatusMessage[] = []) =>
          event.respond ? enqueue(tx, event.roomId, [statusFor(patient, event.eventId, status, key, vars, details)]) : Promise.resolve([]);
        const notice = (key: string) => {
          const lang = patientLanguage(patient);
          return enqueue(tx, event.roomId, [{ type: 'bot', message: { kind: 'notice', text: translator(lang)(key), lang, rtl: isRightToLeft(lang) } }]);
        };
        const view = await checkinView(tx, patient, checkin);
        if (!view || !checkin || view.status !== 'active' || patient.consent !== 'given' || patient.monitoring === 'stopped') {
          await reply('error', 'closed');
          await notice('form.noCheckin');
          return 'handled';
        }
        const delivery = await formDeliveryOfCheckin(tx, checkin.id);
        const reading =
          event.resource === undefined
            ? ({ ok: false, problems: [{ rule: 'fhir.json de.gematik.fhir.file', message: event.unreadable ?? 'the resource could not be read' }] } as const)
            : readFormResponse(view.flow, event.resource, {
                structure: event.structure,
                patientId: patient.id,
                matrixUserId: event.sender,
                notBefore: checkin.createdAt,
              });
        if (!reading.ok) {
          await reply(
            'error',
            'refused',
            {},
            reading.problems.map((p) => ({ type: 'error', text: `${p.rule}: ${p.message}` })),
          );
          if (delivery) await closeFormDelivery(tx, delivery.id, 'fallback', 'invalid', now);
          await apply(tx, patient, { row: checkin, flow: view.flow }, continueInChat(patientView(patient), view, 'invalid', now), event.eventId, now);
          return 'handled';
        }
        const result = turn(patientView(patient), view, { type: 'form', answers: reading.answers, unreadable: reading.unreadable }, vocabulary, now);
        const taken = result.form?.outcome === 'taken';
        const rejected = result.form?.rejected ?? [];
        const missing = result.form?.missing ?? [];
        const details: StatusMessage[] = reading.problems.map((p) => ({ type: 'warning', text: `${p.linkId ? `${p.linkId}: ` : ''}${p.rule}: ${p.message}` }));
        details.push(...rejected.map((r) => ({ type: 'warning' as const, text: `${r.questionId}: ${r.reason}` })));
        details.push(...missing.map((id) => ({ type: 'warning' as const, text: `${id}: required, not answered` })));
        // success: everything the form could carry was taken (a photo question the form enabled is asked in the chat).
        const open = [...rejected.map((r) => r.questionId), ...missing];
        if (!taken) await reply('error', 'closed');
        else if (open.length > 0) await reply('error', 'partly', { items: questionNames(view.flow, open, patientLanguage(patient)) }, details);
        else await reply('success', 'stored', {}, details);
        if (delivery) await closeFormDelivery(tx, delivery.id, 'answered', null, now);
        await apply(tx, patient, { row: checkin, flow: view.flow }, result, event.eventId, now);
        return 'handled';
      });
      if (outcome === 'handled') {
        wake.outgoing.notify();
        wake.escalations.notify();
      }
      return outcome;
    },

    async handleStatus(event, now = new Date()) {
      const outcome = await db.transaction(async (tx): Promise<HandleOutcome> => {
        const locked = await lockPatientByRoom(tx, event.roomId, event.sender);
        if (!locked) return 'not-a-patient-room';
        if (!(await claimInboundEvent(tx, { eventId: event.eventId, roomId: event.roomId, kind: 'status' }))) return 'duplicate';
        const delivery = await formDeliveryOfEvent(tx, event.roomId, event.relatesTo);
        // success: the client shows the form; the chat keeps waiting for the answer.
        if (delivery && event.status === 'error' && (delivery.status === 'pending' || delivery.status === 'sent')) await fallBack(tx, delivery, 'refused', now);
        return 'handled';
      });
      if (outcome === 'handled') wake.outgoing.notify();
      return outcome;
    },

    async formSent(tx, deliveryId, eventId, now) {
      await markFormSent(tx, deliveryId, eventId, now, forms.waitMs);
    },

    async formStillWanted(tx, deliveryId) {
      const delivery = await formDeliveryById(tx, deliveryId);
      return delivery?.status === 'pending';
    },

    async fallBackToChat(tx, deliveryId, reason, now) {
      const delivery = await formDeliveryById(tx, deliveryId);
      if (!delivery || (delivery.status !== 'pending' && delivery.status !== 'sent')) return false;
      return fallBack(tx, delivery, reason, now);
    },

    async fallBackDue(now = new Date(), limit = 50) {
      let done = 0;
      for (const candidate of await dueFormFallbacks(db, now, limit)) {
        // The patient first, then the form: the order every other transaction takes them in.
        const fell = await db.transaction(async (tx) => {
          if (!(await lockPatientById(tx, candidate.patientId))) return false;
          const delivery = await lockOpenFormDelivery(tx, candidate.id, now);
          return delivery ? fallBack(tx, delivery, 'timeout', now) : false;
        });
        if (fell) done += 1;
      }
      if (done > 0) wake.outgoing.notify();
      return done;
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
