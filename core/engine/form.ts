import type { Question } from '../flow/model.ts';
import type { AnswerValue, ParseResult } from './types.ts';

/**
 * Answers that arrive already typed — from a form the patient's TI-M client
 * filled in — get the same checks a chat answer gets after parsing: range,
 * whole numbers, decimals, known options, exclusive options, length, real
 * dates. Pure; the engine records what passes and asks the rest in the chat.
 */

/** Questions a form can carry. Photos stay in the chat (the messenger's camera and encrypted upload). */
export function isFormQuestion(q: Question): boolean {
  return q.type !== 'photo';
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function isCalendarDate(value: string): boolean {
  const m = DATE.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

/** A typed answer has nothing beside it (`rest` is for words next to a chat answer). */
const ok = (value: AnswerValue): ParseResult => ({ ok: true, value, rest: '' });

export function checkFormValue(q: Question, value: AnswerValue): ParseResult {
  const wrong: ParseResult = { ok: false, reason: 'not-understood' };
  switch (q.type) {
    case 'quantity': {
      if (value.type !== 'number' || !Number.isFinite(value.value)) return wrong;
      // A unit given in the form must be the question's unit (no conversions).
      if (value.unit !== undefined && value.unit !== q.unit) return wrong;
      const factor = 10 ** q.decimals;
      const rounded = Math.round(value.value * factor) / factor;
      if ((q.min !== undefined && rounded < q.min) || (q.max !== undefined && rounded > q.max))
        return { ok: false, reason: 'out-of-range', detail: { value: String(value.value) } };
      return ok(q.unit ? { type: 'number', value: rounded, unit: q.unit } : { type: 'number', value: rounded });
    }
    case 'scale': {
      if (value.type !== 'number' || !Number.isFinite(value.value)) return wrong;
      if (!Number.isInteger(value.value)) return { ok: false, reason: 'not-whole' };
      if (value.value < q.min || value.value > q.max) return { ok: false, reason: 'out-of-range', detail: { value: String(value.value) } };
      return ok({ type: 'number', value: value.value });
    }
    case 'boolean':
      return value.type === 'boolean' ? ok({ type: 'boolean', value: value.value }) : wrong;
    case 'choice': {
      if (value.type === 'choices' && value.codes.length === 1) return checkFormValue(q, { type: 'choice', code: value.codes[0]! });
      if (value.type !== 'choice' || !q.options.some((o) => o.code === value.code)) return wrong;
      return ok({ type: 'choice', code: value.code });
    }
    case 'multi-choice': {
      const codes = value.type === 'choice' ? [value.code] : value.type === 'choices' ? value.codes : undefined;
      if (!codes || codes.length === 0 || new Set(codes).size !== codes.length) return wrong;
      if (!codes.every((c) => q.options.some((o) => o.code === c))) return wrong;
      if (codes.length > 1 && codes.some((c) => q.options.find((o) => o.code === c)?.exclusive)) return { ok: false, reason: 'exclusive' };
      // In the flow's order, like a chat answer "3, 1".
      const ordered = q.options.map((o) => o.code).filter((c) => codes.includes(c));
      return ok({ type: 'choices', codes: ordered });
    }
    case 'text': {
      if (value.type !== 'text') return wrong;
      const text = value.value.trim();
      if (text.length === 0) return { ok: false, reason: 'need-text' };
      if (text.length > q.maxLength) return { ok: false, reason: 'too-long' };
      return ok({ type: 'text', value: text });
    }
    case 'date':
      if (value.type !== 'date') return wrong;
      return isCalendarDate(value.value) ? ok({ type: 'date', value: value.value }) : { ok: false, reason: 'invalid-date' };
    case 'photo':
      return { ok: false, reason: 'need-photo' };
    case 'info':
      return wrong;
  }
}
