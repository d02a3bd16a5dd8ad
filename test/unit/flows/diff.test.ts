import { describe, expect, it } from 'vitest';
import { diffFlows } from '../../../core/flow/diff.ts';
import { flowFrom, shippedFlow } from '../helpers.ts';
import { readFileSync } from 'node:fs';
import { FLOWS } from '../helpers.ts';

/** What a reviewer sees of a new version (four-eyes publishing): changes by kind, nothing else. */
const POST_OP = readFileSync(`${FLOWS}post-op.yaml`, 'utf8');
const variant = (edit: (text: string) => string) => flowFrom(edit(POST_OP.replace('version: "1.0.0"', 'version: "1.1.0"')));

describe('the diff of two flow versions', () => {
  it('of a version against itself lists nothing', () => {
    const diff = diffFlows(
      shippedFlow('post-op'),
      variant((t) => t),
    );
    expect(diff).toEqual({
      from: '1.0.0',
      to: '1.1.0',
      texts: [],
      questions: [],
      order: null,
      options: [],
      rules: [],
      thresholds: [],
      computed: [],
      schedule: null,
      settings: [],
    });
  });

  it('names a changed text by its key and language', () => {
    const diff = diffFlows(
      shippedFlow('post-op'),
      variant((t) => t.replace('en: How strong is your pain right now, from 0 to 10?', 'en: How bad is the pain, 0 to 10?')),
    );
    expect(diff.texts).toEqual([
      { key: 'questions.pain.text', language: 'en', before: 'How strong is your pain right now, from 0 to 10?', after: 'How bad is the pain, 0 to 10?' },
    ]);
    expect(diff.questions).toEqual([]);
  });

  it('lists a moved threshold once, under thresholds, and a removed rule under rules', () => {
    const diff = diffFlows(
      shippedFlow('post-op'),
      variant((t) => t.replace('when: { op: ">=", value: 38.5 }', 'when: { op: ">=", value: 38.2 }').replace(/^ {6}- id: temperature-low\n(?: {8}.*\n)+/m, '')),
    );
    expect(diff.thresholds).toEqual([{ ruleId: 'fever', questionId: 'temperature', before: 38.5, after: 38.2 }]);
    expect(diff.rules).toEqual([
      expect.objectContaining({ id: 'temperature-low', change: 'removed', before: expect.objectContaining({ severity: 'warning', on: 'temperature' }) }),
    ]);
    expect(diff.texts.map((t) => t.key)).toEqual(expect.arrayContaining(['rules.temperature-low.message']));
  });

  it('shows answer settings, options, order and schedule changes field by field', () => {
    const after = variant((t) =>
      t
        .replace('days: [1, 2, 3, 5, 7, 14]', 'days: [1, 2, 3, 7]')
        .replace(/^ {4}min: 34\n/m, '    min: 30\n')
        .replace('        emoji: "👍"\n', '        emoji: "🙂"\n'),
    );
    const diff = diffFlows(shippedFlow('post-op'), after);
    expect(diff.schedule).toMatchObject({ before: { days: [1, 2, 3, 5, 7, 14] }, after: { days: [1, 2, 3, 7] } });
    expect(diff.questions).toEqual([{ id: 'temperature', change: 'changed', fields: [{ field: 'min', before: 34, after: 30 }] }]);
    expect(diff.options).toEqual([{ questionId: 'wound', code: 'unremarkable', change: 'changed', fields: [{ field: 'emoji', before: '👍', after: '🙂' }] }]);
    expect(diff.order).toBeNull();
  });

  it('against no published version lists everything as new', () => {
    const diff = diffFlows(undefined, shippedFlow('post-op'));
    expect(diff.from).toBeNull();
    expect(diff.questions.every((q) => q.change === 'added')).toBe(true);
    expect(diff.questions.map((q) => q.id)).toContain('pain');
  });
});
