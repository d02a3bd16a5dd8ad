import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../helpers.ts';

function visite(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(join(ROOT, 'scripts/node24.sh'), ['node', join(ROOT, 'cli/visite.ts'), ...args], { cwd: ROOT, encoding: 'utf8', input, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tmp = mkdtempSync(join(tmpdir(), 'visite-cli-'));
const write = (name: string, content: string) => {
  const path = join(tmp, name);
  writeFileSync(path, content);
  return path;
};

const noStack = (s: string) => expect(s).not.toMatch(/\n\s+at .+:\d+:\d+/);

describe('visite CLI', { timeout: 60_000 }, () => {
  it('--help lists the commands', () => {
    const r = visite(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['flows validate', 'flows export', 'flows import', 'flows try', 'flows test']) expect(r.stdout).toContain(c);
  });

  it('flows validate: exit 0 for shipped flows, 1 with located errors otherwise', () => {
    // As from `flows/*.yaml`: transcript files are checked as transcripts.
    const ok = visite(['flows', 'validate', 'flows/post-op.yaml', 'flows/post-op.transcripts.yaml', 'flows/medication-change.yaml']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('ok flows/post-op.yaml');
    expect(ok.stdout).toContain('ok flows/post-op.transcripts.yaml: transcripts');
    const bad = write(
      'bad.yaml',
      'id: x\nversion: "1"\ntitle: { de: X, en: X }\nlanguages: [de, en]\nquestions:\n  - id: a\n    type: boolean\n    txt: { de: A, en: A }\n',
    );
    const r = visite(['flows', 'validate', 'flows/post-op.yaml', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad}:8:5: unknown key "txt" [unknown-key]`);
    expect(r.stderr).toContain('hint: did you mean "text"?');
    noStack(r.stderr);
  });

  it('redflags scan prints one NDJSON line per stdin line; a bad option or language exits 2 with one line', () => {
    const r = visite(['redflags', 'scan', '--lang', 'de'], '7, und ich blute stark aus der wunde\n\nkeine Brustschmerzen\n');
    expect(r.code).toBe(0);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
    ).toEqual([
      { line: 1, severity: 'urgent', category: 'bleeding', negated: false, evidence: 'blute stark' },
      { line: 2, severity: 'none', category: null, negated: false, evidence: '' },
      { line: 3, severity: 'warning', category: 'chest_pain', negated: true, evidence: 'Brustschmerzen' },
    ]);
    for (const args of [
      ['redflags', 'scan', '--lang', 'xx'],
      ['redflags', 'scan', '--bogus'],
      ['redflags', 'nope'],
    ]) {
      const bad = visite(args, '');
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
      noStack(bad.stderr);
    }
  });

  it('redflags eval reports recall per language and category; --min-recall fails below it', () => {
    const corpus = write(
      'c.jsonl',
      [
        JSON.stringify({ id: 'de-1', lang: 'de', text: 'ich krieg keine luft', expect: 'urgent', category: 'breathing', kind: 'plain' }),
        JSON.stringify({ id: 'de-2', lang: 'de', text: 'mir ist ein bisschen komisch', expect: 'urgent', category: 'emergency', kind: 'plain' }),
        JSON.stringify({ id: 'de-3', lang: 'de', text: 'keine Atemnot', expect: 'none', category: null, kind: 'negation' }),
      ].join('\n'),
    );
    const r = visite(['redflags', 'eval', corpus]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^de\s+1\/2\s+50\.0 %/m);
    expect(r.stdout).toMatch(/^breathing\s+1\/1\s+100\.0 %/m);
    expect(r.stdout).toContain('de-2 [emergency, plain]');
    const strict = visite(['redflags', 'eval', corpus, '--min-recall', '1.0', '--no-list']);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain('Misses by category: emergency 1');
    expect(strict.stdout).not.toContain('komisch');
  });

  it('flows export prints a Questionnaire; import turns it back into a valid flow', () => {
    const exp = visite(['flows', 'export', 'flows/medication-change.yaml']);
    expect(exp.code).toBe(0);
    const q = JSON.parse(exp.stdout) as { resourceType: string; item: unknown[] };
    expect(q.resourceType).toBe('Questionnaire');
    const qPath = write('q.json', exp.stdout);
    const imp = visite(['flows', 'import', qPath]);
    expect(imp.code).toBe(0);
    expect((parse(imp.stdout) as { id: string }).id).toBe('medication-change');
    const flowPath = write('imported.yaml', imp.stdout);
    expect(visite(['flows', 'validate', flowPath]).code).toBe(0);
  });

  it('flows import names the offending linkId and exits 1', () => {
    const r = visite(['flows', 'import', join(ROOT, 'test/unit/fhir/fixtures/bad-enablewhen.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('item "fever-value": enableWhen refers to linkId "has-fever"');
    expect(r.stdout).toBe('');
    const notJson = visite(['flows', 'import', write('x.json', '{ nope')]);
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toMatch(/^visite: .*x\.json: not valid JSON/);
    noStack(notJson.stderr);
  });

  it('flows try --answers prints the NDJSON contract', () => {
    const answers = write('answers.txt', ['8', '39,7', '1', '1', '1', 'ja', 'nein', ''].join('\n'));
    const r = visite(['flows', 'try', 'flows/post-op.yaml', '--lang', 'de', '--answers', answers, '--now', '2026-01-15T08:00:00Z', '--patient', 'Patient/42']);
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ type: 'bot', kind: 'intro' });
    expect(lines.filter((l) => l.type === 'bot').every((l) => typeof l.text === 'string')).toBe(true);
    const alerts = lines.filter((l) => l.type === 'alert');
    expect(alerts.map((a) => a.ruleId)).toEqual(['pain-severe', 'fever-high']);
    expect(alerts[1]).toMatchObject({ severity: 'urgent', questionId: 'temperature', values: { temperature: { type: 'number', value: 39.7, unit: 'Cel' } } });
    const obs = lines
      .filter((l) => l.type === 'observation')
      .map((l) => l.resource as { code: { coding: { code: string }[] }; valueQuantity?: { value: number }; subject: { reference: string } });
    expect(obs.find((o) => o.code.coding[0]?.code === '8310-5')?.valueQuantity?.value).toBe(39.7);
    expect(obs.every((o) => o.subject.reference === 'Patient/42')).toBe(true);
    // The thank-you, then the summary, are the last bot messages.
    const bot = lines.filter((l) => l.type === 'bot');
    expect(bot.slice(-2).map((l) => l.kind)).toEqual(['completed', 'summary']);
    expect(bot.at(-1)).toMatchObject({ lang: 'de', text: expect.stringMatching(/^Ihre Angaben heute:\n• Schmerzen: 8\n• Temperatur: 39,7 °C\n/) });
    const qr = lines.at(-1);
    expect(qr).toMatchObject({ type: 'questionnaireResponse', resource: { resourceType: 'QuestionnaireResponse', status: 'completed' } });
  });

  it('flows try rejects an unknown language and a missing answers file in one line', () => {
    const lang = visite(['flows', 'try', 'flows/post-op.yaml', '--lang', 'fr', '--answers', '-'], '');
    expect(lang.code).toBe(1);
    expect(lang.stderr.trim()).toBe('visite: visite flows try: unknown language "fr"; use one of de, en, tr, ar, uk, ru, pl');
    const missing = visite(['flows', 'try', 'flows/post-op.yaml', '--answers', '/nonexistent']);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('visite: /nonexistent: cannot read answers: file not found');
  });

  it('flows try without --answers chats on stdin', () => {
    const r = visite(['flows', 'try', 'flows/post-op.yaml', '--lang', 'en'], '3\n/quit\n');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('How strong is your pain right now');
    expect(r.stdout).toContain('Thank you, noted: 3.');
  });

  it('flows test runs the golden transcripts and fails on a wrong expectation', () => {
    const ok = visite(['flows', 'test']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/\d+ passed, 0 failed/);
    const flowCopy = write('post-op.yaml', readFileSync(join(ROOT, 'flows/post-op.yaml'), 'utf8'));
    write(
      'post-op.transcripts.yaml',
      'flow: post-op.yaml\ntranscripts:\n  - name: wrong\n    lang: de\n    messages: ["2", "37", "1", "1", "1", "ja", "nein"]\n    expect:\n      answers: { pain: 3 }\n      alerts: [fever]\n      summary: ["Ihre Angaben heute:"]\n',
    );
    const bad = visite(['flows', 'test', flowCopy]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('answers.pain: expected 3, got 2');
    expect(bad.stdout).toContain('alerts: expected [fever], got []');
    expect(bad.stdout).toContain('summary: expected ["Ihre Angaben heute:"], got ["Ihre Angaben heute:","• Schmerzen: 2",');
  });

  it('unknown commands and options give one clear line, no stack trace', () => {
    const r = visite(['flows', 'frobnicate']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const opt = visite(['flows', 'validate', '--bogus']);
    expect(opt.code).toBe(1);
    noStack(opt.stderr);
  });
});
