import { openDatabase } from '../../db/database.ts';
import { asc, eq } from 'drizzle-orm';
import { isMatrixInviter, isMatrixUserId } from '../../core/matrix-id.ts';
import { accountById, accountsOfOrg, createAccount, rotateCredentials, type AccountCredentials, type BotAccount } from '../../db/bot-accounts.ts';
import { createOrganisation } from '../../db/organisations.ts';
import { botAccounts, organisations, ROLES, type Role } from '../../db/schema.ts';
import { secretBox, type SecretBox } from '../../db/secrets.ts';
import { createLoginLink } from '../../db/web-sessions.ts';
import { createApiKey } from '../../server/api/auth.ts';
import {
  botAccountView,
  checkAccessToken,
  DEFAULT_BOT_DISPLAY_NAME,
  homeserverUrlProblem,
  HomeserverUnreachableError,
  isUniqueViolation,
  matrixWhoami,
  normaliseHomeserverUrl,
} from '../../server/bot-accounts.ts';
import { ConfigError, secretsFromEnvironment } from '../../server/config.ts';
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
  /** Bot accounts: `--user`, `--homeserver`, `--password-env`, `--token-env`, `--display-name`, `--inviter`…, `--account`. */
  user?: string | undefined;
  homeserver?: string | undefined;
  passwordEnv?: string | undefined;
  tokenEnv?: string | undefined;
  displayName?: string | undefined;
  inviter?: string[] | undefined;
  account?: string | undefined;
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
  const roles = (options.role ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const unknown = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (roles.length === 0 || unknown.length > 0) throw new CliError(`--role must name one or more of ${ROLES.join(', ')} (comma-separated)`);
  const minutes = options.minutes === undefined ? 15 : Number(options.minutes);
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 60) throw new CliError('--minutes must be a whole number from 1 to 60');
  const base = (
    options.url ??
    process.env['VISITE_PUBLIC_URL'] ??
    `http://${process.env['VISITE_HTTP_HOST'] ?? '127.0.0.1'}:${process.env['VISITE_HTTP_PORT'] ?? '8080'}`
  ).replace(/\/+$/, '');
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A bot account's password or access token, from the environment variable
 * the operator names (`--password-env VAR` or `--token-env VAR`): secrets are
 * never command-line arguments, which other users of the host can read.
 */
function credentialsFromEnvironment(options: AdminOptions): AccountCredentials {
  if ((options.passwordEnv === undefined) === (options.tokenEnv === undefined)) {
    throw new CliError(
      "give exactly one of --password-env VAR or --token-env VAR: the name of the environment variable holding the bot's password or access token (never the secret itself)",
    );
  }
  const [flag, variable] = options.passwordEnv !== undefined ? ['--password-env', options.passwordEnv] : ['--token-env', options.tokenEnv!];
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) throw new CliError(`${flag} takes the name of an environment variable, e.g. ${flag} VISITE_NEW_BOT_SECRET`);
  const value = process.env[variable];
  if (!value) throw new CliError(`${flag}: the environment variable ${variable} is not set or empty`);
  return options.passwordEnv !== undefined ? { password: value } : { accessToken: value };
}

/** The key that seals the credentials: the server's own rule (server/config.ts), so the server can open them. */
function secretsForCli(): SecretBox {
  let secrets: SecretBox;
  try {
    secrets = secretBox(secretsFromEnvironment(process.env));
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message);
    throw error;
  }
  if (!secrets.encrypting)
    process.stderr.write(
      'warning: VISITE_SECRET_KEY and VISITE_CRYPTO_PASSPHRASE are not set: the credentials are stored unencrypted (set the same key the server uses)\n',
    );
  return secrets;
}

/** An access token must work on the homeserver for this user, as the API checks it. */
async function checkToken(credentials: AccountCredentials, homeserverUrl: string, userId: string): Promise<void> {
  if (credentials.accessToken === undefined) return;
  try {
    const problem = await checkAccessToken(matrixWhoami, homeserverUrl, userId, credentials.accessToken);
    if (problem) throw new CliError(`${problem.field === 'accessToken' ? '--token-env' : '--homeserver'}: ${problem.message}`);
  } catch (error) {
    if (error instanceof HomeserverUnreachableError)
      throw new CliError(`cannot check the access token: ${error.message} (${homeserverUrl}); try again when it answers`);
    throw error;
  }
}

const printAccount = (row: BotAccount) => process.stdout.write(`${JSON.stringify({ botAccount: botAccountView(row) }, null, 2)}\n`);

/**
 * `visite admin add-bot --org ID --user @bot:hs --homeserver URL (--password-env VAR | --token-env VAR)
 * [--display-name NAME] [--inviter ID]…`: registers a bot account of an organisation, its
 * credentials sealed like the server seals them. Prints the account (never the credentials).
 */
async function addBotCommand(options: AdminOptions): Promise<number> {
  if (!options.org || !UUID.test(options.org)) throw new CliError('--org is required: the organisation id (a UUID) from visite admin create-org');
  if (!options.user || !isMatrixUserId(options.user)) throw new CliError("--user is required: the bot's Matrix user id, e.g. --user @station3-bot:klinik.de");
  const urlProblem = options.homeserver === undefined ? 'is required' : homeserverUrlProblem(options.homeserver);
  if (urlProblem) throw new CliError(`--homeserver ${urlProblem}: the homeserver's client API URL, e.g. --homeserver https://matrix.klinik.de`);
  const homeserverUrl = normaliseHomeserverUrl(options.homeserver!);
  const displayName = options.displayName?.trim() ?? DEFAULT_BOT_DISPLAY_NAME;
  if (displayName.length < 1 || displayName.length > 100)
    throw new CliError('--display-name must have 1 to 100 characters, e.g. --display-name "Station 3 (Chatbot)"');
  const inviters = options.inviter ?? [];
  const badInviter = inviters.find((inviter) => !isMatrixInviter(inviter));
  if (badInviter !== undefined) throw new CliError(`--inviter ${badInviter}: expected a Matrix user id or an @*:server pattern, e.g. --inviter @*:klinik.de`);
  const credentials = credentialsFromEnvironment(options);
  const secrets = secretsForCli();
  const database = await openConfigured();
  try {
    const { db } = database;
    const [org] = await db.select({ id: organisations.id }).from(organisations).where(eq(organisations.id, options.org));
    if (!org) throw new CliError(`no organisation ${options.org} in this database`);
    const [taken] = await db.select({ id: botAccounts.id }).from(botAccounts).where(eq(botAccounts.userId, options.user));
    const duplicate = () =>
      new CliError(`${options.user} is already registered as a bot account; use visite admin rotate-bot --account ID to change its credentials`);
    if (taken) throw duplicate();
    await checkToken(credentials, homeserverUrl, options.user);
    const row = await createAccount(db, secrets, {
      orgId: org.id,
      homeserverUrl,
      userId: options.user,
      credentials,
      displayName,
      allowedInviters: [...new Set(inviters)],
    }).catch((error: unknown) => {
      throw isUniqueViolation(error) ? duplicate() : error;
    });
    printAccount(row);
    return 0;
  } finally {
    await database.close();
  }
}

/** `visite admin rotate-bot --account ID (--password-env VAR | --token-env VAR)`: new credentials; a running bot reconnects with them. */
async function rotateBotCommand(options: AdminOptions): Promise<number> {
  if (!options.account || !UUID.test(options.account)) throw new CliError("--account is required: the bot account's id (a UUID) from visite admin list-bots");
  const credentials = credentialsFromEnvironment(options);
  const secrets = secretsForCli();
  const database = await openConfigured();
  try {
    const account = await accountById(database.db, options.account);
    if (!account) throw new CliError(`no bot account ${options.account} in this database`);
    await checkToken(credentials, account.homeserverUrl, account.userId);
    const row = await rotateCredentials(database.db, secrets, account.id, credentials);
    if (!row) throw new CliError(`no bot account ${options.account} in this database`);
    printAccount(row);
    return 0;
  } finally {
    await database.close();
  }
}

/** `visite admin list-bots [--org ID]`: the bot accounts (all, or one organisation's), without credentials. */
async function listBotsCommand(options: AdminOptions): Promise<number> {
  if (options.org !== undefined && !UUID.test(options.org)) throw new CliError('--org must be an organisation id (a UUID)');
  const database = await openConfigured();
  try {
    const { db } = database;
    const rows =
      options.org !== undefined
        ? await accountsOfOrg(db, options.org)
        : await db.select().from(botAccounts).orderBy(asc(botAccounts.createdAt), asc(botAccounts.id));
    process.stdout.write(`${JSON.stringify({ botAccounts: rows.map(botAccountView) }, null, 2)}\n`);
    return 0;
  } finally {
    await database.close();
  }
}

export async function adminCommand(command: string | undefined, options: AdminOptions): Promise<number> {
  if (command === 'login-link') return loginLinkCommand(options);
  if (command === 'add-bot') return addBotCommand(options);
  if (command === 'rotate-bot') return rotateBotCommand(options);
  if (command === 'list-bots') return listBotsCommand(options);
  if (command !== 'create-org')
    throw new CliError(`unknown admin command "${command ?? ''}"; one of create-org, login-link, add-bot, rotate-bot, list-bots (visite --help)`);
  const name = options.name?.trim();
  if (!name) throw new CliError('--name is required, e.g. visite admin create-org --name "Praxis Dr. Berg"');
  const retentionDays = options.retention === undefined ? undefined : Number(options.retention);
  if (retentionDays !== undefined && (!Number.isInteger(retentionDays) || retentionDays < 1))
    throw new CliError('--retention-days must be a whole number of days ≥ 1');
  const database = await openConfigured();
  try {
    const org = await createOrganisation(database.db, { name, ...(retentionDays ? { retentionDays } : {}) });
    const key = await createApiKey(database.db, org.id, 'initial admin key', ['org_admin']);
    process.stdout.write(
      `${JSON.stringify({ organisation: { id: org.id, name: org.name, retentionDays: org.retentionDays }, apiKey: { id: key.id, roles: key.roles, secret: key.secret } }, null, 2)}\n`,
    );
    process.stderr.write('Store the API key now: it is not shown again. Use it as "Authorization: Bearer <secret>".\n');
    return 0;
  } finally {
    await database.close();
  }
}
