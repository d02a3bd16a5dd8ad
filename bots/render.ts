import type { AlertText, Person } from '../core/alerts/describe.ts';
import type { BotMessage } from '../core/engine/types.ts';
import { translator } from '../core/i18n.ts';
import type { FhirOutgoing, Outgoing } from '../core/outgoing.ts';

/**
 * Outgoing messages (domain data, core/outgoing.ts) → Matrix event content.
 * The only place that knows Matrix message formats: msgtypes, HTML bodies,
 * mention pills, relations. Pure; relations arrive already resolved to the
 * event ids of the rows they point at (undefined when that row was never sent).
 */
export interface MatrixEvent {
  type: string;
  content: Record<string, unknown>;
}

/** Matrix `m.room.message` content for one bot message. */
export interface MessageContent {
  msgtype: 'm.text' | 'm.notice';
  body: string;
  format: 'org.matrix.custom.html';
  formatted_body: string;
  [key: string]: unknown;
}

/**
 * Things the patient must read or answer are `m.text` (they notify); short
 * acknowledgements are `m.notice` (BRIEF §5: notices never notify). Right-to-left
 * languages get `dir="rtl"` in the HTML body so clients render them correctly.
 */
const NOTICE_KINDS: ReadonlySet<BotMessage['kind']> = new Set(['ack', 'completed', 'summary']);

const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

export function renderMessage(message: BotMessage): MessageContent {
  const html = escapeHtml(message.text).replace(/\n/g, '<br>');
  return {
    msgtype: NOTICE_KINDS.has(message.kind) ? 'm.notice' : 'm.text',
    body: message.text,
    format: 'org.matrix.custom.html',
    formatted_body: message.rtl ? `<div dir="rtl">${html}</div>` : html,
  };
}

const pill = (person: Person) => `<a href="https://matrix.to/#/${encodeURIComponent(person.userId)}">${escapeHtml(person.displayName)}</a>`;

/**
 * An alert: the head in bold, one line each, the people asked to act as pills
 * with `m.mentions` (so their phones notify even in a busy room), the record link.
 */
export function renderAlert(alert: AlertText): MessageContent & { 'm.mentions': { user_ids: string[] } } {
  const t = (key: string, vars: Record<string, string> = {}) => translator(alert.language)(key, { ns: 'alerts', ...vars });
  const ask = alert.mentions.length > 0 ? t('ask', { mentions: alert.mentions.map((m) => m.displayName).join(', ') }) : null;
  const record = alert.recordUrl ? t('record', { link: alert.recordUrl }) : null;
  const body = [alert.head, ...alert.lines, ...(ask ? [ask] : []), ...(record ? [record] : [])].join('\n');
  // The placeholder keeps the translated sentence intact around the HTML we put in.
  const around = (key: string, html: string) => escapeHtml(t(key, { [key === 'ask' ? 'mentions' : 'link']: '\u0000' })).replace('\u0000', html);
  const html = [
    `<strong>${escapeHtml(alert.head)}</strong>`,
    ...alert.lines.map(escapeHtml),
    ...(ask ? [around('ask', alert.mentions.map(pill).join(', '))] : []),
    ...(record && alert.recordUrl ? [around('record', `<a href="${escapeHtml(alert.recordUrl)}">${escapeHtml(alert.recordUrl)}</a>`)] : []),
  ].join('<br>');
  return { msgtype: 'm.text', body, format: 'org.matrix.custom.html', formatted_body: html, 'm.mentions': { user_ids: alert.mentions.map((m) => m.userId) } };
}

/**
 * An encrypted file of a large FHIR resource (CS API v1.11 `EncryptedFile`
 * fields), as gematik fhir.json's `de.gematik.fhir.file` carries it.
 */
export interface FhirFile {
  url: string;
  size: number;
  key: { kty: 'oct'; key_ops: string[]; alg: 'A256CTR'; k: string; ext: true };
  iv: string;
  hashes: { sha256: string };
  v: 'v2';
}

/** What rendering needs besides the message: the bot's device (processing status) and a large resource's uploaded file. */
export interface RenderContext {
  deviceId?: string;
  file?: FhirFile;
}

/**
 * Inline resources must keep the encrypted event well under the 64 KiB limit:
 * Megolm and base64 add about a third, so ~45 KB of cleartext content is the
 * budget (BRIEF §12); anything larger goes as an encrypted file.
 */
export const INLINE_BUDGET_BYTES = 45_000;

export function contentBytes(content: Record<string, unknown>): number {
  return Buffer.byteLength(JSON.stringify(content), 'utf8');
}

/**
 * A FHIR resource as TI-M structured data (gematik api-ti-messenger
 * src/schema/fhir.json): the structure definition, the fallback texts
 * (plain text first, as receivers take the first they understand), and the
 * resource inline or as a file; with a processing-status request
 * (statusRequest.json) when the message asks for one.
 */
export function renderFhir(message: FhirOutgoing, ctx: RenderContext = {}): MatrixEvent {
  const html = escapeHtml(message.text).replace(/\n/g, '<br>');
  const content: Record<string, unknown> = {
    'de.gematik.fhir.structure_definition': {
      url: message.structure.url,
      version: message.structure.version,
      type: message.structure.type,
      fhir_version: message.structure.fhirVersion,
    },
    'de.gematik.text': [
      { mimetype: 'text/plain', body: message.text },
      { mimetype: 'text/html', body: html },
    ],
  };
  if (ctx.file) {
    content['de.gematik.fhir.file'] = {
      url: ctx.file.url,
      name: message.fileName,
      mimetype: 'application/fhir+json',
      size: ctx.file.size,
      key: ctx.file.key,
      iv: ctx.file.iv,
      hashes: ctx.file.hashes,
      v: ctx.file.v,
    };
  } else {
    content['de.gematik.fhir.resource'] = JSON.parse(message.resource) as Record<string, unknown>;
  }
  if (message.statusLifetimeMs !== undefined && ctx.deviceId) {
    content['de.gematik.request.status'] = { from_device: ctx.deviceId, lifetime: message.statusLifetimeMs };
  }
  return { type: 'de.gematik.fhir', content };
}

/** Does this FHIR message fit inline (well under the event size limit)? */
export function fitsInline(message: FhirOutgoing, ctx: RenderContext = {}): boolean {
  return contentBytes(renderFhir(message, { ...(ctx.deviceId ? { deviceId: ctx.deviceId } : {}) }).content) <= INLINE_BUDGET_BYTES;
}

/** Renders one outbox message; `related` is the event id of the row it refers to, if that was sent. */
export function renderOutgoing(message: Outgoing, related: string | undefined, ctx: RenderContext = {}): MatrixEvent {
  switch (message.type) {
    case 'bot':
      return { type: 'm.room.message', content: renderMessage(message.message) };
    case 'alert': {
      const content: Record<string, unknown> = renderAlert(message.alert);
      if (message.replaces !== undefined && related) {
        // An edit: clients show the new text in place of the alert posted earlier.
        return {
          type: 'm.room.message',
          content: { ...content, body: `* ${content['body']}`, 'm.new_content': content, 'm.relates_to': { rel_type: 'm.replace', event_id: related } },
        };
      }
      if (message.replyTo !== undefined && related) content['m.relates_to'] = { 'm.in_reply_to': { event_id: related } };
      return { type: 'm.room.message', content };
    }
    case 'notice':
      return {
        type: 'm.room.message',
        content: { msgtype: 'm.notice', body: message.text, ...(related ? { 'm.relates_to': { 'm.in_reply_to': { event_id: related } } } : {}) },
      };
    case 'photo':
      return {
        type: 'm.room.message',
        content: {
          msgtype: 'm.image',
          body: message.caption,
          url: message.url,
          info: { mimetype: message.contentType, size: message.size },
          ...(related ? { 'm.relates_to': { 'm.in_reply_to': { event_id: related } } } : {}),
        },
      };
    case 'fhir':
      return renderFhir(message, ctx);
    case 'status':
      // gematik statusResponse.json (MSC4300): the status, why, and a reference to the event it is about.
      return {
        type: 'de.gematik.response.status',
        content: {
          'de.gematik.response.status': {
            from_device: ctx.deviceId ?? '',
            status: message.status,
            messages: message.messages.map((m) => ({ type: m.type, 'de.gematik.text': [{ mimetype: 'text/plain', body: m.text }] })),
          },
          'm.relates_to': { rel_type: 'm.reference', event_id: message.relatesTo },
        },
      };
  }
}
