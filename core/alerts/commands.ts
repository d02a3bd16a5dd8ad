import { MATRIX_USER_ID_PATTERN } from '../matrix-id.ts';

/**
 * Commands clinicians type in their care-team room. Pure parsing; the
 * dispatcher checks permissions and runs them.
 *
 *   !patient <id>            recent answers and open alerts
 *   !checkin <id> [flow]     start a check-in now
 *   !pause <id> / !resume <id>   pause or resume scheduled check-ins
 *   !help
 *
 * `<id>` is the short id shown in alerts (#1a2b3c4d, with or without #) or
 * the patient's Matrix id.
 */
export type CareTeamCommand =
  | { type: 'patient'; ref: string }
  | { type: 'checkin'; ref: string; flowId?: string }
  | { type: 'pause'; ref: string }
  | { type: 'resume'; ref: string }
  | { type: 'help' }
  | { type: 'invalid'; usage: string };

const REF = new RegExp(`^(#?[0-9a-f]{8}|${MATRIX_USER_ID_PATTERN})$`, 'i');

export function parseCareTeamCommand(body: string): CareTeamCommand | null {
  const text = body.trim();
  if (!text.startsWith('!')) return null;
  const [head = '', ...args] = text.slice(1).split(/\s+/);
  const command = head.toLowerCase();
  const ref = args[0]?.replace(/^#/, '');
  const needsRef = (usage: string) => ({ type: 'invalid' as const, usage });
  switch (command) {
    case 'help':
    case 'hilfe':
      return { type: 'help' };
    case 'patient':
      return ref && REF.test(args[0]!) ? { type: 'patient', ref } : needsRef('!patient <id>');
    case 'checkin':
      return ref && REF.test(args[0]!) ? { type: 'checkin', ref, ...(args[1] ? { flowId: args[1] } : {}) } : needsRef('!checkin <id> [flow]');
    case 'pause':
      return ref && REF.test(args[0]!) ? { type: 'pause', ref } : needsRef('!pause <id>');
    case 'resume':
    case 'fortsetzen':
      return ref && REF.test(args[0]!) ? { type: 'resume', ref } : needsRef('!resume <id>');
    default:
      // `!ack` and unknown words are not ours: acknowledgements are handled by the alert code.
      return null;
  }
}
