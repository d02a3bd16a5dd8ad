import { describe, expect, it } from 'vitest';
import { DEFAULT_FLOWS_DIR } from '../../../server/config.ts';
import { loadFlows } from '../../../server/flows.ts';
import { flowTexts, missingTexts } from '../../../server/web/pages/flows.ts';

const postOp = loadFlows(DEFAULT_FLOWS_DIR).get('post-op')!.flow;

describe('the texts table of a flow', () => {
  it('lists every text (questions, options, rule messages) and marks each declared language without it', () => {
    const paths = flowTexts(postOp).map((t) => t.path);
    expect(paths).toContain('title');
    expect(paths).toContain('questions.pain.text');
    expect(paths).toContain('questions.nausea.options.none');
    expect(paths.some((p) => /\.escalations\.[^.]+\.message$/.test(p))).toBe(true);
    const broken = { ...postOp, questions: postOp.questions.map((q) => (q.id === 'pain' ? { ...q, text: { de: q.text.de! } } : q)) };
    const missing = missingTexts(broken)
      .filter((m) => m.path === 'questions.pain.text')
      .map((m) => m.language);
    expect(missing.sort()).toEqual(postOp.languages.filter((l) => l !== 'de').sort());
  });
});
