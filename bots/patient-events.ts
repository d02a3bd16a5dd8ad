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
  /**
   * A FHIR resource as TI-M structured data (gematik fhir.json): what it says
   * it is, and the resource inline or as a file; `invalid` names the schema
   * rule the content breaks (nothing else is then read).
   */
  | {
      type: 'fhir';
      structure: { url: string; version: string; type: string; fhirVersion: string };
      resource?: unknown;
      file?: { url: string; name: string; mimetype?: string; size?: number; encrypted?: EncryptedFileInfo };
      statusRequest?: { fromDevice: string; toDevice?: string; lifetimeMs?: number };
      invalid?: string;
    }
  /** A processing status about one of our events (gematik statusResponse.json, MSC4300). */
  | { type: 'status'; relatesTo: string; status: 'success' | 'error'; fromDevice: string }
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

export const FHIR_EVENT = 'de.gematik.fhir';
export const STATUS_EVENT = 'de.gematik.response.status';

// gematik api-ti-messenger src/schema/fhir.json, statusRequest.json, statusResponse.json.
const structureDefinition = z.object({ url: z.string(), version: z.string(), type: z.string(), fhir_version: z.string() });
const textRepresentations = z.array(z.looseObject({ mimetype: z.string().optional(), body: z.string() })).min(1);
const fhirFile = z.looseObject({
  url: z.string().regex(/^mxc:\/\/.+/),
  name: z.string(),
  mimetype: z.enum(['application/fhir+json', 'application/fhir+xml']).optional(),
  size: z.number().int().min(0).optional(),
  key: z.looseObject({}).optional(),
  iv: z.string().optional(),
  hashes: z.looseObject({}).optional(),
  v: z.string().optional(),
});
const statusRequest = z.object({ from_device: z.string(), to_device: z.string().optional(), lifetime: z.number().int().min(0).optional() });
const fhirContent = z
  .looseObject({
    'de.gematik.fhir.structure_definition': structureDefinition,
    'de.gematik.text': textRepresentations,
    'de.gematik.fhir.resource': z.looseObject({}).optional(),
    'de.gematik.fhir.file': fhirFile.optional(),
    'de.gematik.request.status': statusRequest.optional(),
  })
  .refine((c) => c['de.gematik.fhir.resource'] !== undefined || c['de.gematik.fhir.file'] !== undefined, {
    message: 'one of de.gematik.fhir.resource and de.gematik.fhir.file is required',
    path: ['de.gematik.fhir.resource'],
  });
const statusContent = z.looseObject({
  'de.gematik.response.status': z.looseObject({ from_device: z.string(), status: z.enum(['success', 'error']) }),
  'm.relates_to': z.looseObject({ rel_type: z.literal('m.reference'), event_id: z.string() }),
});

function readFhir(content: unknown): PatientAction {
  const parsed = fhirContent.safeParse(content);
  const sd = (content as Record<string, unknown> | null)?.['de.gematik.fhir.structure_definition'] as Record<string, unknown> | undefined;
  const structure = {
    url: typeof sd?.['url'] === 'string' ? sd['url'] : '',
    version: typeof sd?.['version'] === 'string' ? sd['version'] : '',
    type: typeof sd?.['type'] === 'string' ? sd['type'] : '',
    fhirVersion: typeof sd?.['fhir_version'] === 'string' ? sd['fhir_version'] : '',
  };
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { type: 'fhir', structure, invalid: `fhir.json content.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}` };
  }
  const c = parsed.data;
  const request = c['de.gematik.request.status'];
  const action: Extract<PatientAction, { type: 'fhir' }> = { type: 'fhir', structure };
  if (request)
    action.statusRequest = {
      fromDevice: request.from_device,
      ...(request.to_device ? { toDevice: request.to_device } : {}),
      ...(request.lifetime !== undefined ? { lifetimeMs: request.lifetime } : {}),
    };
  if (c['de.gematik.fhir.resource'] !== undefined) {
    action.resource = c['de.gematik.fhir.resource'];
    return action;
  }
  const file = c['de.gematik.fhir.file']!;
  let encrypted: EncryptedFileInfo | undefined;
  if (file.key !== undefined || file.iv !== undefined || file.hashes !== undefined || file.v !== undefined) {
    // fhir.json: key, iv, hashes and v as in m.room.message's EncryptedFile, all of them when the file is encrypted.
    const e = encryptedFile.safeParse({ url: file.url, key: file.key, iv: file.iv, hashes: file.hashes, v: file.v });
    if (!e.success)
      return {
        type: 'fhir',
        structure,
        invalid: 'fhir.json content.de.gematik.fhir.file: key, iv, hashes and v must describe an encrypted attachment (EncryptedFile)',
      };
    encrypted = e.data;
  }
  action.file = {
    url: file.url,
    name: file.name,
    ...(file.mimetype ? { mimetype: file.mimetype } : {}),
    ...(file.size !== undefined ? { size: file.size } : {}),
    ...(encrypted ? { encrypted } : {}),
  };
  return action;
}

export function readPatientAction(type: string, content: unknown): PatientAction | null {
  if (type === FHIR_EVENT) return readFhir(content);
  if (type === STATUS_EVENT) {
    const parsed = statusContent.safeParse(content);
    if (!parsed.success) return null;
    const status = parsed.data['de.gematik.response.status'];
    return { type: 'status', relatesTo: parsed.data['m.relates_to'].event_id, status: status.status, fromDevice: status.from_device };
  }
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
