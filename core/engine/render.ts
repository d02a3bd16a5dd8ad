import { localize } from '../flow/text.ts';
import type { ChoiceQuestion, Flow, Question } from '../flow/model.ts';
import { isRightToLeft, type Language } from '../language.ts';
import { type Lexicon, lexicon } from './lexicon.ts';
import { localDate } from './parse.ts';
import type { AnswerValue, BotMessage, ConversationState, Expects, MessageKind, MessageOption, ParseFailure } from './types.ts';

/**
 * Builds the patient-facing messages. Question and option texts come from the
 * flow; everything the engine itself says comes from locales/<lng>/engine.json.
 */
export function message(kind: MessageKind, text: string, lang: Language, extra?: Partial<BotMessage>): BotMessage {
  return { kind, text, lang, rtl: isRightToLeft(lang), ...extra };
}

const EXPECTS: Record<Question['type'], Expects | undefined> = {
  quantity: 'number',
  scale: 'number',
  boolean: 'boolean',
  choice: 'choice',
  'multi-choice': 'choices',
  text: 'text',
  date: 'date',
  photo: 'photo',
  info: undefined,
};

export function options(q: ChoiceQuestion, lang: Language): MessageOption[] {
  return q.options.map((o, i) => {
    const option: MessageOption = { number: i + 1, code: o.code, label: localize(o.text, lang) };
    if (o.emoji) option.emoji = o.emoji;
    return option;
  });
}

function optionLines(opts: MessageOption[]): string {
  return opts.map((o) => `${o.number}. ${o.emoji ? `${o.emoji} ` : ''}${o.label}`).join('\n');
}

export function questionMessage(q: Question, lang: Language): BotMessage {
  const lex = lexicon(lang);
  const lines = [localize(q.text, lang)];
  if (q.type === 'info') return message('info', lines[0] ?? '', lang, { questionId: q.id });
  let opts: MessageOption[] | undefined;
  if (q.type === 'scale' && q.minLabel && q.maxLabel) {
    lines.push(
      lex.text('prompt.scale', { min: lex.number(q.min), max: lex.number(q.max), minLabel: localize(q.minLabel, lang), maxLabel: localize(q.maxLabel, lang) }),
    );
  }
  if (q.type === 'choice' || q.type === 'multi-choice') {
    opts = options(q, lang);
    lines.push(optionLines(opts));
    lines.push(lex.text(q.type === 'choice' ? 'prompt.choice' : 'prompt.multiChoice'));
  }
  if (q.type === 'boolean') lines.push(lex.text('prompt.boolean'));
  if (q.type === 'photo') lines.push(lex.text('prompt.photo'));
  if (!q.required) lines.push(lex.text('prompt.optional'));
  const extra: Partial<BotMessage> = { questionId: q.id, required: q.required };
  const expects = EXPECTS[q.type];
  if (expects) extra.expects = expects;
  if (opts) extra.options = opts;
  return message('question', lines.join('\n'), lang, extra);
}

const REASON_KEY: Record<ParseFailure['reason'], string> = {
  'not-understood': 'reask.notUnderstood',
  'out-of-range': 'reask.outOfRange',
  'not-whole': 'reask.notWhole',
  ambiguous: 'reask.ambiguous',
  'too-long': 'reask.tooLong',
  exclusive: 'reask.exclusive',
  'need-photo': 'reask.needPhoto',
  'need-text': 'reask.needText',
  'invalid-date': 'reask.invalidDate',
  'unit-mismatch': 'reask.unitMismatch',
  'not-exact': 'reask.notExact',
};

/** The re-ask line for a failure; a unit to a question without a unit (a scale) gets its own text. */
function reasonKey(failure: ParseFailure): string {
  if (failure.reason === 'unit-mismatch' && !failure.detail?.['unit']) return 'reask.unitUnexpected';
  return REASON_KEY[failure.reason];
}

/** "What went wrong" + "what to send" (+ the author's hint), in the patient's language. */
export function reaskMessage(flow: Flow, q: Question, lang: Language, failure: ParseFailure | { reason: 'cannot-skip' | 'help' }, now: Date): BotMessage {
  const lex = lexicon(lang);
  const lines: string[] = [];
  if (failure.reason === 'cannot-skip') lines.push(lex.text('reask.cannotSkip'));
  else if ('ok' in failure) lines.push(lex.text(reasonKey(failure), failure.detail));
  if (failure.reason === 'help') lines.push(localize(q.text, lang));
  lines.push(typeHint(flow, q, lex, now));
  if (q.hint) lines.push(localize(q.hint, lang));
  if (!q.required && failure.reason !== 'cannot-skip') lines.push(lex.text('hint.skip'));
  const extra: Partial<BotMessage> = { questionId: q.id, required: q.required };
  const expects = EXPECTS[q.type];
  if (expects) extra.expects = expects;
  if (q.type === 'choice' || q.type === 'multi-choice') {
    extra.options = options(q, lang);
    lines.push(optionLines(extra.options));
  }
  return message('reask', lines.join('\n'), lang, extra);
}

function typeHint(flow: Flow, q: Question, lex: Lexicon, now: Date): string {
  switch (q.type) {
    case 'quantity': {
      const unit = q.unitDisplay ?? q.unit;
      const example = exampleNumber(q.min, q.max, q.decimals);
      if (q.min !== undefined && q.max !== undefined) {
        return lex.text('hint.numberRange', {
          min: lex.number(q.min),
          max: lex.number(q.max),
          unit: unit ? ` ${unit}` : '',
          example: lex.number(example, q.decimals),
        });
      }
      return lex.text('hint.number', { example: lex.number(example, q.decimals) });
    }
    case 'scale':
      return lex.text('hint.scale', { min: lex.number(q.min), max: lex.number(q.max) });
    case 'boolean':
      return lex.text('hint.boolean');
    case 'choice':
      return lex.text('hint.choice', { max: q.options.length });
    case 'multi-choice':
      return lex.text('hint.multiChoice');
    case 'date':
      return lex.text('hint.date', { example: formatDate(localDate(now, flow.schedule?.timezone ?? 'Europe/Berlin'), lex.lang) });
    case 'photo':
      return lex.text('hint.photo');
    default:
      return lex.text('hint.text');
  }
}

function exampleNumber(min: number | undefined, max: number | undefined, decimals: number): number {
  if (min !== undefined && max !== undefined) {
    const mid = min + (max - min) / 2;
    return decimals > 0 ? Math.round(mid * 10) / 10 + (Number.isInteger(mid) ? 0.5 : 0) : Math.round(mid);
  }
  return decimals > 0 ? 12.5 : 12;
}

const dateFormats = new Map<Language, Intl.DateTimeFormat>();
export function formatDate(iso: string, lang: Language): string {
  let f = dateFormats.get(lang);
  if (!f) {
    f = new Intl.DateTimeFormat(lang === 'ar' ? 'ar-u-nu-latn' : lang, { year: 'numeric', month: '2-digit', day: '2-digit', timeZone: 'UTC' });
    dateFormats.set(lang, f);
  }
  return f.format(new Date(`${iso}T00:00:00Z`));
}

/** Short human rendering of an answer, for acknowledgements. */
export function formatAnswer(q: Question, v: AnswerValue, lang: Language): string {
  const lex = lexicon(lang);
  switch (v.type) {
    case 'number': {
      const unit = q.type === 'quantity' ? (q.unitDisplay ?? q.unit) : undefined;
      const n = lex.number(v.value, q.type === 'quantity' ? q.decimals : 0);
      return unit ? `${n} ${unit}` : n;
    }
    case 'boolean':
      return lex.text(v.value ? 'display.yes' : 'display.no');
    case 'choice':
    case 'choices': {
      const codes = v.type === 'choice' ? [v.code] : v.codes;
      const opts = q.type === 'choice' || q.type === 'multi-choice' ? q.options : [];
      return codes.map((c) => localize(opts.find((o) => o.code === c)?.text ?? {}, lang) || c).join(', ');
    }
    case 'date':
      return formatDate(v.value, lang);
    case 'text':
      return v.value.length > 60 ? `${v.value.slice(0, 57)}…` : v.value;
    case 'attachment':
      return lex.text('display.photo');
  }
}

export function ackMessage(q: Question, v: AnswerValue, lang: Language, corrected: boolean): BotMessage {
  const lex = lexicon(lang);
  let text: string;
  if (corrected) text = lex.text('ack.corrected', { value: formatAnswer(q, v, lang) });
  else if (v.type === 'attachment') text = lex.text('ack.photo');
  else if (v.type === 'text') text = lex.text('ack.text');
  else text = lex.text('ack.answer', { value: formatAnswer(q, v, lang) });
  return message('ack', text, lang, { questionId: q.id });
}

/** The question's short name for summaries (and alerts): its `label`, else its text. */
export function questionLabel(q: Question, lang: Language): string {
  return (q.label ? localize(q.label, lang) : '') || localize(q.text, lang);
}

/**
 * The short summary after the thank-you: a title, one line per answered
 * question in flow order (`• Schmerzen: 8`), and one line naming the questions
 * left open (skipped or given up). Info items and computed values are not
 * shown; an optional free-text question the patient skipped ("Anything else?"
 * – "no") is not "open". Undefined when there is nothing to list.
 */
export function summaryMessage(flow: Flow, state: ConversationState, lang: Language): BotMessage | undefined {
  const lex = lexicon(lang);
  const lines: string[] = [];
  const open: string[] = [];
  for (const q of flow.questions) {
    if (q.type === 'info') continue;
    const outcome = state.outcomes[q.id];
    const answer = state.answers[q.id];
    if (outcome === 'answered' && answer) {
      // One line per answer: free text on one line, shortened like in acknowledgements.
      const value = answer.value.type === 'text' ? { type: 'text' as const, value: answer.value.value.replace(/\s+/g, ' ').trim() } : answer.value;
      lines.push(lex.text('summary.line', { label: questionLabel(q, lang), value: formatAnswer(q, value, lang) }));
    } else if (outcome === 'unanswered' || (outcome === 'skipped' && q.type !== 'text')) {
      open.push(questionLabel(q, lang));
    }
  }
  if (open.length > 0) lines.push(lex.text('summary.open', { items: open.join(', ') }));
  if (lines.length === 0) return undefined;
  return message('summary', [lex.text('summary.title'), ...lines].join('\n'), lang);
}
