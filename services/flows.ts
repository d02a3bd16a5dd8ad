import type { Flow } from '../core/flow/model.ts';
import { formatIssue } from '../core/flow/errors.ts';
import { parseFlow, positionIn } from '../core/flow/load.ts';
import { withThresholds } from '../core/flow/thresholds.ts';
import type { Db, Tx } from '../db/database.ts';
import { deployedVersion, deployVersion, newestOwnRelease, releasedVersion, versionById, type FlowVersionRow } from '../db/flows.ts';

/**
 * Where services get a flow: by organisation, flow id and — for a running
 * check-in — the version it started on. Each organisation has its own catalog
 * in the database (drafts, versions under review, published and retired
 * versions); flow files deployed with the service (VISITE_FLOWS_DIR) are
 * published versions every organisation uses that has no flow of that id of
 * its own.
 */
export interface FlowCatalog {
  /**
   * Without `version`: the version a check-in starting now runs on — the
   * organisation's latest published version, or the deployed file's when the
   * organisation has no own flow with this id (one whose versions are all
   * retired is unavailable). With `version`: exactly that published or retired
   * version, so a running check-in ends on the version it started with; pass
   * the stored `versionId` too, which tells an organisation's own version from
   * a deployed one with the same version string. Drafts are never returned.
   * Inside a transaction pass it as `tx` (embedded storage has one connection).
   */
  find(orgId: string, flowId: string, version?: string | FlowVersionRef, tx?: Tx): Promise<CatalogFlow | undefined>;
}

export interface FlowVersionRef {
  version: string;
  /** `checkins.flow_version_id`; null for check-ins started before the catalog. */
  versionId?: string | null;
}

/** Where a flow of the catalog comes from, and which stored version it is. */
export interface CatalogEntry {
  versionId: string;
  /** The flow's identity (`flows.id`): its Questionnaire's canonical URL ends with it. */
  flowRef: string;
  status: 'published' | 'retired';
  origin: 'organisation' | 'deployed';
}
export type CatalogFlow = Flow & { readonly catalog: CatalogEntry };

/** A flow file read at start: deployed (VISITE_FLOWS_DIR) or a template (the shipped `flows/`). */
export interface FlowFile {
  /** Compiled on its own (placeholder canonical URL); the catalog compiles the stored text again with its URL. */
  flow: Flow;
  /** The file's text, kept as it is (comments included). */
  source: string;
  file: string;
  /** The text of `<name>.transcripts.yaml` next to it, if there is one. */
  transcripts?: string;
}

/** A deployed file's version was published before with other content. */
export class DeployedFlowChangedError extends Error {
  override name = 'DeployedFlowChangedError';
}

/** Canonical URLs of a catalog flow: resolvable on this server, never a placeholder host. */
export const questionnaireUrl = (publicUrl: string, flowRef: string) => `${publicUrl}/fhir/R4/Questionnaire/${flowRef}`;
export const codeSystemUrl = (publicUrl: string, flowRef: string) => `${publicUrl}/fhir/CodeSystem/${flowRef}`;

export interface CatalogOptions {
  db: Db;
  /** The deployed flow files by flow id. */
  deployed: ReadonlyMap<string, FlowFile>;
  /** The server's public base URL (read when a version is first compiled). */
  links: { readonly publicUrl: string };
}

export interface Catalog extends FlowCatalog {
  readonly deployed: ReadonlyMap<string, FlowFile>;
  /** The stored version compiled with its canonical URL; cached, since released versions never change. */
  compile(row: FlowVersionRow): CatalogFlow;
  /** Compiles any stored text of a flow (drafts too) as the catalog does; `incompleteTexts` for drafts. */
  compileText(text: string, flowRef: string, options?: { incompleteTexts?: boolean; label?: string }): ReturnType<typeof parseFlow>;
  canonicalUrl(flowRef: string): string;
}

const CACHE_LIMIT = 1000;

/**
 * Opens the catalog: records the deployed files' versions (a version deployed
 * before with other content stops the start, with the file's `version:` line),
 * then answers from the database, compiling each released version once.
 */
export async function openFlowCatalog(options: CatalogOptions): Promise<Catalog> {
  const { db, deployed, links } = options;
  const compiled = new Map<string, CatalogFlow>();
  /** The organisation of each compiled version (null: deployed for all), to answer running check-ins without a query. */
  const owners = new Map<string, string | null>();
  /** Version ids of this instance's deployed files by flow id. */
  const deployedIds = new Map<string, string>();

  const problems: string[] = [];
  for (const [flowId, file] of deployed) {
    const row = await deployVersion(db, { flowId, version: file.flow.version, source: file.source, file: file.file });
    if (row.source !== file.source && !sameMeaning(row.source, file.source)) {
      problems.push(
        formatIssue({
          code: 'invalid-value',
          path: ['version'],
          file: file.file,
          ...positionIn(file.source, ['version']),
          message: `version ${file.flow.version} of "${flowId}" was deployed before with other content; a published version never changes`,
          hint: 'give the changed flow a new `version:`',
        }),
      );
    }
    deployedIds.set(flowId, row.id);
  }
  if (problems.length > 0) throw new DeployedFlowChangedError(`changed deployed flows:\n${problems.join('\n')}`);

  function compileText(text: string, flowRef: string, compileOptions: { incompleteTexts?: boolean; label?: string } = {}) {
    const publicUrl = links.publicUrl;
    return parseFlow(text, compileOptions.label ?? '<flow>', {
      defaults: { url: questionnaireUrl(publicUrl, flowRef), codeSystem: codeSystemUrl(publicUrl, flowRef) },
      ...(compileOptions.incompleteTexts ? { incompleteTexts: true } : {}),
    });
  }

  function compile(row: FlowVersionRow): CatalogFlow {
    const cached = compiled.get(row.id);
    if (cached) return cached;
    const result = compileText(row.source, row.flowRef, { label: row.file ?? `${row.flowId}@${row.version}` });
    // Released versions were checked when published; failing now is a bug (or a Visite upgrade that reads them differently).
    if (!result.ok) throw new Error(`stored flow ${row.flowId} ${row.version} does not compile: ${result.issues.map(formatIssue).join('; ')}`);
    const entry: CatalogEntry = {
      versionId: row.id,
      flowRef: row.flowRef,
      status: row.status === 'retired' ? 'retired' : 'published',
      origin: row.orgId === null ? 'deployed' : 'organisation',
    };
    const flow: CatalogFlow = { ...result.flow, catalog: entry };
    // The status is the one thing of a released version that changes; keep it out of the cache.
    if (compiled.size >= CACHE_LIMIT) {
      compiled.clear();
      owners.clear();
    }
    compiled.set(row.id, flow);
    owners.set(row.id, row.orgId);
    return flow;
  }

  /** `compile`, with the row's current status. */
  const current = (row: FlowVersionRow): CatalogFlow => {
    const flow = compile(row);
    return flow.catalog.status === row.status ? flow : { ...flow, catalog: { ...flow.catalog, status: row.status === 'retired' ? 'retired' : 'published' } };
  };

  const released = (row: FlowVersionRow | undefined) => (row && (row.status === 'published' || row.status === 'retired') ? row : undefined);

  return {
    deployed,
    compile: current,
    compileText,
    canonicalUrl: (flowRef) => questionnaireUrl(links.publicUrl, flowRef),

    async find(orgId, flowId, version, tx) {
      const ex = tx ?? db;
      if (version === undefined) {
        const own = await newestOwnRelease(ex, orgId, flowId);
        if (own) return own.status === 'published' ? current(own) : undefined;
        const file = deployed.get(flowId);
        if (!file) return undefined;
        const id = deployedIds.get(flowId);
        const row = released(id ? await versionById(ex, id) : await deployedVersion(ex, flowId, file.flow.version));
        return row ? current(row) : undefined;
      }
      const ref = typeof version === 'string' ? { version } : version;
      if (ref.versionId) {
        // A running check-in's own version: released versions never change, so the compiled one is
        // served without a query (every patient reply comes here). Only its status could have moved
        // to retired since — which a running check-in ignores; starting a check-in reads the row.
        const known = compiled.get(ref.versionId);
        const owner = owners.get(ref.versionId);
        if (known && owner !== undefined && (owner === orgId || owner === null) && known.id === flowId && known.version === ref.version) return known;
        const row = released(await versionById(ex, ref.versionId));
        return row && (row.orgId === orgId || row.orgId === null) && row.flowId === flowId && row.version === ref.version ? current(row) : undefined;
      }
      const row = await releasedVersion(ex, { orgId, flowId, version: ref.version });
      return row ? current(row) : undefined;
    },
  };
}

/** A version to start a check-in on: the pinned one while it is published, else the current one. */
export async function startableFlow(
  flows: FlowCatalog,
  orgId: string,
  flowId: string,
  pinned: string | null | undefined,
  tx?: Tx,
): Promise<CatalogFlow | undefined> {
  if (pinned) {
    const flow = await flows.find(orgId, flowId, pinned, tx);
    if (flow?.catalog.status === 'published') return flow;
  }
  return flows.find(orgId, flowId, undefined, tx);
}

/** Two flow texts that say the same (comments, quoting, key order aside). */
function sameMeaning(a: string, b: string): boolean {
  const x = parseFlow(a);
  const y = parseFlow(b);
  return x.ok && y.ok && stable(x.source) === stable(y.source);
}

function stable(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([p], [q]) => (p < q ? -1 : p > q ? 1 : 0))) : v,
  );
}

type Overrides = Record<string, Record<string, number>>;
const tuned = new Map<string, Flow>();

/** The flow with a care team's own thresholds (`care_teams.thresholds`), cached per flow version and overrides. */
export function withTeamThresholds<T extends Flow>(flow: T, thresholds: unknown): T {
  const overrides = (thresholds as Overrides | null | undefined)?.[flow.id];
  if (!overrides || Object.keys(overrides).length === 0) return flow;
  const key = `${flow.url}|${flow.version}:${JSON.stringify(overrides)}`;
  let result = tuned.get(key);
  if (!result) {
    result = withThresholds(flow, overrides);
    if (tuned.size > 500) tuned.clear();
    tuned.set(key, result);
  }
  return result as T;
}
