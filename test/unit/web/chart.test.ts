import { describe, expect, it } from 'vitest';
import { DEFAULT_FLOWS_DIR } from '../../../server/config.ts';
import { loadFlows } from '../../../server/flows.ts';
import { trendSvg } from '../../../server/web/chart-svg.ts';
import { translatorFor } from '../../../server/web/i18n.ts';
import { thresholdsOf } from '../../../server/web/pages/chart.ts';

const postOp = loadFlows(DEFAULT_FLOWS_DIR).get('post-op')!.flow;
const pain = postOp.questions.find((q) => q.id === 'pain')!;
const t = translatorFor('de');

describe('chart thresholds and plots', () => {
  it("draws the flow's threshold of each rule on the question, and the team's own where it differs", () => {
    const flowOnly = thresholdsOf(postOp, pain, undefined, 'de', t);
    expect(flowOnly.every((l) => l.kind === 'flow')).toBe(true);
    expect(flowOnly.map((l) => l.value)).toContain(7);
    const rule = postOp.questions.find((q) => q.id === 'pain')!.escalations.find((r) => r.when.kind === 'compare' && r.when.value === 7)!;
    const tuned = thresholdsOf(postOp, pain, { [rule.id]: 6 }, 'de', t);
    expect(tuned).toContainEqual({ value: 6, kind: 'team', label: 'Schwelle (Team) ≥ 6' });
    expect(tuned).toContainEqual({ value: 7, kind: 'flow', label: 'Schwelle (Flow) ≥ 7' });
  });

  it('plots points with titles, threshold lines and alert markers as SVG without script', () => {
    const at = (d: number) => new Date(Date.UTC(2026, 10, d, 8));
    const svg = String(
      trendSvg({
        id: 'p',
        title: 'Schmerzen',
        description: 'test',
        points: [
          { at: at(1), value: 3, label: '3' },
          { at: at(2), value: 9, label: '01.11.: 9' },
        ],
        thresholds: [
          { value: 7, kind: 'flow', label: '≥ 7' },
          { value: 6, kind: 'team', label: 'Team ≥ 6' },
        ],
        alerts: [{ at: at(2), value: 9, label: 'Meldung' }],
        min: 0,
        max: 10,
        tick: (d) => String(d.getUTCDate()),
        number: String,
      }),
    );
    expect(svg).toContain('role="img"');
    expect(svg).toContain('data-value="9"');
    expect(svg).toContain('<title>01.11.: 9</title>');
    expect(svg).toMatch(/class="threshold flow" data-threshold="7"/);
    expect(svg).toMatch(/class="threshold team" data-threshold="6"/);
    expect(svg).toContain('data-alert-value="9"');
    expect(svg).not.toMatch(/<script|style=/);
  });
});
