import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { eq } from 'drizzle-orm';
import {
  accountById,
  accountsOfOrg,
  createAccount,
  rotateCredentials,
  updateAccount,
  type AccountCredentials,
  type BotAccount,
} from '../../../db/bot-accounts.ts';
import { botAccounts } from '../../../db/schema.ts';
import type { SecretBox } from '../../../db/secrets.ts';
import { isMatrixInviter } from '../../../core/matrix-id.ts';
import {
  botAccountView,
  checkAccessToken,
  DEFAULT_BOT_DISPLAY_NAME,
  homeserverUrlProblem,
  HomeserverUnreachableError,
  isUniqueViolation,
  normaliseHomeserverUrl,
} from '../../bot-accounts.ts';
import { ApiError } from '../../errors.ts';
import { errorFields } from '../../logger.ts';
import { audit } from '../audit.ts';
import { requireRole } from '../auth.ts';
import type { ApiEnv } from '../env.ts';
import { ensureFound } from '../owned.ts';
import { badRequest } from '../input.ts';
import { commonErrors, conflict, ErrorSchema, IdParam, json, jsonBody, MatrixUserId, notFound, security } from '../schemas.ts';

/**
 * An organisation's own Matrix bot accounts (issue #14): the org admin
 * registers them with a password or an access token, names them, says whose
 * invites they follow, rotates their credentials and disables them. The
 * credentials are write-only: sealed in the database (db/secrets.ts), never
 * in a response, an audit entry or a log line.
 */

const BotAccountSchema = z
  .object({
    id: z.uuid(),
    orgId: z.uuid().nullable().openapi({ description: 'Your organisation' }),
    userId: z.string().openapi({ description: "The bot's Matrix user id" }),
    homeserverUrl: z.string(),
    deviceId: z.string().nullable().openapi({ description: 'The device the account speaks from, once Visite logged in with it' }),
    displayName: z.string(),
    allowedInviters: z.array(z.string()),
    credentialsVersion: z.number().int().openapi({ description: 'Increases with every change; a running bot reconnects with the account as it is now' }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    disabled: z.boolean().openapi({ description: 'A disabled account is not used for new rooms and not connected' }),
  })
  .openapi('BotAccount');

const HomeserverUrl = z
  .string()
  .max(2000)
  .superRefine((value, ctx) => {
    const problem = homeserverUrlProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .openapi({ description: "The homeserver's client API base URL (http or https)", example: 'https://matrix.klinik.de' });

const Inviters = z
  .array(z.string().refine(isMatrixInviter, { error: 'expected a Matrix user id or an @*:server pattern, e.g. @dr.berg:klinik.de or @*:klinik.de' }))
  .max(200)
  .refine((list) => new Set(list).size === list.length, { error: 'inviters must not repeat' })
  .openapi({ description: 'Matrix ids, or `@*:server` for anyone on that server, whose invites the bot follows into rooms', example: ['@*:klinik.de'] });

const DisplayName = z.string().min(1).max(100).openapi({ description: 'TI-M function accounts are named "<Name> (Chatbot)"', example: 'Station 3 (Chatbot)' });

const secret = (what: string) =>
  z
    .string()
    .min(1)
    .max(4096)
    .optional()
    .openapi({ description: `${what}. Write-only: never returned.`, writeOnly: true });
const Credentials = {
  accessToken: secret('An access token of the account; checked with the homeserver (`whoami`) before it is stored'),
  password: secret("The account's password; Visite logs in with it"),
};

const CreateBotAccount = z
  .strictObject({
    homeserverUrl: HomeserverUrl,
    userId: MatrixUserId,
    ...Credentials,
    displayName: DisplayName.default(DEFAULT_BOT_DISPLAY_NAME),
    allowedInviters: Inviters.default([]),
  })
  .openapi('CreateBotAccount', { description: 'Exactly one of `accessToken` and `password`.' });

const UpdateBotAccount = z
  .strictObject({
    displayName: DisplayName.optional(),
    allowedInviters: Inviters.optional(),
    disabled: z.boolean().optional(),
  })
  .openapi('UpdateBotAccount');

const RotateCredentials = z.strictObject(Credentials).openapi('BotAccountCredentials', { description: 'Exactly one of `accessToken` and `password`.' });

const DUPLICATE = 'this Matrix user is already registered as a bot account';
const NOT_FOUND = 'no such bot account';

/** Exactly one of the two: the credentials to store, or a 400 naming both fields. */
function credentialsOf(body: AccountCredentials): { password: string } | { accessToken: string } {
  if (body.accessToken !== undefined && body.password === undefined) return { accessToken: body.accessToken };
  if (body.password !== undefined && body.accessToken === undefined) return { password: body.password };
  const message = body.password === undefined ? 'required: accessToken or password' : 'send either accessToken or password, not both';
  throw badRequest([
    { path: 'accessToken', message },
    { path: 'password', message },
  ]);
}

function secretsOf(c: Context<ApiEnv>): SecretBox {
  const secrets = c.get('deps').secrets;
  if (!secrets) throw new ApiError('not_ready', 'bot accounts cannot be stored on this server');
  return secrets;
}

/** A given access token must work on the homeserver for this user: 400 naming the field, 503 when the homeserver cannot be asked. */
async function checkToken(
  c: Context<ApiEnv>,
  action: string,
  account: { id: string | null; homeserverUrl: string; userId: string },
  credentials: AccountCredentials,
): Promise<void> {
  if (credentials.accessToken === undefined) return;
  const deps = c.get('deps');
  if (!deps.whoami) throw new ApiError('not_ready', 'access tokens cannot be checked on this server; send a password');
  let problem;
  try {
    problem = await checkAccessToken(deps.whoami, account.homeserverUrl, account.userId, credentials.accessToken);
  } catch (error) {
    if (!(error instanceof HomeserverUnreachableError)) throw error;
    deps.logger.warn("a bot account's homeserver cannot be asked", { botAccountId: account.id, ...errorFields(error) });
    await audit(c, action, { type: 'BotAccount', id: account.id }, 'error');
    throw new ApiError('not_ready', 'the homeserver cannot be asked about the access token right now; try again');
  }
  if (problem) {
    await audit(c, action, { type: 'BotAccount', id: account.id }, 'invalid');
    throw badRequest([{ path: problem.field, message: problem.message }]);
  }
}

/** One of the caller's organisation's accounts; another organisation's (or the environment's) is missing alike. */
async function ownAccount(c: Context<ApiEnv>, id: string, action?: string): Promise<BotAccount> {
  const row = await accountById(c.get('deps').db, id);
  const mine = row && row.orgId === c.get('principal').orgId ? row : undefined;
  return ensureFound(c, mine, { ...(action ? { action } : {}), type: 'BotAccount', id, notFound: NOT_FOUND, auditFound: false });
}

export function botAccountRoutes(api: OpenAPIHono<ApiEnv>): void {
  const adminOnly = requireRole('org_admin');

  api.openapi(
    createRoute({
      method: 'post',
      path: '/v1/bot-accounts',
      tags: ['Bot accounts'],
      summary: 'Register a Matrix bot account of your organisation (password or access token; write-only)',
      security,
      middleware: adminOnly,
      request: jsonBody(CreateBotAccount),
      responses: {
        201: json(BotAccountSchema, 'Registered; the credentials are not returned'),
        ...commonErrors,
        ...conflict(DUPLICATE),
        503: json(ErrorSchema, 'The homeserver cannot be asked about the access token now'),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const secrets = secretsOf(c);
      const credentials = credentialsOf(body);
      const db = c.get('deps').db;
      const homeserverUrl = normaliseHomeserverUrl(body.homeserverUrl);
      const duplicate = async () => {
        await audit(c, 'bot_account.create', { type: 'BotAccount', id: null }, 'invalid');
        return new ApiError('conflict', DUPLICATE);
      };
      // Known already: no need to ask the homeserver.
      const [taken] = await db.select({ id: botAccounts.id }).from(botAccounts).where(eq(botAccounts.userId, body.userId));
      if (taken) throw await duplicate();
      await checkToken(c, 'bot_account.create', { id: null, homeserverUrl, userId: body.userId }, credentials);
      let row: BotAccount;
      try {
        row = await createAccount(db, secrets, {
          orgId: c.get('principal').orgId,
          homeserverUrl,
          userId: body.userId,
          credentials,
          displayName: body.displayName,
          allowedInviters: body.allowedInviters,
        });
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        throw await duplicate();
      }
      await audit(c, 'bot_account.create', { type: 'BotAccount', id: row.id });
      return c.json(botAccountView(row), 201);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/v1/bot-accounts',
      tags: ['Bot accounts'],
      summary: "List your organisation's bot accounts (without credentials)",
      security,
      middleware: adminOnly,
      responses: { 200: json(z.object({ botAccounts: z.array(BotAccountSchema) }), 'Bot accounts, oldest first'), ...commonErrors },
    }),
    async (c) => {
      const rows = await accountsOfOrg(c.get('deps').db, c.get('principal').orgId);
      return c.json({ botAccounts: rows.map(botAccountView) }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/v1/bot-accounts/{id}',
      tags: ['Bot accounts'],
      summary: 'One bot account (without credentials)',
      security,
      middleware: adminOnly,
      request: { params: IdParam },
      responses: { 200: json(BotAccountSchema, 'The bot account'), ...commonErrors, ...notFound },
    }),
    async (c) => c.json(botAccountView(await ownAccount(c, c.req.valid('param').id)), 200),
  );

  api.openapi(
    createRoute({
      method: 'patch',
      path: '/v1/bot-accounts/{id}',
      tags: ['Bot accounts'],
      summary: "Change a bot account's display name or allowed inviters, or disable it (fields not sent stay as they are)",
      security,
      middleware: adminOnly,
      request: { params: IdParam, ...jsonBody(UpdateBotAccount) },
      responses: { 200: json(BotAccountSchema, 'Updated'), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const current = await ownAccount(c, id, 'bot_account.update');
      const changes = Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined)) as typeof body;
      if (Object.keys(changes).length === 0) return c.json(botAccountView(current), 200);
      const row = await updateAccount(c.get('deps').db, id, changes);
      await ensureFound(c, row, { action: 'bot_account.update', type: 'BotAccount', id, notFound: NOT_FOUND });
      return c.json(botAccountView(row!), 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'post',
      path: '/v1/bot-accounts/{id}/credentials',
      tags: ['Bot accounts'],
      summary: "Rotate a bot account's credentials: a new access token or password (write-only)",
      security,
      middleware: adminOnly,
      request: { params: IdParam, ...jsonBody(RotateCredentials) },
      responses: {
        200: json(BotAccountSchema, 'Stored; `credentialsVersion` increased and a running bot reconnects with them'),
        ...commonErrors,
        ...notFound,
        503: json(ErrorSchema, 'The homeserver cannot be asked about the access token now'),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const secrets = secretsOf(c);
      const credentials = credentialsOf(body);
      const current = await ownAccount(c, id, 'bot_account.rotate');
      await checkToken(c, 'bot_account.rotate', current, credentials);
      const row = await rotateCredentials(c.get('deps').db, secrets, id, credentials);
      await ensureFound(c, row, { action: 'bot_account.rotate', type: 'BotAccount', id, notFound: NOT_FOUND });
      return c.json(botAccountView(row!), 200);
    },
  );
}
