import { describe, expect, it } from 'vitest';
import { formatIssue } from '../../../core/flow/errors.ts';
import { loadFlowFile, parseFlow } from '../../../core/flow/load.ts';
import { isValidLoinc } from '../../../core/flow/compile.ts';
import { HEADER } from '../helpers.ts';

function issuesOf(yaml: string) {
  const r = parseFlow(yaml, 'f.yaml');
  if (r.ok) throw new Error('expected the flow to be invalid');
  return r.issues;
}

/** 1-based line of the first line containing `marker`. */
function lineOf(yaml: string, marker: string): number {
  return yaml.split('\n').findIndex((l) => l.includes(marker)) + 1;
}

const pain = `  - id: pain
    type: scale
    min: 0
    max: 10
    text: { de: Schmerz?, en: Pain? }
`;

describe('flow validation: located, actionable errors', () => {
  it('reports an unknown key at its line:col with a did-you-mean hint', () => {
    const yaml = `${HEADER}questions:\n${pain}    requird: true\n`;
    const [i, ...rest] = issuesOf(yaml);
    expect(rest).toHaveLength(0);
    expect(i).toMatchObject({ code: 'unknown-key', file: 'f.yaml', line: lineOf(yaml, 'requird'), col: 5 });
    expect(i?.hint).toContain('"required"');
    expect(formatIssue(i!)).toMatch(/^f\.yaml:\d+:5: unknown key "requird" \[unknown-key\]\n {2}hint: did you mean "required"\?$/);
  });

  it('rejects unknown keys at the top level and in texts', () => {
    const yaml = `${HEADER}colour: blue\nquestions:\n  - id: a\n    type: boolean\n    text: { de: A?, en: A?, fr: A? }\n`;
    const codes = issuesOf(yaml).map((i) => [i.code, i.path.join('.')]);
    expect(codes).toContainEqual(['unknown-key', 'colour']);
    expect(codes).toContainEqual(['unknown-key', 'questions.0.text.fr']);
  });

  it('reports a wrong type with the expected form', () => {
    const yaml = `${HEADER}questions:\n  - id: a\n    type: boolean\n    required: "yes"\n    text: { de: A?, en: A? }\n`;
    const [i] = issuesOf(yaml);
    expect(i).toMatchObject({ code: 'wrong-type', line: lineOf(yaml, 'required'), col: 15 });
    expect(i?.message).toContain('true or false');
  });

  it('explains that texts are per language when a plain string is given', () => {
    const yaml = `${HEADER}questions:\n  - id: a\n    type: boolean\n    text: Wie geht es?\n`;
    const [i] = issuesOf(yaml);
    expect(i?.code).toBe('wrong-type');
    expect(i?.hint).toContain('de: Wie geht es Ihnen?');
  });

  it('reports a missing key at the enclosing mapping', () => {
    const yaml = `${HEADER}questions:\n  - id: a\n    type: boolean\n`;
    const [i] = issuesOf(yaml);
    expect(i).toMatchObject({ code: 'missing-key', path: ['questions', 0, 'text'], line: lineOf(yaml, '- id: a') });
  });

  it('names valid question types for an unknown one', () => {
    const yaml = `${HEADER}questions:\n  - id: a\n    type: numbr\n    text: { de: A?, en: A? }\n`;
    const [i] = issuesOf(yaml);
    expect(i?.code).toBe('invalid-value');
    expect(i?.message).toContain('"numbr"');
    expect(i?.hint).toContain('quantity, scale, boolean, choice, multi-choice, text, date, photo, info');
  });

  it('reports a reference to an unknown question with a suggestion', () => {
    const yaml = `${HEADER}questions:\n${pain}  - id: b\n    type: boolean\n    enableWhen: { answer: pian, op: ">=", value: 3 }\n    text: { de: B?, en: B? }\n`;
    const [i] = issuesOf(yaml);
    expect(i).toMatchObject({ code: 'unknown-reference', line: lineOf(yaml, 'pian') });
    expect(i?.hint).toBe('did you mean "pain"?');
  });

  it('reports a branching cycle with the loop spelled out', () => {
    const yaml = `${HEADER}questions:
  - id: a
    type: boolean
    enableWhen: { answer: b, op: "=", value: true }
    text: { de: A?, en: A? }
  - id: b
    type: boolean
    enableWhen: { answer: a, op: "=", value: true }
    text: { de: B?, en: B? }
`;
    const cycle = issuesOf(yaml).find((i) => i.code === 'branching-cycle');
    expect(cycle?.message).toMatch(/branching cycle: (a → b → a|b → a → b)/);
    expect(cycle?.line).toBeGreaterThan(0);
  });

  it('reports a condition on a later question as a forward reference', () => {
    const yaml = `${HEADER}questions:
  - id: a
    type: boolean
    enableWhen: { answer: b, op: "=", value: true }
    text: { de: A?, en: A? }
  - id: b
    type: boolean
    text: { de: B?, en: B? }
`;
    const [i] = issuesOf(yaml);
    expect(i?.code).toBe('forward-reference');
    expect(i?.hint).toContain('move "b" before "a"');
  });

  it('reports a self-reference as a cycle', () => {
    const yaml = `${HEADER}questions:\n  - id: a\n    type: boolean\n    enableWhen: { answer: a, op: exists }\n    text: { de: A?, en: A? }\n`;
    expect(issuesOf(yaml).map((i) => i.code)).toContain('branching-cycle');
  });

  it('reports every language the flow declares but a text lacks', () => {
    const yaml = `id: t\nversion: "1"\ntitle: { de: T, en: T, tr: T }\nlanguages: [de, en, tr]\nquestions:\n  - id: a\n    type: boolean\n    text: { de: A?, en: A? }\n`;
    const [i] = issuesOf(yaml);
    expect(i).toMatchObject({ code: 'missing-translation', path: ['questions', 0, 'text'], line: 8, col: 11 });
    expect(i?.message).toBe('text is missing language tr');
  });

  it('requires de and en in languages and in clinician messages', () => {
    const yaml = `id: t\nversion: "1"\ntitle: { de: T, tr: T }\nlanguages: [de, tr]\nquestions:\n  - id: a\n    type: boolean\n    text: { de: A?, tr: A? }\n    escalations:\n      - id: r\n        when: { op: "=", value: true }\n        severity: info\n        message: { de: Nur deutsch }\n`;
    const messages = issuesOf(yaml).map((i) => i.message);
    expect(messages).toContain('languages must include "en"');
    expect(messages).toContain('message is missing en');
  });

  it('reports a threshold outside the question range', () => {
    const yaml = `${HEADER}questions:
  - id: temperature
    type: quantity
    unit: Cel
    min: 34
    max: 43
    text: { de: Temperatur?, en: Temperature? }
    escalations:
      - id: fever
        when: { op: ">=", value: 385 }
        severity: warning
        message: { de: Fieber, en: Fever }
`;
    const [i] = issuesOf(yaml);
    const line = lineOf(yaml, '385');
    expect(i).toMatchObject({ code: 'threshold-out-of-range', line, col: (yaml.split('\n')[line - 1] ?? '').indexOf('385') + 1 });
    expect(i?.hint).toContain('between 34 and 43');
  });

  it('checks value types and option codes in conditions', () => {
    const yaml = `${HEADER}questions:
  - id: a
    type: boolean
    text: { de: A?, en: A? }
  - id: c
    type: choice
    text: { de: C?, en: C? }
    options:
      - { code: red, text: { de: rot, en: red } }
      - { code: blue, text: { de: blau, en: blue } }
  - id: d
    type: boolean
    enableWhen: { all: [{ answer: a, op: "=", value: 1 }, { answer: c, op: "=", value: rde }, { answer: c, op: ">", value: 2 }] }
    text: { de: D?, en: D? }
`;
    const messages = issuesOf(yaml).map((i) => `${i.code}: ${i.message}`);
    expect(messages).toContain('wrong-type: "a" is yes/no; compare with true or false');
    expect(messages.some((m) => m.startsWith('unknown-reference: "rde" is not an option code'))).toBe(true);
    expect(messages.some((m) => m.startsWith('invalid-value: op ">" compares numbers'))).toBe(true);
  });

  it('reports FHIRPath syntax errors and unknown linkIds in expressions', () => {
    const yaml = `${HEADER}questions:\n${pain}computed:\n  - id: s\n    type: integer\n    expression: "%resource.item.where(linkId='pian').answer.value"\n  - id: t2\n    type: integer\n    expression: "%resource.item.where(linkId='pain'"\n`;
    const codes = issuesOf(yaml).map((i) => i.code);
    expect(codes).toContain('unknown-reference');
    expect(codes).toContain('invalid-expression');
  });

  it('rejects invented or mistyped LOINC codes (check digit)', () => {
    expect(isValidLoinc('8310-5')).toBe(true);
    expect(isValidLoinc('72514-3')).toBe(true);
    expect(isValidLoinc('8480-6')).toBe(true);
    expect(isValidLoinc('8310-4')).toBe(false);
    expect(isValidLoinc('pain')).toBe(false);
    const yaml = `${HEADER}questions:\n${pain}    codes: [{ system: loinc, code: 72514-4 }]\n`;
    const [i] = issuesOf(yaml);
    expect(i).toMatchObject({ code: 'invalid-code', line: lineOf(yaml, '72514-4') });
    expect(i?.hint).toContain('never invent LOINC codes');
  });

  it('reports duplicate ids and option codes', () => {
    const yaml = `${HEADER}questions:\n${pain}${pain}  - id: c\n    type: choice\n    text: { de: C?, en: C? }\n    options:\n      - { code: x, text: { de: X, en: X } }\n      - { code: x, text: { de: Y, en: Y } }\n`;
    const codes = issuesOf(yaml).map((i) => i.code);
    expect(codes.filter((c) => c === 'duplicate-id')).toHaveLength(2);
  });

  it('checks ranges, schedules and option flags', () => {
    const yaml = `${HEADER}schedule:
  anchor: surgery
  days: [1, 3, 2]
  time: "9:00"
  timezone: Mars/Base
questions:
  - id: s
    type: scale
    min: 10
    max: 0
    text: { de: S?, en: S? }
  - id: c
    type: choice
    text: { de: C?, en: C? }
    options:
      - { code: a, exclusive: true, text: { de: A, en: A } }
      - { code: b, emoji: "ab", text: { de: B, en: B } }
`;
    const messages = issuesOf(yaml).map((i) => i.message);
    expect(messages.some((m) => m.includes('HH:MM'))).toBe(true);
    // Schema errors stop before semantic checks; fix the time and look again.
    const semantic = issuesOf(yaml.replace('"9:00"', '"09:00"')).map((i) => i.message);
    expect(semantic).toContain('days must be strictly increasing (no duplicates)');
    expect(semantic).toContain('unknown time zone "Mars/Base"');
    expect(semantic).toContain('max (0) must be greater than min (10)');
    expect(semantic).toContain('exclusive only makes sense in a multi-choice question');
    expect(semantic).toContain('emoji must be a single emoji');
  });

  it('locates YAML syntax errors and reports only the first', () => {
    const yaml = `${HEADER}questions:\n  - id: a\n    text: { de: "unclosed, en: x }\n    type: boolean\n`;
    const issues = issuesOf(yaml);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'yaml-syntax' });
    expect(issues[0]?.line).toBeGreaterThanOrEqual(lineOf(yaml, 'unclosed'));
  });

  it('rejects a document that is not a mapping and a missing file', () => {
    expect(issuesOf('- just\n- a list\n')[0]?.code).toBe('wrong-type');
    const r = loadFlowFile('/nonexistent/flow.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]).toMatchObject({ code: 'io', message: 'cannot read flow: file not found' });
  });

  it('rejects photos marked for extraction and extract without codes', () => {
    const yaml = `${HEADER}questions:\n  - id: p\n    type: photo\n    extract: true\n    codes: [{ system: local, code: wound-photo }]\n    text: { de: Foto, en: Photo }\n  - id: b\n    type: boolean\n    extract: true\n    text: { de: B?, en: B? }\n`;
    const messages = issuesOf(yaml).map((i) => i.message);
    expect(messages.some((m) => m.startsWith('photos cannot become Observations'))).toBe(true);
    expect(messages.some((m) => m.startsWith('extract: true needs `codes:`'))).toBe(true);
  });

  it('rejects conditions mixing forms or missing parts', () => {
    const yaml = `${HEADER}questions:\n${pain}    escalations:\n      - id: r\n        when: { op: ">=", value: 7, expression: "true" }\n        severity: info\n        message: { de: X, en: X }\n      - id: r2\n        when: { op: ">=" }\n        severity: info\n        message: { de: X, en: X }\n`;
    const messages = issuesOf(yaml).map((i) => i.message);
    expect(messages.some((m) => m.startsWith('a condition uses exactly one form'))).toBe(true);
    expect(messages).toContain('operator ">=" needs a "value"');
  });
});

describe('question labels', () => {
  const labelled = (label: string, languages = '[de, en]', type = 'boolean') =>
    `id: t\nversion: "1"\ntitle: { de: T, en: T${languages.includes('tr') ? ', tr: T' : ''} }\nlanguages: ${languages}\nquestions:\n  - id: a\n    type: ${type}\n    text: { de: A?, en: A?${languages.includes('tr') ? ', tr: A?' : ''} }\n    label: ${label}\n`;

  it('accepts a label in every flow language and keeps it in the compiled flow', () => {
    const r = parseFlow(labelled('{ de: Schmerzen, en: Pain, tr: Ağrı }', '[de, en, tr]'), 'f.yaml');
    if (!r.ok) return expect.fail(r.issues.map((i) => i.message).join('\n'));
    expect(r.flow.questions[0]?.label).toEqual({ de: 'Schmerzen', en: 'Pain', tr: 'Ağrı' });
  });

  it('needs every language of the flow, located at the label', () => {
    const yaml = labelled('{ de: Schmerzen, en: Pain }', '[de, en, tr]');
    const [i, ...rest] = issuesOf(yaml);
    expect(rest).toEqual([]);
    expect(i).toMatchObject({ code: 'missing-translation', path: ['questions', 0, 'label'], file: 'f.yaml', line: lineOf(yaml, 'label:'), col: 12 });
    expect(i?.message).toBe('text is missing language tr');
    expect(issuesOf(labelled('{ de: Schmerzen }'))[0]).toMatchObject({ code: 'missing-translation', message: 'text is missing language en' });
  });

  it('rejects languages the flow does not declare and unknown language keys', () => {
    expect(issuesOf(labelled('{ de: Schmerzen, en: Pain, pl: Ból }'))[0]).toMatchObject({ code: 'invalid-value', path: ['questions', 0, 'label', 'pl'] });
    const yaml = labelled('{ de: Schmerzen, en: Pain, fr: Douleur }');
    const [i] = issuesOf(yaml);
    expect(i).toMatchObject({ code: 'unknown-key', path: ['questions', 0, 'label', 'fr'], line: lineOf(yaml, 'fr:') });
  });

  it('explains the per-language form when a plain string is given', () => {
    const [i] = issuesOf(labelled('Schmerzen'));
    expect(i).toMatchObject({ code: 'wrong-type', path: ['questions', 0, 'label'] });
    expect(i?.hint).toContain('de: Schmerzen');
  });

  it('rejects long or multi-line labels and labels on info items', () => {
    const long = issuesOf(labelled(`{ de: "${'Schmerz'.repeat(6)}", en: Pain }`));
    expect(long[0]).toMatchObject({ code: 'invalid-value', path: ['questions', 0, 'label', 'de'], message: 'label is 42 characters long; at most 40' });
    expect(issuesOf(labelled('{ de: "Schmerz\\nstark", en: Pain }'))[0]).toMatchObject({ code: 'invalid-value', message: 'a label is one line' });
    const yaml = labelled('{ de: Hinweis, en: Note }', '[de, en]', 'info');
    const [i] = issuesOf(yaml);
    expect(i).toMatchObject({ code: 'unknown-key', path: ['questions', 0, 'label'], line: lineOf(yaml, 'label:'), col: 5 });
  });
});
