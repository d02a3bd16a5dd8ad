import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { loadFlowFile } from '../../core/flow/load.ts';
import type { Flow } from '../../core/flow/model.ts';
import { isLanguage, type Language, LANGUAGES } from '../../core/language.ts';
import { CliError, out, printIssues } from '../output.ts';
import { lineToInput, Session, type SessionEvent } from '../session.ts';

export interface TryOptions {
  lang?: string | undefined;
  answers?: string | undefined;
  now?: string | undefined;
  patient?: string | undefined;
}

/**
 * `visite flows try FILE --lang LL [--answers FILE]`. Interactive chat, or
 * with --answers one NDJSON event per line (the documented contract):
 *   {"type":"bot","text":…}  {"type":"alert",…}
 *   {"type":"observation","resource":…}  {"type":"questionnaireResponse","resource":…}
 */
export async function tryCommand(files: string[], options: TryOptions): Promise<number> {
  const [file, ...rest] = files;
  if (!file || rest.length > 0) throw new CliError('visite flows try: give exactly one flow file, e.g. visite flows try flows/post-op.yaml --lang de');
  const lang = options.lang ?? 'de';
  if (!isLanguage(lang)) throw new CliError(`visite flows try: unknown language "${lang}"; use one of ${LANGUAGES.join(', ')}`);
  const now = options.now ? new Date(options.now) : new Date();
  if (Number.isNaN(now.getTime())) throw new CliError(`visite flows try: --now "${options.now}" is not an ISO date-time`);
  const loaded = loadFlowFile(file);
  if (!loaded.ok) {
    printIssues(loaded.issues, file);
    return 1;
  }
  const session = new Session(loaded.flow, { lang, now, subject: options.patient ?? 'Patient/example' });
  if (options.answers !== undefined) return runAnswers(session, options.answers);
  return interactive(session, loaded.flow, lang);
}

function runAnswers(session: Session, file: string): number {
  let lines: string[];
  try {
    lines = (file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8')).split(/\r?\n/);
  } catch (err) {
    throw new CliError(`${file}: cannot read answers: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : err instanceof Error ? err.message : String(err)}`);
  }
  emit(session.start());
  for (const line of lines) {
    if (line.trim() === '') continue; // blank lines are not messages
    if (session.current?.status === 'completed') break;
    const input = lineToInput(line);
    if (input) emit(session.send(input));
  }
  return 0;
}

function emit(events: SessionEvent[]): void {
  for (const e of events) {
    switch (e.type) {
      case 'bot': {
        const m = e.message;
        out(JSON.stringify({ type: 'bot', text: m.text, kind: m.kind, lang: m.lang, ...(m.questionId ? { questionId: m.questionId } : {}) }));
        break;
      }
      case 'alert': {
        const a = e.event;
        out(JSON.stringify({ type: 'alert', ruleId: a.ruleId, severity: a.severity, message: a.message.de ?? a.message.en, messages: a.message, ...(a.itemId ? { questionId: a.itemId } : {}), values: a.values, ...(a.trend ? { trend: a.trend } : {}), at: a.at }));
        break;
      }
      case 'done':
        for (const o of e.observations) out(JSON.stringify({ type: 'observation', resource: o }));
        if (e.questionnaireResponse) out(JSON.stringify({ type: 'questionnaireResponse', resource: e.questionnaireResponse }));
        break;
      case 'state':
        break;
    }
  }
}

async function interactive(session: Session, flow: Flow, lang: Language): Promise<number> {
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
  out(`Trying "${flow.id}" ${flow.version} in ${lang}. Commands: /photo [url] [type], /lang xx, /edit text, /react 👍, /quit`);
  const show = (events: SessionEvent[]) => {
    for (const e of events) {
      if (e.type === 'bot') out(`\n🤖 ${e.message.text.replace(/\n/g, '\n   ')}`);
      if (e.type === 'alert') out(`   ⚠ ALERT [${e.event.severity}] ${e.event.ruleId}: ${e.event.message.de ?? e.event.message.en}`);
      if (e.type === 'done') out(`\n✔ QuestionnaireResponse (completed) and ${e.observations.length} Observation(s), valid R4.`);
    }
  };
  show(session.start());
  try {
    while (session.current?.status !== 'completed') {
      let line: string;
      try {
        line = await rl.question('\n> ');
      } catch {
        break; // stdin closed
      }
      if (line.trim() === '/quit') break;
      const input = lineToInput(line);
      if (input) show(session.send(input));
    }
  } finally {
    rl.close();
  }
  return 0;
}
