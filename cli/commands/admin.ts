import { openDatabase } from '../../db/database.ts';
import { eq } from 'drizzle-orm';
import { createOrganisation } from '../../db/organisations.ts';
import { organisations, ROLES, type Role } from '../../db/schema.ts';
import { createLoginLink } from '../../db/web-sessions.ts';
import { createApiKey } from '../../server/api/auth.ts';
import { CliError } from '../output.ts';

/**
 * `visite admin create-org --name NAME`: the operator's bootstrap. Creates an
 * organisation (tenant) in the configured database and prints its id and a
 * first API key with the org_admin role — the only time the key is shown.
 * Uses DATABASE_URL, or the embedded database in VISITE_DATA_DIR (stop the
 * service first: embedded storage allows one process at a time).
 */
export interface AdminOptions {
  name?: string | undefined;
  retention?: string | undefined;
  org?: string | undefined;
  role?: string | undefined;
  minutes?: string | undefined;
  url?: string | undefined;
}

const openConfigured = () => {
  const url = process.env['DATABASE_URL'];
  return openDatabase(url ? { url } : { dataDir: `${process.env['VISITE_DATA_DIR'] ?? 'var/data'}/pglite` });
};

/**
 * `visite admin login-link --org ID --name NAME --role clinician`: a single-use
 * sign-in link to the web app, valid for `--minutes` (default 15, at most 60),
 * for installations without an identity provider. Only the link's hash is stored.
 */
async function loginLinkCommand(options: AdminOptions): Promise<number> {
  const name = options.name?.trim();
  if (!name) throw new CliError('--name is required: who signs in, e.g. --name "Dr. Berg"');
  if (!options.org || !/^[0-9a-f-]{36}$/i.test(options.org)) throw new CliError('--org is required: the organisation id (a UUID) from visite admin create-org');
  const roles = (options.role ?? '').split(',').map((r) => r.trim()).filter(Boolean);
  const unknown = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (roles.length === 0 || unknown.length > 0) throw new CliError(`--role must name one or more of ${ROLES.join(', ')} (comma-separated)`);
  const minutes = options.minutes === undefined ? 15 : Number(options.minutes);
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 60) throw new CliError('--minutes must be a whole number from 1 to 60');
  const base = (options.url ?? process.env['VISITE_PUBLIC_URL'] ?? `http://${process.env['VISITE_HTTP_HOST'] ?? '127.0.0.1'}:${process.env['VISITE_HTTP_PORT'] ?? '8080'}`).replace(/\/+$/, '');
  const database = await openConfigured();
  try {
    const [org] = await database.db.select({ id: organisations.id }).from(organisations).where(eq(organisations.id, options.org));
    if (!org) throw new CliError(`no organisation ${options.org} in this database`);
    const link = await createLoginLink(database.db, { orgId: org.id, name, roles: roles as Role[], lifetimeMs: minutes * 60_000 });
    process.stdout.write(`${base}/app/auth/link?token=${link.token}\n`);
    process.stderr.write(`Single use, valid until ${link.expiresAt.toISOString()}.\n`);
    return 0;
  } finally {
    await database.close();
  }
}

export async function adminCommand(command: string | undefined, options: AdminOptions): Promise<number> {
  if (command === 'login-link') return loginLinkCommand(options);
  if (command !== 'create-org') throw new CliError(`unknown admin command "${command ?? ''}"; try: visite admin create-org --name "Klinik" or visite admin login-link`);
  const name = options.name?.trim();
  if (!name) throw new CliError('--name is required, e.g. visite admin create-org --name "Praxis Dr. Berg"');
  const retentionDays = options.retention === undefined ? undefined : Number(options.retention);
  if (retentionDays !== undefined && (!Number.isInteger(retentionDays) || retentionDays < 1)) throw new CliError('--retention-days must be a whole number of days ≥ 1');
  const database = await openConfigured();
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
