import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { CliError, out } from '../output.ts';
import { transcriptFileFor } from '../transcripts.ts';

/**
 * The flow catalog of a running Visite, from the terminal: `push` a flow file
 * (and its golden transcripts) as the draft, `submit` it for review, and
 * `publish` it — as another person (four-eyes). Talks to the HTTP API with an
 * API key or OIDC token; problems are printed like `flows validate` prints
 * them, located in the pushed file.
 */
export interface RemoteOptions {
  url?: string | undefined;
  key?: string | undefined;
}

interface Target {
  url: string;
  key: string;
}

function target(options: RemoteOptions, command: string): Target {
  const url = options.url ?? process.env['VISITE_URL'];
  const key = options.key ?? process.env['VISITE_API_KEY'];
  if (!url) throw new CliError(`visite flows ${command}: give the server with --url (or VISITE_URL), e.g. --url https://visite.klinik.de`);
  if (!key) throw new CliError(`visite flows ${command}: give an API key or token with --key (or VISITE_API_KEY)`);
  if (!/^https?:\/\/\S+$/.test(url)) throw new CliError(`visite flows ${command}: --url "${url}" is not an http(s) URL`);
  return { url: url.replace(/\/+$/, ''), key };
}

interface ApiAnswer {
  status: number;
  body: Record<string, any>;
}

async function request(t: Target, method: string, path: string, body?: { type: string; text: string }): Promise<ApiAnswer> {
  let res: Response;
  try {
    res = await fetch(`${t.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${t.key}`, ...(body ? { 'content-type': body.type } : {}) },
      ...(body ? { body: body.text } : {}),
    });
  } catch (error) {
    throw new CliError(`cannot reach ${t.url}: ${(error as Error & { cause?: { code?: string } }).cause?.code ?? (error as Error).message}`);
  }
  const text = await res.text();
  let parsed: Record<string, any> = {};
  try {
    parsed = text ? (JSON.parse(text) as Record<string, any>) : {};
  } catch {
    parsed = { error: { message: text.slice(0, 200) } };
  }
  return { status: res.status, body: parsed };
}

/** An API refusal as lines: located issues like `flows validate`, missing texts, failing transcripts. */
function problems(answer: ApiAnswer, file: string): string[] {
  const error = answer.body['error'] ?? {};
  const details = error.details ?? {};
  const lines: string[] = [];
  for (const i of details.issues ?? []) {
    const where = [file, i.line, i.column].filter((p) => p !== undefined).join(':');
    lines.push(`${where}: ${i.message}${i.line === undefined && i.path ? ` (at ${i.path})` : ''} [${i.code}]`);
    if (i.hint) lines.push(`  hint: ${i.hint}`);
  }
  for (const m of details.missingTexts ?? []) lines.push(`missing texts in ${m.language}: ${m.keys.join(', ')}`);
  for (const p of details.transcriptProblems ?? []) lines.push(`transcripts ${p.line}:${p.col}: ${p.message}`);
  for (const f of details.transcriptFailures ?? []) lines.push(`✗ transcript ${f.name} [${f.lang}]`, ...f.failures.map((x: string) => `    ${x}`));
  for (const f of details.fields ?? []) lines.push(`${f.path}: ${f.message}`);
  return [`${answer.status} ${error.code ?? ''}: ${error.message ?? 'request failed'}`, ...lines];
}

function refuse(answer: ApiAnswer, file: string): number {
  for (const line of problems(answer, file)) process.stderr.write(`${line}\n`);
  return 1;
}

const flowPath = (id: string, rest = '') => `/v1/flows/${encodeURIComponent(id)}${rest}`;

/** `visite flows push FILE --url URL --key KEY` — the file becomes the flow's draft (with the transcripts next to it). */
export async function pushCommand(files: string[], options: RemoteOptions): Promise<number> {
  const [file, ...rest] = files;
  if (!file || rest.length > 0) throw new CliError('visite flows push: give exactly one flow file, e.g. visite flows push flows/post-op.yaml --url … --key …');
  const t = target(options, 'push');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`${file}: cannot read: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message}`);
  }
  let id: unknown;
  try {
    id = (parse(text) as { id?: unknown } | null)?.id;
  } catch {
    id = undefined;
  }
  if (typeof id !== 'string') throw new CliError(`${file}: no flow \`id:\`; check it with: visite flows validate ${file}`);
  const saved = await request(t, 'PUT', flowPath(id, '/draft'), { type: 'application/yaml', text });
  if (saved.status !== 200 && saved.status !== 201) return refuse(saved, file);
  const transcripts = transcriptFileFor(file);
  if (existsSync(transcripts)) {
    const stored = await request(t, 'PUT', flowPath(id, '/draft/transcripts'), { type: 'application/yaml', text: readFileSync(transcripts, 'utf8') });
    if (stored.status !== 200) return refuse(stored, transcripts);
    out(`transcripts ${transcripts} stored with the draft`);
  }
  const draft = saved.body;
  out(`draft ${draft['flowId']} ${draft['version']} ${saved.status === 201 ? 'created' : 'replaced'} (${draft['url']})`);
  for (const w of draft['warnings'] ?? []) out(`${file}:${w.line}:${w.column}: warning: ${w.message} [${w.code}]`);
  for (const m of draft['missingTexts'] ?? []) out(`warning: texts missing in ${m.language} (publishing refuses them): ${m.keys.join(', ')}`);
  out(`next: visite flows submit ${id} --url ${t.url} --key …  (then another person publishes it)`);
  return 0;
}

/** `visite flows submit ID` — the draft goes to review (checked as publishing will). */
export async function submitCommand(ids: string[], options: RemoteOptions): Promise<number> {
  const id = only(ids, 'submit');
  const t = target(options, 'submit');
  const answer = await request(t, 'POST', flowPath(id, '/draft/submit'));
  if (answer.status !== 200) return refuse(answer, `${id} (draft)`);
  out(`${id} ${answer.body['version']} is in review; another person with the org_admin or flow_reviewer role publishes it: visite flows publish ${id}`);
  return 0;
}

/** `visite flows publish ID` — the version in review is published (not by its author). */
export async function publishCommand(ids: string[], options: RemoteOptions): Promise<number> {
  const id = only(ids, 'publish');
  const t = target(options, 'publish');
  const answer = await request(t, 'POST', flowPath(id, '/draft/publish'));
  if (answer.status !== 200) return refuse(answer, `${id} (draft)`);
  const { published, previous, transcripts, thresholdProblems } = answer.body as {
    published: { version: string; url: string };
    previous: string | null;
    transcripts: { passed: number };
    thresholdProblems: Array<{ careTeamName: string; ruleId: string; message: string }>;
  };
  out(
    `published ${id} ${published.version}${previous ? ` (new check-ins started on ${previous} until now)` : ''}; ${transcripts.passed} golden transcript(s) passed`,
  );
  out(`Questionnaire: ${published.url}|${published.version}`);
  for (const p of thresholdProblems) out(`warning: care team "${p.careTeamName}": threshold for ${p.ruleId}: ${p.message}`);
  return 0;
}

function only(ids: string[], command: string): string {
  const [id, ...rest] = ids;
  if (!id || rest.length > 0) throw new CliError(`visite flows ${command}: give exactly one flow id, e.g. visite flows ${command} post-op --url … --key …`);
  return id;
}
