import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isLanguage, type Language, LANGUAGES } from '../../core/language.ts';
import { type CorpusItem, evaluate, falseUrgentRate, parseCorpus, precision, ratio, recall, type Tally } from '../../core/redflags/corpus.ts';
import { detectRedFlags } from '../../core/redflags/index.ts';
import { CATEGORIES } from '../../core/redflags/types.ts';
import { CliError, out } from '../output.ts';

/** A usage error: one line on stderr and exit code 2 (as documented for `redflags scan`). */
export class UsageError extends CliError {
  readonly exitCode = 2;
}

const USAGE = 'usage: visite redflags scan [--lang LL] < messages.txt | visite redflags eval FILE.jsonl… [--min-recall 0.95] [--no-list]';

/**
 * `visite redflags scan|eval` — the red-flag detector (core/redflags) in the
 * terminal: scan messages from stdin as NDJSON, or evaluate it on the corpus.
 */
export async function redflagsCommand(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError(`visite redflags: ${err instanceof Error ? (err.message.split(/\.\s/)[0] ?? err.message) : String(err)}; ${USAGE}`);
  }
  const { values, positionals } = parsed;
  const [command, ...files] = positionals;
  switch (command) {
    case 'scan':
      if (files.length > 0) throw new UsageError(`visite redflags scan: reads messages from stdin, one per line, and takes no files; ${USAGE}`);
      return scan(values.lang);
    case 'eval':
      return evalCommand(files, values['min-recall'], values['no-list'] ?? false);
    default:
      throw new UsageError(`visite redflags: unknown command "${command ?? ''}"; one of scan, eval (${USAGE})`);
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { lang: { type: 'string', short: 'l' }, 'min-recall': { type: 'string' }, 'no-list': { type: 'boolean' } },
  });
}

/** One NDJSON line per input line, in order (a blank line is a message without findings). */
async function scan(lang: string | undefined): Promise<number> {
  if (lang !== undefined && !isLanguage(lang)) throw new UsageError(`visite redflags scan: unknown language "${lang}"; use one of ${LANGUAGES.join(', ')}`);
  const language = lang as Language | undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop(); // the final newline ends the last line
  lines.forEach((message, index) => {
    const f = detectRedFlags(message, language ? { language } : {});
    out(JSON.stringify({ line: index + 1, severity: f.severity, category: f.category, negated: f.negated, evidence: f.evidence }));
  });
  return 0;
}

const pct = (value: number | null) => (value === null ? '–' : `${(value * 100).toFixed(1)} %`);

const HEAD = ['caught', 'recall', 'category', 'precision', 'false', 'f-urgent', 'negation'];

/** caught/urgent, recall, right category, precision, false urgent (ordinary), its rate, urgent on negations. */
function row(name: string, t: Tally, columns = HEAD.length): string {
  const cells = [
    `${t.caught}/${t.urgent}`,
    pct(recall(t)),
    pct(ratio(t.rightCategory, t.urgent)),
    pct(precision(t)),
    `${t.ordinaryUrgent}/${t.ordinary}`,
    pct(falseUrgentRate(t)),
    `${t.negationsUrgent}/${t.negations}`,
  ].slice(0, columns);
  return [name.padEnd(18), ...cells.map((c) => c.padStart(9))].join(' ');
}

function head(first: string, columns = HEAD.length): string {
  return [first.padEnd(18), ...HEAD.slice(0, columns).map((h) => h.padStart(9))].join(' ');
}

function evalCommand(files: string[], minRecall: string | undefined, noList: boolean): number {
  if (files.length === 0) throw new UsageError(`visite redflags eval: give at least one corpus file, e.g. test/fixtures/redflags/de.tuning.jsonl; ${USAGE}`);
  const min = minRecall === undefined ? undefined : Number(minRecall);
  if (min !== undefined && !(min >= 0 && min <= 1)) throw new UsageError(`visite redflags eval: --min-recall must be a number from 0 to 1, e.g. 0.95`);
  const items: CorpusItem[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new CliError(
        `${file}: cannot read: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : err instanceof Error ? err.message : String(err)}`,
      );
    }
    try {
      items.push(...parseCorpus(text, file));
    } catch (err) {
      throw new CliError(err instanceof Error ? err.message : String(err));
    }
  }
  const ev = evaluate(items);
  out(`Red-flag evaluation: ${items.length} messages from ${files.length} file(s)`);
  out('recall: urgent messages raised as urgent; right category: with the expected category among the urgent hits;');
  out('precision: urgent alerts that were wanted; false urgent: urgent alerts on not-urgent messages other than negations;');
  out('negations: urgent alerts on denials ("keine Brustschmerzen").');
  out('');
  out(head('language'));
  for (const language of LANGUAGES) {
    const t = ev.byLanguage.get(language);
    if (t) out(row(language, t));
  }
  out(row('all', ev.total));
  out('');
  out(head('category', 4));
  for (const category of CATEGORIES) {
    const t = ev.byCategory.get(category);
    if (t) out(row(category, t, 4));
  }
  const misses = ev.outcomes.filter((o) => o.item.expect === 'urgent' && !o.caught);
  const alarms = ev.outcomes.filter((o) => o.falseAlarm);
  out('');
  if (noList) {
    const count = (list: typeof misses, key: (o: (typeof misses)[number]) => string) => {
      const counts = new Map<string, number>();
      for (const o of list) counts.set(key(o), (counts.get(key(o)) ?? 0) + 1);
      return [...counts].map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
    };
    out(`Misses by category: ${count(misses, (o) => o.item.category ?? '?')}`);
    out(`False urgent by kind: ${count(alarms, (o) => o.item.kind)}`);
  } else {
    out(misses.length === 0 ? 'Misses: none' : `Misses (${misses.length}):`);
    for (const o of misses)
      out(
        `  ${o.item.id} [${o.item.category}, ${o.item.kind}] ${JSON.stringify(o.item.text)} → ${o.finding.severity}${o.finding.category ? ` ${o.finding.category}` : ''}${o.finding.evidence ? ` "${o.finding.evidence}"` : ''}`,
      );
    out(alarms.length === 0 ? 'False urgent: none' : `False urgent (${alarms.length}):`);
    for (const o of alarms) out(`  ${o.item.id} [${o.item.kind}] ${JSON.stringify(o.item.text)} → ${o.finding.category} "${o.finding.evidence}"`);
  }
  const r = recall(ev.total);
  if (min !== undefined && r !== null && r < min) {
    process.stderr.write(`visite redflags eval: recall ${pct(r)} is below --min-recall ${pct(min)}\n`);
    return 1;
  }
  return 0;
}
