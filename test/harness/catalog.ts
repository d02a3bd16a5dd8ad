import type { Db } from '../../db/database.ts';
import { createFlowAuthoring, type FlowAuthoring } from '../../services/flow-authoring.ts';
import { openFlowCatalog, type Catalog, type FlowFile } from '../../services/flows.ts';
import { DEFAULT_FLOWS_DIR } from '../../server/config.ts';
import { loadFlows } from '../../server/flows.ts';

/** The shipped flows, read once per test file: deployed in the tests' catalogs and the templates. */
export const SHIPPED: ReadonlyMap<string, FlowFile> = loadFlows(DEFAULT_FLOWS_DIR);

/** The base URL test catalogs build canonical URLs from (as the test API's `publicUrl`). */
export const TEST_PUBLIC_URL = 'http://visite.test';

/** The flow catalog as Visite opens it, on a test's database: the shipped flows deployed. */
export function openTestCatalog(db: Db, options: { deployed?: ReadonlyMap<string, FlowFile>; publicUrl?: string } = {}): Promise<Catalog> {
  return openFlowCatalog({ db, deployed: options.deployed ?? SHIPPED, links: { publicUrl: options.publicUrl ?? TEST_PUBLIC_URL } });
}

export function testAuthoring(db: Db, catalog: Catalog): FlowAuthoring {
  return createFlowAuthoring({ db, catalog, templates: SHIPPED });
}
