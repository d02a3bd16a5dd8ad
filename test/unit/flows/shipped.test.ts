import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadFlowFile } from '../../../core/flow/load.ts';
import type { Flow, LocalizedText } from '../../../core/flow/model.ts';
import { LANGUAGES } from '../../../core/language.ts';
import { runTranscriptFile } from '../../../cli/transcripts.ts';
import { FLOWS } from '../helpers.ts';

const flowFiles = readdirSync(FLOWS).filter((f) => f.endsWith('.yaml') && !f.endsWith('.transcripts.yaml'));

/** Every patient-facing text of a flow. */
function patientTexts(flow: Flow): [string, LocalizedText][] {
  const out: [string, LocalizedText][] = [['title', flow.title]];
  if (flow.intro) out.push(['intro', flow.intro]);
  if (flow.outro) out.push(['outro', flow.outro]);
  for (const q of flow.questions) {
    out.push([q.id, q.text]);
    if (q.type !== 'info') out.push([`${q.id}.label`, q.label ?? {}]); // every question has a short label
    if (q.hint) out.push([`${q.id}.hint`, q.hint]);
    if (q.type === 'choice' || q.type === 'multi-choice') for (const o of q.options) out.push([`${q.id}.${o.code}`, o.text]);
    if (q.type === 'scale' && q.minLabel && q.maxLabel) out.push([`${q.id}.minLabel`, q.minLabel], [`${q.id}.maxLabel`, q.maxLabel]);
  }
  return out;
}

// LOINC codes named in BRIEF §4; shipped flows use no others.
const KNOWN_LOINC = new Set(['8310-5', '72514-3', '8867-4', '8480-6', '8462-4', '85354-9', '29463-7', '9279-1', '59408-5', '41653-7', '6301-6']);

describe('shipped flows', () => {
  it('ships the post-op and medication-change flows', () => {
    expect(flowFiles).toEqual(expect.arrayContaining(['post-op.yaml', 'medication-change.yaml']));
  });

  for (const file of flowFiles) {
    describe(file, () => {
      const result = loadFlowFile(`${FLOWS}${file}`);

      it('validates', () => {
        expect(result.ok ? [] : result.issues).toEqual([]);
      });

      it('has every patient text in all seven languages', () => {
        if (!result.ok) return expect.fail('flow invalid');
        expect(result.flow.languages).toEqual([...LANGUAGES]);
        for (const [where, text] of patientTexts(result.flow)) {
          for (const lang of LANGUAGES) expect(text[lang], `${where} [${lang}]`).toBeTruthy();
        }
      });

      it('uses only real LOINC codes and UCUM units on measurements', () => {
        if (!result.ok) return expect.fail('flow invalid');
        for (const q of result.flow.questions) {
          for (const c of q.codes) if (c.system === 'http://loinc.org') expect(KNOWN_LOINC.has(c.code), `${q.id} ${c.code}`).toBe(true);
          if (q.type === 'quantity' && q.codes.some((c) => c.system === 'http://loinc.org')) expect(q.unit, q.id).toBeTruthy();
        }
      });

      it('has escalation rules with clinician messages in de and en', () => {
        if (!result.ok) return expect.fail('flow invalid');
        const rules = [...result.flow.escalations, ...result.flow.questions.flatMap((q) => q.escalations)];
        expect(rules.length).toBeGreaterThan(3);
        expect(rules.some((r) => r.severity === 'urgent')).toBe(true);
        for (const r of rules) expect(r.message.de && r.message.en, r.id).toBeTruthy();
      });

      it('passes its golden transcripts in all seven languages', () => {
        const results = runTranscriptFile(`${FLOWS}${file.replace(/\.yaml$/, '.transcripts.yaml')}`);
        expect(results.filter((r) => !r.ok).map((r) => `${r.name} [${r.lang}]: ${r.failures.join('; ')}`)).toEqual([]);
        expect(new Set(results.map((r) => r.lang))).toEqual(new Set(LANGUAGES));
      });
    });
  }

  it("post-op uses the brief's codes for pain and temperature", () => {
    const r = loadFlowFile(`${FLOWS}post-op.yaml`);
    if (!r.ok) return expect.fail('invalid');
    const byId = new Map(r.flow.questions.map((q) => [q.id, q]));
    expect(byId.get('pain')?.codes[0]).toMatchObject({ system: 'http://loinc.org', code: '72514-3' });
    expect(byId.get('temperature')).toMatchObject({ unit: 'Cel', codes: [{ code: '8310-5' }] });
  });
});
