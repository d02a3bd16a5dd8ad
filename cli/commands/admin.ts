import { openDatabase } from '../../db/database.ts';
import { createOrganisation } from '../../db/organisations.ts';
import { createApiKey } from '../../server/api/auth.ts';
import { CliError } from '../output.ts';

/**
 * `visite admin create-org --name NAME`: the operator's bootstrap. Creates an
 * organisation (tenant) in the configured database and prints its id and a
 * first API key with the org_admin role — the only time the key is shown.
 * Uses DATABASE_URL, or the embedded database in VISITE_DATA_DIR (stop the
 * service first: embedded storage allows one process at a time).
 */
export async function adminCommand(command: string | undefined, options: { name?: string | undefined; retention?: string | undefined }): Promise<number> {
  if (command !== 'create-org') throw new CliError(`unknown admin command "${command ?? ''}"; try: visite admin create-org --name "Klinik"`);
  const name = options.name?.trim();
  if (!name) throw new CliError('--name is required, e.g. visite admin create-org --name "Praxis Dr. Berg"');
  const retentionDays = options.retention === undefined ? undefined : Number(options.retention);
  if (retentionDays !== undefined && (!Number.isInteger(retentionDays) || retentionDays < 1)) throw new CliError('--retention-days must be a whole number of days ≥ 1');
  const url = process.env['DATABASE_URL'];
  const database = await openDatabase(url ? { url } : { dataDir: `${process.env['VISITE_DATA_DIR'] ?? 'var/data'}/pglite` });
  try {
    const org = await createOrganisation(database.db, { name, ...(retentionDays ? { retentionDays } : {}) });
    const key = await createApiKey(database.db, org.id, 'initial admin key', ['org_admin']);
    process.stdout.write(`${JSON.stringify({ organisation: { id: org.id, name: org.name, retentionDays: org.retentionDays }, apiKey: { id: key.id, roles: key.roles, secret: key.secret } }, null, 2)}\n`);
    process.stderr.write('Store the API key now: it is not shown again. Use it as "Authorization: Bearer <secret>".\n');
    return 0;
  } finally {
    await database.close();
  }
}
