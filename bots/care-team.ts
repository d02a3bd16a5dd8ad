import { and, desc, eq, isNull, like, or, sql } from 'drizzle-orm';
import { parseCareTeamCommand, type CareTeamCommand } from '../core/alerts/commands.ts';
import { formatAnswer, questionLabel } from '../core/engine/render.ts';
import type { ConversationState } from '../core/engine/types.ts';
import type { Flow } from '../core/flow/model.ts';
import { translator } from '../core/i18n.ts';
import { isLanguage, type Language } from '../core/language.ts';
import { enqueue } from '../db/conversations.ts';
import type { Db } from '../db/database.ts';
import { claimInboundEvent } from '../db/inbound-events.ts';
import { auditLog, careTeamMembers, careTeams, checkins, clinicians, enrollments, escalations, patients } from '../db/schema.ts';
import type { Logger } from '../server/logger.ts';

/**
 * Care-team commands in the team's Matrix room (see core/alerts/commands.ts).
 * Only members of that team may use them, and only on patients enrolled with
 * that team: anything else is "no such patient", whoever asks.
 */
export interface CareTeamCommands {
  /** Handles a `!command` message; false when the text is not one of ours. */
  handle(roomId: string, event: { eventId: string; sender: string; body: string }): Promise<boolean>;
}

export function createCareTeamCommands(options: {
  db: Db;
  flows: ReadonlyMap<string, Flow>;
  logger: Logger;
  startCheckin(patientId: string, flowId: string): Promise<unknown>;
  onOutgoing(): void;
}): CareTeamCommands {
  const { db } = options;
  const log = options.logger.child({ component: 'care-team-commands' });

  async function run(command: CareTeamCommand, roomId: string, sender: string): Promise<{ text: string; audit?: { action: string; patientId: string } } | null> {
    const [team] = await db.select().from(careTeams).where(eq(careTeams.roomId, roomId)).limit(1);
    if (!team) return null;
    const lang: Language = isLanguage(team.language) ? team.language : 'de';
    const t = (key: string, vars: Record<string, string> = {}) => translator(lang)(`commands.${key}`, { ns: 'alerts', ...vars });
    const [member] = await db
      .select({ id: clinicians.id })
      .from(careTeamMembers)
      .innerJoin(clinicians, eq(clinicians.id, careTeamMembers.clinicianId))
      .where(and(eq(careTeamMembers.careTeamId, team.id), eq(clinicians.matrixUserId, sender)));
    if (!member) return { text: t('notMember') };
    if (command.type === 'help') return { text: t('help') };
    if (command.type === 'invalid') return { text: t('usage', { usage: command.usage }) };

    const [found] = await db
      .select({ patient: patients, flowId: enrollments.flowId })
      .from(patients)
      .innerJoin(enrollments, and(eq(enrollments.patientId, patients.id), eq(enrollments.careTeamId, team.id)))
      .where(
        and(
          eq(patients.orgId, team.orgId),
          command.ref.startsWith('@') ? eq(patients.matrixUserId, command.ref) : like(sql`${patients.id}::text`, `${command.ref.toLowerCase()}%`),
        ),
      )
      .orderBy(desc(enrollments.createdAt))
      .limit(1);
    if (!found) return { text: t('unknownPatient') };
    const { patient } = found;
    const name = `${patient.displayName ?? '—'} (#${patient.id.slice(0, 8)})`;

    switch (command.type) {
      case 'patient': {
        const [last] = await db
          .select()
          .from(checkins)
          .where(and(eq(checkins.patientId, patient.id), eq(checkins.status, 'completed')))
          .orderBy(desc(checkins.endedAt))
          .limit(1);
        const flow = last ? options.flows.get(last.flowId) : undefined;
        const state = last?.state as ConversationState | undefined;
        const answers =
          flow && state
            ? flow.questions
                .filter((q) => state.outcomes[q.id] === 'answered' && state.answers[q.id])
                .map((q) => `${questionLabel(q, lang)} ${formatAnswer(q, state.answers[q.id]!.value, lang)}`)
                .join(', ')
            : '';
        const [{ open } = { open: 0 }] = await db
          .select({ open: sql<number>`count(*)::int` })
          .from(escalations)
          .where(and(eq(escalations.patientId, patient.id), isNull(escalations.acknowledgedAt), isNull(escalations.dedupeOf), or(eq(escalations.severity, 'urgent'), eq(escalations.severity, 'warning'))));
        const lines = [
          t('summary', { patient: name, state: t(`state.${patient.monitoring}`) }),
          last && answers ? t('lastCheckin', { date: (last.endedAt ?? last.updatedAt).toISOString().slice(0, 10), answers }) : t('noCheckin'),
          t('openAlerts', { count: String(open) }),
        ];
        return { text: lines.join('\n'), audit: { action: 'careteam.patient.read', patientId: patient.id } };
      }
      case 'checkin': {
        const flowId = command.flowId ?? found.flowId;
        if (!options.flows.has(flowId)) return { text: t('unknownFlow', { flow: flowId }) };
        await options.startCheckin(patient.id, flowId);
        return { text: t('started', { flow: flowId, patient: name }), audit: { action: 'careteam.checkin.start', patientId: patient.id } };
      }
      case 'pause':
      case 'resume': {
        if (patient.monitoring === 'stopped') return { text: t('cannotResume', { patient: name }) };
        await db
          .update(patients)
          .set({ monitoring: command.type === 'pause' ? 'paused' : 'active', updatedAt: new Date() })
          .where(eq(patients.id, patient.id));
        return { text: t(command.type === 'pause' ? 'paused' : 'resumed', { patient: name }), audit: { action: `careteam.monitoring.${command.type}`, patientId: patient.id } };
      }
    }
  }

  return {
    async handle(roomId, event) {
      const command = parseCareTeamCommand(event.body);
      if (!command) return false;
      if (!(await claimInboundEvent(db, { eventId: event.eventId, roomId, kind: 'careteam-command' }))) return true;
      const outcome = await run(command, roomId, event.sender);
      if (!outcome) return false;
      await db.transaction(async (tx) => {
        await enqueue(tx, roomId, [{ content: { msgtype: 'm.notice', body: outcome.text } }]);
        if (outcome.audit) {
          const [team] = await tx.select({ orgId: careTeams.orgId }).from(careTeams).where(eq(careTeams.roomId, roomId)).limit(1);
          await tx.insert(auditLog).values({ orgId: team?.orgId ?? null, actorType: 'matrix', actorId: event.sender, action: outcome.audit.action, resourceType: 'Patient', resourceId: outcome.audit.patientId, outcome: 'ok' });
        }
      });
      options.onOutgoing();
      log.info('care-team command', { roomId, eventId: event.eventId, command: command.type });
      return true;
    },
  };
}
