import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FLOWS_DIR } from '../../../server/config.ts';
import { FlowLoadError, loadFlows } from '../../../server/flows.ts';

/** Deployed flow files (VISITE_FLOWS_DIR) and templates are read at start, text and transcripts included. */
describe('loading flow files at start', () => {
  it("keeps each file's text and the golden transcripts next to it", () => {
    const shipped = loadFlows(DEFAULT_FLOWS_DIR);
    const postOp = shipped.get('post-op')!;
    expect(postOp.source).toMatch(/^# Post-operative check-in/);
    expect(postOp.transcripts).toMatch(/^# Golden transcripts for post-op\.yaml/);
    expect(postOp.file).toBe(join(DEFAULT_FLOWS_DIR, 'post-op.yaml'));
  });

  it('stops at a broken flow with file:line:col', () => {
    const dir = mkdtempSync(join(tmpdir(), 'visite-flows-'));
    writeFileSync(
      join(dir, 'broken.yaml'),
      'id: x\nversion: "1"\ntitle: { de: X, en: X }\nlanguages: [de, en]\nquestions:\n  - id: a\n    type: boolean\n    txt: { de: A, en: A }\n',
    );
    expect(() => loadFlows(dir)).toThrow(FlowLoadError);
    expect(() => loadFlows(dir)).toThrow(`${join(dir, 'broken.yaml')}:8:5: unknown key "txt" [unknown-key]`);
  });
});
