import { describe, expect, it } from 'vitest';
import { checkPublishable } from '../../../core/conversation/publish-check.ts';
import { missingTexts } from '../../../core/flow/completeness.ts';
import { parseFlow } from '../../../core/flow/load.ts';
import { HEADER } from '../helpers.ts';

/** Drafts may lack translations while they are written; publishing refuses them, naming each text. */
const DRAFT = `${HEADER.replace('languages: [de, en]', 'languages: [de, en, tr]').replace('title: { de: Test, en: Test }', 'title: { de: Test, en: Test, tr: Test }')}questions:
  - id: pain
    type: choice
    text: { de: Schmerzen?, en: Pain?, tr: Ağrı? }
    options:
      - code: none
        text: { de: keine, en: none, tr: yok }
      - code: strong
        text: { de: stark, en: strong }
    escalations:
      - id: strong-pain
        when: { op: "=", value: strong }
        severity: warning
        message: { de: Starke Schmerzen. }
`;

describe('missing texts', () => {
  it('are errors of a flow file, as before', () => {
    const strict = parseFlow(DRAFT, 'draft.yaml');
    expect(strict.ok).toBe(false);
  });

  it('are warnings of a draft, located, grouped per language with keys by id', () => {
    const draft = parseFlow(DRAFT, 'draft.yaml', { incompleteTexts: true });
    if (!draft.ok) throw new Error(JSON.stringify(draft.issues));
    expect(draft.warnings.map((w) => [w.code, w.line, w.col])).toEqual([
      ['missing-translation', 13, 15],
      ['missing-translation', 18, 18],
    ]);
    expect(missingTexts(draft.warnings, draft.source)).toEqual([
      { language: 'tr', keys: ['questions.pain.options.strong.text'] },
      { language: 'en', keys: ['questions.pain.escalations.strong-pain.message'] },
    ]);
  });

  it('refuse publishing with the same keys; a complete flow passes', () => {
    const check = checkPublishable(parseFlow(DRAFT, 'draft.yaml'), undefined, null);
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.missingTexts.map((m) => m.language)).toEqual(['tr', 'en']);
    const complete = DRAFT.replace('text: { de: stark, en: strong }', 'text: { de: stark, en: strong, tr: güçlü }').replace(
      'message: { de: Starke Schmerzen. }',
      'message: { de: Starke Schmerzen., en: Strong pain. }',
    );
    const ok = checkPublishable(
      parseFlow(complete, 'draft.yaml'),
      undefined,
      'transcripts:\n  - name: strong\n    lang: tr\n    messages: ["2"]\n    expect: { alerts: [strong-pain], answers: { pain: strong } }\n',
    );
    expect(ok).toMatchObject({ ok: true, transcripts: { passed: 1 } });
    const failing = checkPublishable(
      parseFlow(complete, 'draft.yaml'),
      undefined,
      'transcripts:\n  - name: quiet\n    lang: de\n    messages: ["2"]\n    expect: { alerts: [] }\n',
    );
    expect(failing).toMatchObject({ ok: false, transcriptFailures: [{ name: 'quiet', lang: 'de', failures: ['alerts: expected [], got [strong-pain]'] }] });
  });

  it("gives a flow the catalog's canonical URL and code system unless it names its own", () => {
    const r = parseFlow(DRAFT, 'draft.yaml', {
      incompleteTexts: true,
      defaults: { url: 'https://visite.klinik.de/fhir/R4/Questionnaire/abc', codeSystem: 'https://visite.klinik.de/fhir/CodeSystem/abc' },
    });
    if (!r.ok) throw new Error('does not compile');
    expect(r.flow.url).toBe('https://visite.klinik.de/fhir/R4/Questionnaire/abc');
    const own = parseFlow(`codeSystem: urn:klinik:codes\n${DRAFT}`, 'draft.yaml', {
      incompleteTexts: true,
      defaults: { codeSystem: 'https://visite.klinik.de/fhir/CodeSystem/abc' },
    });
    expect(own.ok && own.flow.codeSystem).toBe('urn:klinik:codes');
  });
});
