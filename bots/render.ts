import type { BotMessage } from '../core/engine/types.ts';

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

const escapeHtml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

export function renderMessage(message: BotMessage): MessageContent {
  const html = escapeHtml(message.text).replace(/\n/g, '<br>');
  return {
    msgtype: NOTICE_KINDS.has(message.kind) ? 'm.notice' : 'm.text',
    body: message.text,
    format: 'org.matrix.custom.html',
    formatted_body: message.rtl ? `<div dir="rtl">${html}</div>` : html,
  };
}
