import { z } from 'zod';
import { encryptedFile, type EncryptedFile } from './encrypted-file.ts';

/**
 * What a patient did, read from a Matrix event (CS API v1.11 plus the polls
 * MSC that clients use). Pure: the adapter downloads files and the service
 * decides what the action means in the conversation.
 */
export type PatientAction =
  | { type: 'text'; text: string; editOf?: string }
  /** `encrypted`: the file's key and hash (an encrypted room sends `file` instead of `url`). */
  | { type: 'file'; url: string; mimetype: string; size: number | undefined; name: string; encrypted?: EncryptedFileInfo }
  | { type: 'reaction'; emoji: string; relatesTo: string }
  | { type: 'poll'; answerIds: string[] }
  | { type: 'unsupported' };

export type EncryptedFileInfo = EncryptedFile;

const relatesTo = z.looseObject({ rel_type: z.string().optional(), event_id: z.string().optional() });

const messageContent = z.looseObject({
  msgtype: z.string(),
  body: z.string().default(''),
  url: z.string().optional(),
  file: encryptedFile.optional(),
  info: z.looseObject({ mimetype: z.string().optional(), size: z.number().optional() }).optional(),
  'm.relates_to': relatesTo.optional(),
  'm.new_content': z.looseObject({ body: z.string().optional() }).optional(),
});

const reactionContent = z.looseObject({
  'm.relates_to': z.looseObject({ rel_type: z.literal('m.annotation'), event_id: z.string(), key: z.string() }),
});

const pollResponse = z.looseObject({ answers: z.array(z.string()).max(20) });
const pollContent = z.looseObject({
  'org.matrix.msc3381.poll.response': pollResponse.optional(),
  'm.poll.response': pollResponse.optional(),
  'm.selections': z.array(z.string()).max(20).optional(),
});

export const POLL_RESPONSE_TYPES: ReadonlySet<string> = new Set(['org.matrix.msc3381.poll.response', 'm.poll.response']);

export function readPatientAction(type: string, content: unknown): PatientAction | null {
  if (type === 'm.reaction') {
    const parsed = reactionContent.safeParse(content);
    return parsed.success ? { type: 'reaction', emoji: parsed.data['m.relates_to'].key, relatesTo: parsed.data['m.relates_to'].event_id } : null;
  }
  if (POLL_RESPONSE_TYPES.has(type)) {
    const parsed = pollContent.safeParse(content);
    if (!parsed.success) return null;
    const answers = parsed.data['org.matrix.msc3381.poll.response']?.answers ?? parsed.data['m.poll.response']?.answers ?? parsed.data['m.selections'];
    return answers ? { type: 'poll', answerIds: answers } : null;
  }
  if (type !== 'm.room.message') return null;
  const parsed = messageContent.safeParse(content);
  if (!parsed.success) return null;
  const c = parsed.data;
  const relation = c['m.relates_to'];
  switch (c.msgtype) {
    case 'm.text':
    case 'm.emote':
    case 'm.notice': {
      if (relation?.rel_type === 'm.replace') {
        const text = c['m.new_content']?.body;
        return typeof text === 'string' && relation.event_id ? { type: 'text', text, editOf: relation.event_id } : null;
      }
      return { type: 'text', text: c.body };
    }
    case 'm.image':
    case 'm.file': {
      const mimetype = c.info?.mimetype ?? 'application/octet-stream';
      if (c.file) return { type: 'file', url: c.file.url, mimetype, size: c.info?.size, name: c.body, encrypted: c.file };
      if (!c.url?.startsWith('mxc://')) return { type: 'unsupported' };
      return { type: 'file', url: c.url, mimetype, size: c.info?.size, name: c.body };
    }
    default:
      return { type: 'unsupported' };
  }
}
