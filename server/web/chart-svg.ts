import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

/**
 * A trend plot rendered on the server as SVG: no script, no canvas, readable
 * by a screen reader (title, description, and every point titled), printable.
 * One numeric question over time, its thresholds as dashed lines and alerts as
 * red triangles at the value that raised them.
 */
export interface TrendPoint {
  at: Date;
  value: number;
  label: string;
}

export interface ThresholdLine {
  value: number;
  label: string;
  kind: 'flow' | 'team';
}

export interface TrendChart {
  id: string;
  title: string;
  description: string;
  points: readonly TrendPoint[];
  thresholds: readonly ThresholdLine[];
  alerts: readonly TrendPoint[];
  min?: number | undefined;
  max?: number | undefined;
  /** Format a time axis tick. */
  tick: (at: Date) => string;
  /** Format a value for the axis. */
  number: (value: number) => string;
}

const W = 720;
const H = 240;
const PAD = { left: 48, right: 16, top: 16, bottom: 32 };

const niceStep = (span: number, count: number) => {
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / power;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * power;
};

export function trendSvg(chart: TrendChart): HtmlEscapedString {
  const values = [...chart.points.map((p) => p.value), ...chart.thresholds.map((t) => t.value)];
  let lo = chart.min ?? Math.min(...values);
  let hi = chart.max ?? Math.max(...values);
  if (chart.min === undefined || chart.max === undefined) {
    const span = hi - lo || Math.abs(hi) || 1;
    if (chart.min === undefined) lo -= span * 0.1;
    if (chart.max === undefined) hi += span * 0.1;
  }
  const times = chart.points.map((p) => p.at.getTime());
  let t0 = Math.min(...times);
  let t1 = Math.max(...times);
  if (t0 === t1) {
    t0 -= 12 * 3_600_000;
    t1 += 12 * 3_600_000;
  }
  const x = (at: Date) => PAD.left + ((at.getTime() - t0) / (t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - ((v - lo) / (hi - lo || 1)) * (H - PAD.top - PAD.bottom);
  const r = (n: number) => Math.round(n * 10) / 10;

  const step = niceStep(hi - lo || 1, 5);
  const yTicks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) yTicks.push(Number(v.toFixed(6)));
  const xCount = Math.min(6, chart.points.length);
  const xTicks = Array.from({ length: xCount }, (_, i) => new Date(t0 + ((t1 - t0) * i) / Math.max(1, xCount - 1)));

  const line = chart.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${r(x(p.at))},${r(y(p.value))}`).join(' ');
  const titleId = `${chart.id}-title`;
  const descId = `${chart.id}-desc`;
  return html`<svg class="trend" id="${chart.id}" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${titleId} ${descId}" preserveAspectRatio="xMidYMid meet">
<title id="${titleId}">${chart.title}</title>
<desc id="${descId}">${chart.description}</desc>
<g class="grid">${yTicks.map((v) => html`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${r(y(v))}" y2="${r(y(v))}"></line><text x="${PAD.left - 6}" y="${r(y(v)) + 4}" text-anchor="end">${chart.number(v)}</text>`)}</g>
<g class="axis">${xTicks.map((at) => html`<text x="${r(x(at))}" y="${H - 10}" text-anchor="middle">${chart.tick(at)}</text>`)}</g>
${chart.thresholds.map(
  (t) =>
    html`<g class="threshold ${t.kind}" data-threshold="${t.value}"><line x1="${PAD.left}" x2="${W - PAD.right}" y1="${r(y(t.value))}" y2="${r(y(t.value))}"></line><text x="${W - PAD.right - 4}" y="${r(y(t.value)) - 4}" text-anchor="end">${t.label}</text><title>${t.label}</title></g>`,
)}
<path class="series" d="${line}"></path>
<g class="points">${chart.points.map((p) => html`<circle cx="${r(x(p.at))}" cy="${r(y(p.value))}" r="3.5" data-value="${p.value}"><title>${p.label}</title></circle>`)}</g>
<g class="alerts">${chart.alerts.map((a) => {
    const ax = r(x(a.at));
    const ay = r(y(a.value));
    return html`<path d="M${ax},${r(ay - 13)} l6,9 h-12 z" data-alert-value="${a.value}"><title>${a.label}</title></path>`;
  })}</g>
</svg>` as HtmlEscapedString;
}
