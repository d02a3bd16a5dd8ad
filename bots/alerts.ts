import { and, desc, eq, gt, inArray, isNull, ne, sql } from 'drizzle-orm';
import { withThresholds } from '../core/flow/thresholds.ts';
import type { HistoryPoint } from '../core/engine/types.ts';
import { alertNotice, renderAlert, renderReescalation, type AlertContent, type EscalationKind } from '../core/alerts/render.ts';
import { normalizeEmoji, normalizeWords } from '../core/engine/normalize.ts';
import type { Flow } from '../core/flow/model.ts';
import { isLanguage, type Language } from '../core/language.ts';
import { enqueue } from '../db/conversations.ts';
import { acknowledgeAlert, writeAlertFlag } from '../db/alerts.ts';
import type { Db } from '../db/database.ts';
import { claimInboundEvent } from '../db/inbound-events.ts';
import { alertSteps, answers, attachments, careTeamMembers, careTeams, checkins, clinicians, enrollments, escalations, outbox, patients } from '../db/schema.ts';
import { errorFields, type Logger } from '../server/logger.ts';

/**
 * Delivers escalation events to the responsible care team's Matrix room and
 * takes acknowledgements there. Exactly once across instances: escalations are
 * claimed with FOR UPDATE SKIP LOCKED and the alert goes through the outbox in
 * the same transaction. A repeat of an open alert within the window updates the
 * posted alert (an edit) instead of posting again (BRIEF §8, alert fatigue).
 */
const ACK_EMOJI: ReadonlySet<string> = new Set(['✅', '✔', '☑', '👍']);
const ACK_WORDS: ReadonlySet<string> = new Set(['ok', 'okay', 'ack', 'übernommen', 'uebernommen', 'ubernommen', 'erledigt', 'gesehen', 'taken', 'done', 'on it']);

export interface AlertDispatcher {
  runOnce(now?: Date): Promise<number>;
  kick(): void;
  stop(): Promise<void>;
  /** A care-team room event (reaction or reply); returns false when it is not about an alert. */
  onCareTeamEvent(roomId: string, event: { eventId: string; sender: string; type: string; content: Record<string, unknown> }): Promise<boolean>;
  isCareTeamRoom(roomId: string): Promise<boolean>;
}

export interface AlertOptions {
  db: Db;
  flows: ReadonlyMap<string, Flow>;
  logger: Logger;
  /** Read when an alert is rendered (the address may be known only after the server listens). */
  links: { readonly publicUrl: string };
  dedupeWindowMs?: number;
  pollMs?: number;
  onOutgoing: () => void;
}

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** The question's two values before this check-in, oldest first (numbers only). */
async function recentValues(tx: Tx, patientId: string, flowId: string, questionId: string, checkinId: string): Promise<HistoryPoint[]> {
  const rows = await tx
    .select({ value: answers.value, at: answers.answeredAt })
    .from(answers)
    .innerJoin(checkins, eq(checkins.id, answers.checkinId))
    .where(and(eq(checkins.patientId, patientId), eq(checkins.flowId, flowId), eq(answers.questionId, questionId), eq(answers.status, 'current'), ne(checkins.id, checkinId)))
    .orderBy(desc(answers.answeredAt))
    .limit(2);
  return rows
    .flatMap((r) => ((r.value as { type?: string; value?: unknown }).type === 'number' ? [{ value: (r.value as { value: number }).value, at: r.at.toISOString() }] : []))
    .reverse();
}

/** The escalation's care team: the one of the patient's newest active enrollment. */
async function teamOf(tx: Tx, patientId: string) {
  const [row] = await tx
    .select({ team: careTeams })
    .from(enrollments)
    .innerJoin(careTeams, eq(careTeams.id, enrollments.careTeamId))
    .where(and(eq(enrollments.patientId, patientId), eq(enrollments.status, 'active')))
    .orderBy(desc(enrollments.createdAt))
    .limit(1);
  if (!row) return undefined;
  const members = await tx
    .select({ userId: clinicians.matrixUserId, displayName: clinicians.displayName })
    .from(careTeamMembers)
    .innerJoin(clinicians, eq(clinicians.id, careTeamMembers.clinicianId))
    .where(eq(careTeamMembers.careTeamId, row.team.id));
  return { ...row.team, members };
}

export function createAlertDispatcher(options: AlertOptions): AlertDispatcher {
  const log = options.logger.child({ component: 'alerts' });
  const window = options.dedupeWindowMs ?? 6 * 3_600_000;
  let running = true;
  let wake: (() => void) | undefined;

  async function runOnce(now = new Date()): Promise<number> {
    const handled = await options.db.transaction(async (tx) => {
      const due = await tx
        .select()
        .from(escalations)
        .where(and(isNull(escalations.deliveredAt), isNull(escalations.deliveryNote)))
        .orderBy(escalations.createdAt)
        .limit(20)
        .for('update', { skipLocked: true });
      for (const e of due) {
        const [patient] = await tx.select().from(patients).where(eq(patients.id, e.patientId));
        const team = patient ? await teamOf(tx, patient.id) : undefined;
        if (!patient || !team?.roomId) {
          await tx.update(escalations).set({ deliveryNote: 'no_care_team' }).where(eq(escalations.id, e.id));
          log.warn('escalation without a care-team room', { escalationId: e.id });
          continue;
        }
        const [checkin] = e.checkinId ? await tx.select({ flowId: checkins.flowId }).from(checkins).where(eq(checkins.id, e.checkinId)) : [];
        const category = (e.details as { category?: string }).category ?? '';
        const [first] = await tx
          .select()
          .from(escalations)
          .where(
            and(
              eq(escalations.patientId, e.patientId),
              eq(escalations.kind, e.kind),
              sql`coalesce(${escalations.ruleId}, '') = ${e.ruleId ?? ''}`,
              sql`coalesce(${escalations.details}->>'category', '') = ${category}`,
              isNull(escalations.acknowledgedAt),
              isNull(escalations.dedupeOf),
              sql`${escalations.outboxId} is not null`,
              gt(escalations.createdAt, new Date(now.getTime() - window)),
            ),
          )
          .orderBy(desc(escalations.createdAt))
          .limit(1);
        const repeats = first ? (await tx.select({ n: sql<number>`count(*)::int` }).from(escalations).where(eq(escalations.dedupeOf, first.id)))[0]!.n : 0;
        const baseFlow = checkin ? options.flows.get(checkin.flowId) : undefined;
        // The team's own thresholds are the ones to show.
        const flow = baseFlow ? withThresholds(baseFlow, ((team.thresholds ?? {}) as Record<string, Record<string, number>>)[baseFlow.id] ?? {}) : undefined;
        const itemId = (e.details as { itemId?: unknown }).itemId;
        const content = renderAlert({
          kind: e.kind as EscalationKind,
          severity: e.severity,
          details: { ...(e.details as Record<string, unknown>), ruleId: e.ruleId },
          patient: { id: patient.id, displayName: patient.displayName },
          flow,
          ...(checkin && typeof itemId === 'string' ? { recent: await recentValues(tx, patient.id, checkin.flowId, itemId, e.checkinId!) } : {}),
          mentions: team.members,
          count: first ? repeats + 2 : 1,
          at: e.createdAt,
          recordUrl: `${options.links.publicUrl}/fhir/R4/Patient/${patient.id}/$everything`,
          language: isLanguage(team.language) ? team.language : ('de' as Language),
        });
        if (first?.outboxId) {
          const [posted] = await tx.select().from(outbox).where(eq(outbox.id, first.outboxId));
          if (posted?.status === 'pending') {
            await tx.update(outbox).set({ content }).where(eq(outbox.id, posted.id));
          } else if (posted?.sentEventId) {
            await enqueue(tx, team.roomId, [
              { content: { ...content, body: `* ${content.body}`, 'm.new_content': content, 'm.relates_to': { rel_type: 'm.replace', event_id: posted.sentEventId } } },
            ]);
          }
          await tx.update(escalations).set({ deliveredAt: now, dedupeOf: first.id, outboxId: first.outboxId }).where(eq(escalations.id, e.id));
          continue;
        }
        const [row] = await tx
          .insert(outbox)
          .values({ roomId: team.roomId, txnId: `visite-alert-${e.id}`, eventType: 'm.room.message', content })
          .returning({ id: outbox.id });
        await tx.update(escalations).set({ deliveredAt: now, outboxId: row!.id }).where(eq(escalations.id, e.id));
        await writeAlertFlag(tx, { ...e, deliveredAt: now, outboxId: row!.id });
      }
      return due.length;
    });
    const raised = await reescalate(now);
    const photos = await forwardPhotos(now);
    if (handled + raised + photos > 0) options.onOutgoing();
    return handled + raised + photos;
  }

  /**
   * A photo the patient sent in a check-in that raised an alert follows that
   * alert into the care-team room (as a reply to it), once. Photos of the last
   * day are considered; those of check-ins without alerts stay with the record.
   */
  async function forwardPhotos(now: Date): Promise<number> {
    return options.db.transaction(async (tx) => {
      const waiting = await tx
        .select()
        .from(attachments)
        .where(and(isNull(attachments.forwardedAt), sql`${attachments.checkinId} is not null`, gt(attachments.createdAt, new Date(now.getTime() - 86_400_000))))
        .limit(20)
        .for('update', { skipLocked: true });
      let forwarded = 0;
      for (const photo of waiting) {
        const [alert] = await tx
          .select({ roomId: outbox.roomId, sentEventId: outbox.sentEventId, patientId: escalations.patientId })
          .from(escalations)
          .innerJoin(outbox, eq(outbox.id, escalations.outboxId))
          .where(and(eq(escalations.checkinId, photo.checkinId!), isNull(escalations.dedupeOf)))
          .orderBy(escalations.createdAt)
          .limit(1);
        if (!alert) continue;
        await enqueue(tx, alert.roomId, [
          {
            content: {
              msgtype: 'm.image',
              body: `#${alert.patientId.slice(0, 8)}`,
              url: photo.mxcUrl,
              info: { mimetype: photo.contentType, size: photo.size },
              ...(alert.sentEventId ? { 'm.relates_to': { 'm.in_reply_to': { event_id: alert.sentEventId } } } : {}),
            },
          },
        ]);
        await tx.update(attachments).set({ forwardedAt: now }).where(eq(attachments.id, photo.id));
        forwarded += 1;
      }
      return forwarded;
    });
  }

  /**
   * Urgent alerts nobody took over climb the care team's chain: step k fires
   * `afterMinutes` after the alert, mentions the step's clinicians in the step's
   * room (or the team room), and is stored in alert_steps (once per step).
   */
  async function reescalate(now: Date): Promise<number> {
    return options.db.transaction(async (tx) => {
      const open = await tx
        .select()
        .from(escalations)
        .where(and(eq(escalations.severity, 'urgent'), isNull(escalations.acknowledgedAt), isNull(escalations.dedupeOf), sql`${escalations.outboxId} is not null`))
        .orderBy(escalations.createdAt)
        .limit(50)
        .for('update', { skipLocked: true });
      let raised = 0;
      for (const e of open) {
        const team = await teamOf(tx, e.patientId);
        const chain = (team?.escalationChain ?? []) as Array<{ afterMinutes: number; clinicianIds?: string[]; roomId?: string }>;
        const [{ done } = { done: 0 }] = await tx.select({ done: sql<number>`count(*)::int` }).from(alertSteps).where(eq(alertSteps.escalationId, e.id));
        const next = chain[done];
        if (!team?.roomId || !next || now.getTime() < e.createdAt.getTime() + next.afterMinutes * 60_000) continue;
        const [posted] = await tx.select().from(outbox).where(eq(outbox.id, e.outboxId!));
        if (!posted) continue;
        const mentions = next.clinicianIds?.length
          ? await tx
              .select({ userId: clinicians.matrixUserId, displayName: clinicians.displayName })
              .from(clinicians)
              .where(and(eq(clinicians.orgId, team.orgId), inArray(clinicians.id, next.clinicianIds)))
          : team.members;
        const language: Language = isLanguage(team.language) ? team.language : 'de';
        const content: Record<string, unknown> = renderReescalation(posted.content as AlertContent, next.afterMinutes, mentions, language);
        const roomId = next.roomId ?? team.roomId;
        if (roomId === posted.roomId && posted.sentEventId) content['m.relates_to'] = { 'm.in_reply_to': { event_id: posted.sentEventId } };
        const [row] = await tx.insert(outbox).values({ roomId, txnId: `visite-alert-${e.id}-step-${done + 1}`, eventType: 'm.room.message', content }).returning({ id: outbox.id });
        await tx.insert(alertSteps).values({ escalationId: e.id, step: done + 1, at: now, roomId, outboxId: row!.id });
        log.info('alert re-escalated', { escalationId: e.id, step: done + 1 });
        raised += 1;
      }
      return raised;
    });
  }

  const loop = (async () => {
    while (running) {
      let n = 0;
      try {
        n = await runOnce();
      } catch (error) {
        log.error('alert pass failed', errorFields(error));
      }
      if (n > 0) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.pollMs ?? 1_000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  })();

  /** The alert a reaction or reply in a care-team room points at. */
  function target(type: string, content: Record<string, unknown>): string | undefined {
    const relation = content['m.relates_to'] as { rel_type?: string; event_id?: string; key?: string; 'm.in_reply_to'?: { event_id?: string } } | undefined;
    if (type === 'm.reaction' && relation?.rel_type === 'm.annotation' && relation.key && ACK_EMOJI.has(normalizeEmoji(relation.key))) return relation.event_id;
    if (type === 'm.room.message' && relation?.['m.in_reply_to']?.event_id) {
      // Replies quote the original above the answer; the answer is the last line.
      const body = String(content['body'] ?? '').split('\n').filter((l) => !l.startsWith('>')).join(' ');
      const words = normalizeWords(body);
      if (ACK_WORDS.has(words) || body.trim().startsWith('!ack')) return relation['m.in_reply_to'].event_id;
    }
    return undefined;
  }

  return {
    runOnce,
    kick: () => wake?.(),
    async stop() {
      running = false;
      wake?.();
      await loop;
    },
    async isCareTeamRoom(roomId) {
      const [row] = await options.db.select({ id: careTeams.id }).from(careTeams).where(eq(careTeams.roomId, roomId)).limit(1);
      if (row) return true;
      // A fallback room of an escalation chain counts too.
      const [step] = await options.db.select({ id: alertSteps.id }).from(alertSteps).where(eq(alertSteps.roomId, roomId)).limit(1);
      return step !== undefined;
    },
    async onCareTeamEvent(roomId, event) {
      const alertEventId = target(event.type, event.content);
      if (!alertEventId) return false;
      const outcome = await options.db.transaction(async (tx) => {
        // The event is the alert itself or one of its re-escalations.
        const [message] = await tx.select({ id: outbox.id }).from(outbox).where(and(eq(outbox.sentEventId, alertEventId), eq(outbox.roomId, roomId))).limit(1);
        if (!message) return 'not-an-alert' as const;
        const [viaStep] = await tx.select({ escalationId: alertSteps.escalationId }).from(alertSteps).where(eq(alertSteps.outboxId, message.id));
        const [found] = await tx
          .select()
          .from(escalations)
          .where(and(viaStep ? eq(escalations.id, viaStep.escalationId) : eq(escalations.outboxId, message.id), isNull(escalations.dedupeOf)))
          .limit(1)
          .for('update');
        const team = found ? await teamOf(tx, found.patientId) : undefined;
        if (!found || !team) return 'not-an-alert' as const;
        const alert = { escalation: found, team };
        if (!(await claimInboundEvent(tx, { eventId: event.eventId, roomId, kind: 'alert-ack' }))) return 'duplicate' as const;
        const language: Language = isLanguage(alert.team.language) ? alert.team.language : 'de';
        // Team members may take over, and the people the chain called in.
        const [person] = await tx
          .select({ id: clinicians.id, displayName: clinicians.displayName })
          .from(clinicians)
          .where(and(eq(clinicians.orgId, alert.team.orgId), eq(clinicians.matrixUserId, event.sender)));
        const chain = (alert.team.escalationChain ?? []) as Array<{ clinicianIds?: string[] }>;
        const member =
          person && (alert.team.members.some((m) => m.userId === event.sender) || chain.some((s) => s.clinicianIds?.includes(person.id))) ? person : undefined;
        if (!member) {
          await enqueue(tx, roomId, [{ content: alertNotice(language, 'notMember') }]);
          return 'refused' as const;
        }
        if (alert.escalation.acknowledgedAt) {
          await enqueue(tx, roomId, [{ content: alertNotice(language, 'alreadyAcknowledged', { who: alert.escalation.acknowledgedBy ?? '' }) }]);
          return 'already' as const;
        }
        const now = new Date();
        await acknowledgeAlert(tx, alert.escalation.id, event.sender, now);
        const time = now.toLocaleTimeString(language === 'de' ? 'de-DE' : 'en-GB', { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Berlin' });
        await enqueue(tx, roomId, [{ content: alertNotice(language, 'acknowledged', { who: member.displayName, time }) }]);
        return 'acknowledged' as const;
      });
      if (outcome !== 'not-an-alert') {
        options.onOutgoing();
        log.info('care-team event on an alert', { roomId, eventId: event.eventId, outcome });
      }
      return outcome !== 'not-an-alert';
    },
  };
}

