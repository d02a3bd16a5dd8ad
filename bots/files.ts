import type { PatientInput } from '../core/conversation/turn.ts';
import { isAcceptedPhotoType } from '../core/conversation/turn.ts';
import { errorFields, type Logger } from '../core/logging.ts';
import type { StoredFile } from '../db/conversations.ts';
import { decryptAttachment } from './crypto.ts';
import { downloadMedia, formatBytes } from './media.ts';
import type { PatientAction } from './patient-events.ts';

export interface FileAccess {
  homeserverUrl: string;
  accessToken(): string;
  /** The smaller of Visite's limit and the homeserver's `m.upload.size`. */
  maxBytes(): number;
}

/** A file event → conversation input: checks type and size first, then keeps a (decrypted) copy. */
export async function fileInput(
  action: Extract<PatientAction, { type: 'file' }>,
  access: FileAccess,
  log: Logger,
): Promise<{ input: PatientInput; file?: StoredFile }> {
  const maxBytes = access.maxBytes();
  const tooLarge = { input: { type: 'attachment-rejected' as const, reason: 'too-large' as const, max: formatBytes(maxBytes) } };
  if (!isAcceptedPhotoType(action.mimetype)) return { input: { type: 'attachment-rejected', reason: 'wrong-type' } };
  if (action.size !== undefined && action.size > maxBytes) return tooLarge;
  try {
    const downloaded = await downloadMedia(access.homeserverUrl, access.accessToken(), action.url, maxBytes);
    if (downloaded === 'too-large') return tooLarge;
    // An encrypted room sends the ciphertext; its key travels in the (decrypted) event. We keep the plain photo.
    const data = action.encrypted ? decryptAttachment(downloaded, action.encrypted) : downloaded;
    return {
      input: { type: 'attachment', url: action.url, contentType: action.mimetype, size: data.byteLength },
      file: { mxcUrl: action.url, contentType: action.mimetype, data },
    };
  } catch (error) {
    log.warn('could not download a file', errorFields(error));
    return { input: { type: 'attachment-rejected', reason: 'failed' } };
  }
}

/** A patient action → conversation input (files are downloaded here). */
export async function toInput(action: PatientAction, access: FileAccess, log: Logger): Promise<{ input: PatientInput; file?: StoredFile; editOf?: string }> {
  switch (action.type) {
    case 'text':
      return { input: { type: 'text', text: action.text }, ...(action.editOf ? { editOf: action.editOf } : {}) };
    case 'reaction':
      return { input: { type: 'reaction', emoji: action.emoji } };
    case 'poll':
      return { input: { type: 'poll', codes: action.answerIds } };
    case 'file':
      return fileInput(action, access, log);
    case 'fhir':
    case 'status':
    case 'unsupported':
      // Structured data has its own way in (bots/inbound.ts); here it is not a chat input.
      return { input: { type: 'unsupported' } };
  }
}
