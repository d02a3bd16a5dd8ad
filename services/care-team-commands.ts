import { parseCareTeamCommand, type CareTeamCommand } from '../core/alerts/commands.ts';
import { formatAnswer, questionLabel } from '../core/engine/render.ts';
import type { ConversationState } from '../core/engine/types.ts';
import { translator } from '../core/i18n.ts';
import { isLanguage, type Language } from '../core/language.ts';
import { auditMatrixAction, lastCompletedCheckin, openAlertCount, setMonitoring, teamPatientByRef } from '../db/care-team-commands.ts';
import { isTeamMember, teamOfRoom, type CareTeamRow } from '../db/care-teams.ts';
import type { Db, Tx } from '../db/database.ts';
import { claimInboundEvent } from '../db/inbound-events.ts';
import { enqueue } from '../db/outbox.ts';
import type { Logger } from '../core/logging.ts';
import type { Conversations } from './conversations.ts';
import type { FlowCatalog } from './flows.ts';
import type { PatientRooms } from './patient-rooms.ts';
import type { Wake } from './signal.ts';

/**
 * Care-team commands in the team's room (see core/alerts/commands.ts). Only
 * members of that team may use them, and only on patients enrolled with that
 * team: anything else is "no such patient", whoever asks. The event-id claim,
 * the command's effect, its answer and its audit entry are one transaction.
 */
export interface CareTeamCommands {
  /** Handles a `!command` message; false when the text is not one of ours. */
  handle(roomId: string, event: { eventId: string; sender: string; body: string }, now?: Date): Promise<boolean>;
}

export interface CareTeamCommandOptions {
  db: Db;
  flows: FlowCatalog;
  conversations: Conversations;
  rooms: PatientRooms;
  logger: Logger;
  wake: Wake;
  /** Test hook: runs inside the transaction after the event was claimed (a crash there must lose nothing). */
  afterClaim?: (eventId: string) => void | Promise<void>;
}

type Outcome = { text: string; audit?: { action: string; patientId: string } };

export function createCareTeamCommands(options: CareTeamCommandOptions): CareTeamCommands {
  const { db, flows, conversations } = options;
  const log = options.logger.child({ component: 'care-team-commands' });

  async function run(tx: Tx, command: CareTeamCommand, team: CareTeamRow, sender: string, now: Date): Promise<Outcome> {
    const lang: Language = isLanguage(team.language) ? team.language : 'de';
    const t = (key: string, vars: Record<string, string> = {}) => translator(lang)(`commands.${key}`, { ns: 'alerts', ...vars });
    if (!(await isTeamMember(tx, team.id, sender))) return { text: t('notMember') };
    if (command.type === 'help') return { text: t('help') };
    if (command.type === 'invalid') return { text: t('usage', { usage: command.usage }) };
    const found = await teamPatientByRef(tx, team, command.ref);
    if (!found) return { text: t('unknownPatient') };
    const { patient } = found;
    const name = `${patient.displayName ?? '—'} (#${patient.id.slice(0, 8)})`;
    switch (command.type) {
      case 'patient': {
        const last = await lastCompletedCheckin(tx, patient.id);
        const flow = last ? await flows.find(team.orgId, last.flowId, { version: last.flowVersion, versionId: last.flowVersionId }, tx) : undefined;
        const state = last?.state as ConversationState | undefined;
        const answers =
          flow && state
            ? flow.questions
                .filter((q) => state.outcomes[q.id] === 'answered' && state.answers[q.id])
                .map((q) => `${questionLabel(q, lang)} ${formatAnswer(q, state.answers[q.id]!.value, lang)}`)
                .join(', ')
            : '';
        const lines = [
          t('summary', { patient: name, state: t(`state.${patient.monitoring}`) }),
          last && answers ? t('lastCheckin', { date: (last.endedAt ?? last.updatedAt).toISOString().slice(0, 10), answers }) : t('noCheckin'),
          t('openAlerts', { count: String(await openAlertCount(tx, patient.id)) }),
        ];
        return { text: lines.join('\n'), audit: { action: 'careteam.patient.read', patientId: patient.id } };
      }
      case 'checkin': {
        const flowId = command.flowId ?? found.flowId;
        if (!(await flows.find(team.orgId, flowId, undefined, tx))) return { text: t('unknownFlow', { flow: flowId }) };
        await conversations.startCheckinInTx(tx, patient.id, flowId, now);
        return { text: t('started', { flow: flowId, patient: name }), audit: { action: 'careteam.checkin.start', patientId: patient.id } };
      }
      case 'pause':
      case 'resume': {
        if (patient.monitoring === 'stopped') return { text: t('cannotResume', { patient: name }) };
        await setMonitoring(tx, patient.id, command.type === 'pause' ? 'paused' : 'active', now);
        return {
          text: t(command.type === 'pause' ? 'paused' : 'resumed', { patient: name }),
          audit: { action: `careteam.monitoring.${command.type}`, patientId: patient.id },
        };
      }
    }
  }

  /** A check-in needs the patient's room: opened (Matrix I/O, idempotent) before the transaction. */
  async function prepare(command: CareTeamCommand, team: CareTeamRow): Promise<void> {
    if (command.type !== 'checkin') return;
    const found = await teamPatientByRef(db, team, command.ref);
    if (found && !found.patient.roomId) await options.rooms.ensure(found.patient.id);
  }

  return {
    async handle(roomId, event, now = new Date()) {
      const command = parseCareTeamCommand(event.body);
      if (!command) return false;
      const team = await teamOfRoom(db, roomId);
      if (!team) return false;
      await prepare(command, team).catch((error: unknown) => log.warn('could not open the patient room', { roomId, error: (error as Error).name }));
      const handled = await db.transaction(async (tx) => {
        if (!(await claimInboundEvent(tx, { eventId: event.eventId, roomId, kind: 'careteam-command' }))) return false;
        await options.afterClaim?.(event.eventId);
        const outcome = await run(tx, command, team, event.sender, now);
        await enqueue(tx, roomId, [{ type: 'notice', text: outcome.text, lang: isLanguage(team.language) ? team.language : 'de' }]);
        if (outcome.audit) await auditMatrixAction(tx, { orgId: team.orgId, sender: event.sender, ...outcome.audit });
        return true;
      });
      if (handled) {
        options.wake.outgoing.notify();
        log.info('care-team command', { roomId, eventId: event.eventId, command: command.type });
      }
      return true;
    },
  };
}
