import type { Flow } from '../core/flow/model.ts';
import { withThresholds } from '../core/flow/thresholds.ts';

/**
 * Where services get a flow: by organisation, flow id and (for a running
 * check-in) the version it started on. Asynchronous so a catalog in the
 * database can stand behind it.
 */
export interface FlowCatalog {
  find(orgId: string, flowId: string, version?: string): Promise<Flow | undefined>;
}

/**
 * The flows deployed as files (VISITE_FLOWS_DIR), shared by every
 * organisation. Files have one version each: a check-in that started on an
 * older file continues on the deployed one.
 */
export function deployedFlows(flows: ReadonlyMap<string, Flow>): FlowCatalog {
  return { find: async (_orgId, flowId) => flows.get(flowId) };
}

type Overrides = Record<string, Record<string, number>>;
const tuned = new Map<string, Flow>();

/** The flow with a care team's own thresholds (`care_teams.thresholds`), cached per flow version and overrides. */
export function withTeamThresholds(flow: Flow, thresholds: unknown): Flow {
  const overrides = (thresholds as Overrides | null | undefined)?.[flow.id];
  if (!overrides || Object.keys(overrides).length === 0) return flow;
  const key = `${flow.url}|${flow.version}:${JSON.stringify(overrides)}`;
  let result = tuned.get(key);
  if (!result) {
    result = withThresholds(flow, overrides);
    if (tuned.size > 500) tuned.clear();
    tuned.set(key, result);
  }
  return result;
}
