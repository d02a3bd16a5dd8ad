import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LANGUAGES } from '../../../core/language.ts';
import { evaluate, falseUrgentRate, parseCorpus } from '../../../core/redflags/corpus.ts';
import { ROOT } from '../helpers.ts';

/**
 * The tuning half of the independent test corpus (test/fixtures/redflags,
 * SPEC.md there). The held-out half is never read by tests: it is only
 * evaluated as a whole with `visite redflags eval` (docs/safety.md).
 */
const items = LANGUAGES.flatMap((l) => {
  const file = join(ROOT, 'test/fixtures/redflags', `${l}.tuning.jsonl`);
  return parseCorpus(readFileSync(file, 'utf8'), file);
});
const ev = evaluate(items);

describe('red-flag tuning corpus', () => {
  it('has every language', () => {
    for (const l of LANGUAGES) expect(ev.byLanguage.get(l)?.urgent, l).toBeGreaterThan(20);
  });

  it('raises every urgent message as urgent (recall 100 %)', () => {
    const misses = ev.outcomes.filter((o) => o.item.expect === 'urgent' && !o.caught).map((o) => `${o.item.id} ${o.item.text} → ${o.finding.severity}`);
    expect(misses).toEqual([]);
  });

  it('raises nothing urgent on a negation ("keine Brustschmerzen")', () => {
    const alarms = ev.outcomes
      .filter((o) => o.item.kind === 'negation' && o.finding.severity === 'urgent')
      .map((o) => `${o.item.id} ${o.item.text} → ${o.finding.evidence}`);
    expect(alarms).toEqual([]);
  });

  it('raises urgent on at most 5 % of the ordinary (not urgent, not negation) messages', () => {
    expect(falseUrgentRate(ev.total)).toBeLessThanOrEqual(0.05);
  });
});
