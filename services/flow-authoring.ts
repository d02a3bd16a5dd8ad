import { parse as parseYaml } from 'yaml';
import { checkPublishable, type PublishCheck } from '../core/conversation/publish-check.ts';
import type { SessionOptions } from '../core/conversation/session.ts';
import { parseTranscripts, type TranscriptProblem } from '../core/conversation/transcripts.ts';
import { tryAnswers, type TryEvent } from '../core/conversation/try.ts';
import { missingTexts, type MissingTexts } from '../core/flow/completeness.ts';
import { diffFlows, type FlowDiff } from '../core/flow/diff.ts';
import { issue, type FlowIssue } from '../core/flow/errors.ts';
import { positionIn, type LoadResult } from '../core/flow/load.ts';
import type { Flow } from '../core/flow/model.ts';
import { checkThresholds } from '../core/flow/thresholds.ts';
import { teamThresholdsFor } from '../db/care-teams.ts';
import type { Db, Tx } from '../db/database.ts';
import {
  deleteVersion,
  draftOf,
  ensureFlowRow,
  flowRow,
  insertVersion,
  newestOwnRelease,
  openCheckinsOn,
  ownRelease,
  updateVersion,
  type FlowVersionRow,
} from '../db/flows.ts';
import type { Catalog, FlowFile } from './flows.ts';

/**
 * Authoring an organisation's flows: drafts written over the API (YAML, JSON
 * or an imported Questionnaire), tried, submitted for review and published by
 * a second person (four-eyes), and retired. Only published versions reach
 * patients — the catalog never hands out a draft — and a published version
 * never changes. Each operation is one transaction, serialised per flow by a
 * lock on the flow's row.
 */
export type CatalogErrorReason = 'not_found' | 'conflict' | 'four_eyes' | 'invalid';

/** Why an operation was refused; `invalid` carries located issues or failed publish checks in `details`. */
export class CatalogError extends Error {
  override name = 'CatalogError';
  readonly reason: CatalogErrorReason;
  readonly details: Record<string, unknown> | undefined;
  constructor(reason: CatalogErrorReason, message: string, details?: Record<string, unknown>) {
    super(message);
    this.reason = reason;
    this.details = details;
  }
}

/** Who acts: `api_key:<id>` or `user:<OIDC subject>`. */
export type Actor = string;

/** A care team's threshold that no longer fits the flow (e.g. its rule was removed). */
export interface ThresholdProblem {
  careTeamId: string;
  careTeamName: string;
  ruleId: string;
  message: string;
}

export interface SavedDraft {
  row: FlowVersionRow;
  flow: Flow;
  /** Texts still missing (publishing refuses them); empty when complete. */
  warnings: FlowIssue[];
  missingTexts: MissingTexts[];
  created: boolean;
}

export interface Published {
  row: FlowVersionRow;
  flow: Flow;
  transcripts: { passed: number };
  /** Care teams' thresholds the new version no longer takes: reported, not silently dropped. */
  thresholdProblems: ThresholdProblem[];
  /** The version new check-ins used before (null: none of the organisation's own). */
  previous: string | null;
}

export interface FlowAuthoring {
  /** Creates or replaces the flow's draft from text; `create`: the flow must be new to the organisation. */
  saveDraft(
    orgId: string,
    flowId: string,
    text: string,
    actor: Actor,
    options?: { create?: boolean; transcripts?: string; label?: string },
  ): Promise<SavedDraft>;
  /** A new flow from a template: its text and golden transcripts, as the organisation's draft. */
  fromTemplate(orgId: string, templateId: string, actor: Actor): Promise<SavedDraft>;
  saveTranscripts(orgId: string, flowId: string, text: string, actor: Actor): Promise<FlowVersionRow>;
  draft(orgId: string, flowId: string): Promise<{ row: FlowVersionRow; compiled: LoadResult }>;
  discardDraft(orgId: string, flowId: string): Promise<FlowVersionRow>;
  tryDraft(orgId: string, flowId: string, answers: readonly string[], options: SessionOptions): Promise<{ row: FlowVersionRow; events: TryEvent[] }>;
  diff(orgId: string, flowId: string): Promise<{ row: FlowVersionRow; diff: FlowDiff; thresholdProblems: ThresholdProblem[] }>;
  submit(orgId: string, flowId: string, actor: Actor): Promise<{ row: FlowVersionRow; transcripts: { passed: number } }>;
  publish(orgId: string, flowId: string, actor: Actor): Promise<Published>;
  retire(orgId: string, flowId: string, version: string, actor: Actor): Promise<{ row: FlowVersionRow; openCheckins: number }>;
  /** The organisation's care teams' thresholds that do not fit a flow. */
  thresholdProblems(orgId: string, flow: Flow, ex?: Db | Tx): Promise<ThresholdProblem[]>;
}

export interface AuthoringOptions {
  db: Db;
  catalog: Catalog;
  templates: ReadonlyMap<string, FlowFile>;
}

export function createFlowAuthoring(options: AuthoringOptions): FlowAuthoring {
  const { db, catalog, templates } = options;

  const invalid = (message: string, issues: FlowIssue[], source?: unknown) =>
    new CatalogError('invalid', message, { issues: issues.map(describeIssue), missingTexts: source === undefined ? [] : missingTexts(issues, source) });

  /** The draft, locked, or 404. */
  async function lockedDraft(tx: Tx, orgId: string, flowId: string): Promise<FlowVersionRow> {
    // The flow's row first: every change to one flow's versions queues behind it.
    const flow = await flowRow(tx, orgId, flowId, { lock: true });
    const draft = flow ? await draftOf(tx, orgId, flowId, { lock: true }) : undefined;
    if (!draft) throw new CatalogError('not_found', 'no draft of this flow');
    return draft;
  }

  /** The publish checks of a stored draft, compiled strictly (every text in every language). */
  function checks(row: FlowVersionRow): PublishCheck {
    const compiled = catalog.compileText(row.source, row.flowRef, { label: `${row.flowId}@${row.version}` });
    return checkPublishable(compiled, sourceOf(compiled, row.source), row.transcripts);
  }

  function refuseFailed(check: PublishCheck, what: string): asserts check is Extract<PublishCheck, { ok: true }> {
    if (check.ok) return;
    const reasons = [
      check.missingTexts.length > 0 ? `texts missing in ${check.missingTexts.map((m) => m.language).join(', ')}` : '',
      check.issues.length > check.missingTexts.reduce((n, m) => n + m.keys.length, 0) ? 'the flow has errors' : '',
      check.transcriptProblems.length > 0 ? 'the transcripts are malformed' : '',
      check.transcriptFailures.length > 0 ? `${check.transcriptFailures.length} golden transcript(s) fail` : '',
    ].filter(Boolean);
    throw new CatalogError('invalid', `${what}: ${reasons.join('; ') || 'checks failed'}`, {
      issues: check.issues.map(describeIssue),
      missingTexts: check.missingTexts,
      transcriptProblems: check.transcriptProblems,
      transcriptFailures: check.transcriptFailures,
    });
  }

  async function thresholdProblems(orgId: string, flow: Flow, ex: Db | Tx = db): Promise<ThresholdProblem[]> {
    const teams = await teamThresholdsFor(ex, orgId, flow.id);
    return teams.flatMap((team) =>
      checkThresholds(flow, team.overrides).map((p) => ({ careTeamId: team.id, careTeamName: team.name, ruleId: p.ruleId, message: p.message })),
    );
  }

  async function saveDraft(
    orgId: string,
    flowId: string,
    text: string,
    actor: Actor,
    saveOptions: { create?: boolean; transcripts?: string; label?: string } = {},
  ): Promise<SavedDraft> {
    return db.transaction(async (tx) => {
      const flowRef = (await ensureFlowRow(tx, orgId, flowId)).id;
      await flowRow(tx, orgId, flowId, { lock: true });
      const existing = await draftOf(tx, orgId, flowId, { lock: true });
      const released = await newestOwnRelease(tx, orgId, flowId);
      if (saveOptions.create && (existing || released))
        throw new CatalogError('conflict', `your organisation already has a flow "${flowId}"; change its draft with PUT /v1/flows/${flowId}/draft`);
      const compiled = catalog.compileText(text, flowRef, { incompleteTexts: true, label: saveOptions.label ?? `${flowId}.yaml` });
      if (!compiled.ok) throw invalid(`the flow has ${compiled.issues.length} problem(s)`, compiled.issues, sourceOf(compiled, text));
      const { flow, source } = compiled;
      const located = (path: (string | number)[], message: string, hint: string) => ({
        ...issue('invalid-value', path, message, hint),
        file: saveOptions.label ?? `${flowId}.yaml`,
        ...positionIn(text, path),
      });
      if (flow.id !== flowId)
        throw invalid('the flow id does not match the address', [
          located(
            ['id'],
            `id "${flow.id}" differs from the flow "${flowId}" this draft is for`,
            `write \`id: ${flowId}\`, or send it to /v1/flows/${flow.id}/draft`,
          ),
        ]);
      if (source.url !== undefined) {
        throw invalid("an organisation's flow has its canonical URL from this server", [
          located(
            ['url'],
            "`url` is set by Visite for your organisation's flows",
            `remove \`url:\`; the Questionnaire's URL will be ${catalog.canonicalUrl(flowRef)}`,
          ),
        ]);
      }
      if (await ownRelease(tx, orgId, flowId, flow.version)) {
        throw invalid('this version was published before', [
          located(
            ['version'],
            `version ${flow.version} of "${flowId}" is already published, and a published version never changes`,
            'give the draft a new `version:`, e.g. one with the last number raised',
          ),
        ]);
      }
      const now = new Date();
      const authors = [...new Set([...(existing?.authors ?? []), actor])];
      // A new draft keeps the flow's golden transcripts (of its newest version) unless it brings its own.
      const transcripts = saveOptions.transcripts ?? existing?.transcripts ?? released?.transcripts ?? null;
      const row = existing
        ? await updateVersion(tx, existing.id, {
            version: flow.version,
            source: text,
            transcripts,
            status: 'draft',
            authors,
            updatedAt: now,
            submittedBy: null,
            submittedAt: null,
          })
        : await insertVersion(tx, {
            flowRef,
            orgId,
            flowId,
            version: flow.version,
            status: 'draft',
            source: text,
            transcripts,
            authors,
            createdAt: now,
            updatedAt: now,
          });
      return { row, flow, warnings: compiled.warnings, missingTexts: missingTexts(compiled.warnings, source), created: !existing };
    });
  }

  async function draft(orgId: string, flowId: string) {
    const row = await draftOf(db, orgId, flowId);
    if (!row) throw new CatalogError('not_found', 'no draft of this flow');
    return { row, compiled: catalog.compileText(row.source, row.flowRef, { incompleteTexts: true, label: `${flowId}@${row.version}` }) };
  }

  /** The stored draft compiled (it compiled when it was saved). */
  async function draftFlow(orgId: string, flowId: string): Promise<{ row: FlowVersionRow; flow: Flow }> {
    const { row, compiled } = await draft(orgId, flowId);
    if (!compiled.ok) throw invalid('the stored draft does not compile', compiled.issues);
    return { row, flow: compiled.flow };
  }

  return {
    saveDraft,
    thresholdProblems,
    draft,

    async fromTemplate(orgId, templateId, actor) {
      const template = templates.get(templateId);
      if (!template) throw new CatalogError('not_found', 'no such template');
      return saveDraft(orgId, template.flow.id, template.source, actor, {
        create: true,
        label: template.file,
        ...(template.transcripts !== undefined ? { transcripts: template.transcripts } : {}),
      });
    },

    async saveTranscripts(orgId, flowId, text, actor) {
      const parsed = parseTranscripts(text);
      if (!parsed.ok)
        throw new CatalogError('invalid', 'the transcripts are malformed', {
          issues: [],
          missingTexts: [],
          transcriptProblems: parsed.problems satisfies TranscriptProblem[],
        });
      return db.transaction(async (tx) => {
        const draft = await lockedDraft(tx, orgId, flowId);
        return updateVersion(tx, draft.id, {
          transcripts: text,
          status: 'draft',
          authors: [...new Set([...draft.authors, actor])],
          updatedAt: new Date(),
          submittedBy: null,
          submittedAt: null,
        });
      });
    },

    async discardDraft(orgId, flowId) {
      return db.transaction(async (tx) => {
        const draft = await lockedDraft(tx, orgId, flowId);
        await deleteVersion(tx, draft.id);
        return draft;
      });
    },

    async tryDraft(orgId, flowId, answers, sessionOptions) {
      const { row, flow } = await draftFlow(orgId, flowId);
      return { row, events: tryAnswers(flow, answers, sessionOptions) };
    },

    async diff(orgId, flowId) {
      const { row, flow } = await draftFlow(orgId, flowId);
      // Against what patients get now: the organisation's published version, or the deployed file.
      const published = await catalog.find(orgId, flowId);
      return { row, diff: diffFlows(published, flow), thresholdProblems: await thresholdProblems(orgId, flow) };
    },

    async submit(orgId, flowId, actor) {
      return db.transaction(async (tx) => {
        const draft = await lockedDraft(tx, orgId, flowId);
        if (draft.status === 'in_review') throw new CatalogError('conflict', `version ${draft.version} of "${flowId}" is already in review`);
        const check = checks(draft);
        refuseFailed(check, 'the draft cannot go to review');
        const row = await updateVersion(tx, draft.id, {
          status: 'in_review',
          submittedBy: actor,
          submittedAt: new Date(),
          authors: [...new Set([...draft.authors, actor])],
        });
        return { row, transcripts: check.transcripts };
      });
    },

    async publish(orgId, flowId, actor) {
      return db.transaction(async (tx) => {
        const draft = await lockedDraft(tx, orgId, flowId);
        if (draft.status !== 'in_review')
          throw new CatalogError(
            'conflict',
            `version ${draft.version} of "${flowId}" is a draft; its author submits it for review first (POST /v1/flows/${flowId}/draft/submit)`,
          );
        if (draft.authors.includes(actor) || draft.submittedBy === actor) {
          throw new CatalogError(
            'four_eyes',
            'four-eyes rule: you wrote or submitted this version; another person with the org_admin or flow_reviewer role publishes it',
          );
        }
        const check = checks(draft);
        refuseFailed(check, 'the version cannot be published');
        if (await ownRelease(tx, orgId, flowId, draft.version))
          throw new CatalogError('conflict', `version ${draft.version} of "${flowId}" is already published`);
        const previous = await newestOwnRelease(tx, orgId, flowId);
        const row = await updateVersion(tx, draft.id, { status: 'published', publishedBy: actor, publishedAt: new Date() });
        const flow = catalog.compile(row);
        return {
          row,
          flow,
          transcripts: check.transcripts,
          thresholdProblems: await thresholdProblems(orgId, flow, tx),
          previous: previous?.status === 'published' ? previous.version : null,
        };
      });
    },

    async retire(orgId, flowId, version, actor) {
      return db.transaction(async (tx) => {
        await flowRow(tx, orgId, flowId, { lock: true });
        const release = await ownRelease(tx, orgId, flowId, version, { lock: true });
        if (!release) throw new CatalogError('not_found', 'no such flow version');
        if (release.status === 'retired') throw new CatalogError('conflict', `version ${version} of "${flowId}" is already retired`);
        const row = await updateVersion(tx, release.id, { status: 'retired', retiredBy: actor, retiredAt: new Date() });
        // Running check-ins end on it (the catalog still finds retired versions); only new ones start elsewhere.
        return { row, openCheckins: await openCheckinsOn(tx, row.id) };
      });
    },
  };
}

/** The parsed document behind a compile result (for keys of missing texts). */
function sourceOf(compiled: LoadResult, text: string): unknown {
  if (compiled.ok) return compiled.source;
  try {
    return parseYaml(text);
  } catch {
    return undefined;
  }
}

/** An issue as the API reports it: `path` as text, `line`/`column` in the submitted text. */
export function describeIssue(i: FlowIssue): Record<string, unknown> {
  return {
    code: i.code,
    message: i.message,
    ...(i.hint ? { hint: i.hint } : {}),
    path: i.path.map(String).join('.'),
    ...(i.line !== undefined ? { line: i.line, column: i.col } : {}),
    ...(i.languages ? { languages: i.languages } : {}),
  };
}
