import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { loadFlowFile } from '../../core/flow/load.ts';
import type { Flow } from '../../core/flow/model.ts';
import { isLanguage, type Language, LANGUAGES } from '../../core/language.ts';
import { CliError, out, printIssues } from '../output.ts';
import { lineToInput, Session, type SessionEvent } from '../../core/conversation/session.ts';
import { tryAnswers } from '../../core/conversation/try.ts';

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
  const sessionOptions = { lang, now, subject: options.patient ?? 'Patient/example' };
  if (options.answers !== undefined) {
    for (const event of tryAnswers(loaded.flow, readAnswers(options.answers), sessionOptions)) out(JSON.stringify(event));
    return 0;
  }
  return interactive(new Session(loaded.flow, sessionOptions), loaded.flow, lang);
}

function readAnswers(file: string): string[] {
  try {
    return (file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8')).split(/\r?\n/);
  } catch (err) {
    throw new CliError(
      `${file}: cannot read answers: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : err instanceof Error ? err.message : String(err)}`,
    );
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
