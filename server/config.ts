import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import cron from 'node-cron';
import { z } from 'zod';
import { isMatrixInviter, isMatrixUserId } from '../core/matrix-id.ts';

/** The flows shipped with Visite: deployed by default, and the templates organisations copy into their catalog. */
export const DEFAULT_FLOWS_DIR = fileURLToPath(new URL('../flows/', import.meta.url));

const httpUrl = (example: string) =>
  z
    .string({ error: `required: an http(s) URL, e.g. ${example}` })
    .refine((value) => /^https?:\/\/[^\s]+$/.test(value) && URL.canParse(value), {
      error: `expected an http(s) URL, e.g. ${example}`,
    })
    .transform((value) => value.replace(/\/+$/, ''));

const commaList = z
  .string()
  .default('')
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  );

/**
 * Every setting Visite reads, validated once at start. Keep the README's
 * configuration table in step with this schema.
 */
export const configSchema = z
  .object({
    VISITE_HOMESERVER_URL: httpUrl('http://127.0.0.1:8008'),
    VISITE_BOT_USER_ID: z
      .string({ error: "required: the bot's Matrix user id, e.g. @visite:example.org" })
      .refine(isMatrixUserId, { error: 'expected a Matrix user id (at most 255 bytes, port at most 65535), e.g. @visite:example.org' }),
    VISITE_BOT_PASSWORD: z.string().min(1, { error: 'must not be empty' }).optional(),
    VISITE_BOT_ACCESS_TOKEN: z.string().min(1, { error: 'must not be empty' }).optional(),
    VISITE_BOT_DISPLAY_NAME: z.string().min(1).max(100).default('Visite (Chatbot)'),
    VISITE_ALLOWED_INVITERS: commaList.pipe(
      z.array(
        z.string().refine(isMatrixInviter, {
          error: 'expected comma-separated Matrix user ids or @*:server patterns, e.g. @dr.berg:klinik.de,@*:klinik.de',
        }),
      ),
    ),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\/\S+$/, { error: 'expected a postgres:// URL, e.g. postgres://postgres@127.0.0.1:5432/visite' })
      .optional(),
    VISITE_DATA_DIR: z.string().min(1).default('var/data'),
    VISITE_INSTANCE_ID: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,100}$/, { error: 'expected letters, digits, ".", "_", ":" or "-" (at most 100), e.g. visite-1' })
      .optional(),
    VISITE_LEASE_TTL_MS: z.coerce
      .number({ error: 'expected milliseconds, e.g. 15000' })
      .int({ error: 'expected milliseconds, e.g. 15000' })
      .min(1_000, { error: 'expected at least 1000 ms' })
      .max(120_000, { error: "expected at most 120000 ms (a dead instance's accounts wait this long)" })
      .default(15_000),
    VISITE_BOT_ACCOUNTS: z.enum(['all', 'environment'], { error: 'expected all or environment' }).default('all'),
    VISITE_ROOM_CREATION_CONCURRENCY: z.coerce
      .number({ error: 'expected a number of rooms, e.g. 4' })
      .int({ error: 'expected a number of rooms, e.g. 4' })
      .min(1, { error: 'expected at least 1' })
      .max(64, { error: 'expected at most 64' })
      .default(4),
    VISITE_FLOWS_DIR: z.string().min(1).optional(),
    VISITE_MAX_UPLOAD_BYTES: z.coerce
      .number({ error: 'expected a size in bytes, e.g. 10485760' })
      .int({ error: 'expected a size in bytes, e.g. 10485760' })
      .positive({ error: 'expected a size in bytes, e.g. 10485760' })
      .default(10 * 1024 * 1024),
    VISITE_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
    VISITE_HTTP_PORT: z.coerce
      .number({ error: 'expected a TCP port number 0-65535' })
      .int({ error: 'expected a TCP port number 0-65535' })
      .min(0, { error: 'expected a TCP port number 0-65535' })
      .max(65535, { error: 'expected a TCP port number 0-65535' })
      .default(8080),
    VISITE_PUBLIC_URL: httpUrl('https://visite.klinik.example').optional(),
    VISITE_MAX_BODY_BYTES: z.coerce
      .number({ error: 'expected a size in bytes, e.g. 65536' })
      .int({ error: 'expected a size in bytes, e.g. 65536' })
      .positive({ error: 'expected a size in bytes, e.g. 65536' })
      .default(64 * 1024),
    VISITE_MAX_FLOW_BYTES: z.coerce
      .number({ error: 'expected a size in bytes, e.g. 524288' })
      .int({ error: 'expected a size in bytes, e.g. 524288' })
      .positive({ error: 'expected a size in bytes, e.g. 524288' })
      .default(512 * 1024),
    VISITE_OIDC_ISSUER: httpUrl('https://login.klinik.example/realms/visite').optional(),
    VISITE_OIDC_AUDIENCE: z.string().min(1).optional(),
    VISITE_OIDC_JWKS_URL: httpUrl('https://login.klinik.example/realms/visite/protocol/openid-connect/certs').optional(),
    VISITE_OIDC_ORG_CLAIM: z.string().min(1).default('visite_org'),
    VISITE_OIDC_ROLES_CLAIM: z.string().min(1).default('visite_roles'),
    VISITE_OIDC_MAX_TOKEN_AGE_SECONDS: z.coerce
      .number({ error: 'expected seconds, e.g. 86400' })
      .int({ error: 'expected seconds, e.g. 86400' })
      .min(60, { error: 'expected seconds from 60 to 604800 (7 days)' })
      .max(7 * 24 * 3600, { error: 'expected seconds from 60 to 604800 (7 days)' })
      .default(24 * 3600),
    VISITE_OIDC_CLIENT_ID: z.string().min(1).max(200).optional(),
    VISITE_OIDC_CLIENT_SECRET: z.string().min(1).optional(),
    VISITE_OIDC_REDIRECT_URL: httpUrl('https://visite.klinik.example/app/auth/callback').optional(),
    VISITE_OIDC_SCOPES: z.string().min(1).default('openid profile'),
    VISITE_WEB_IDLE_MINUTES: z.coerce
      .number({ error: 'expected minutes, e.g. 30' })
      .int({ error: 'expected minutes, e.g. 30' })
      .min(1, { error: 'expected minutes from 1 to 1440' })
      .max(1440, { error: 'expected minutes from 1 to 1440' })
      .default(30),
    VISITE_WEB_SESSION_HOURS: z.coerce
      .number({ error: 'expected hours, e.g. 12' })
      .int({ error: 'expected hours, e.g. 12' })
      .min(1, { error: 'expected hours from 1 to 168' })
      .max(168, { error: 'expected hours from 1 to 168' })
      .default(12),
    VISITE_WEB_SECURE_COOKIES: z.enum(['auto', 'true', 'false'], { error: 'expected auto, true or false' }).default('auto'),
    VISITE_CRYPTO_PASSPHRASE: z
      .string()
      .min(12, { error: "expected a passphrase of at least 12 characters (it encrypts the bot's end-to-end encryption keys)" })
      .optional(),
    VISITE_CRYPTO_STORE_DIR: z.string().min(1).optional(),
    VISITE_SECRET_KEY: z
      .string()
      .refine((v) => Buffer.from(v, 'base64').length === 32, { error: 'expected 32 bytes in base64, e.g. from `openssl rand -base64 32`' })
      .optional(),
    VISITE_KEY_BACKUP_KEY: z
      .string()
      .regex(/^[A-Za-z0-9+/]{43}=?$/, { error: 'expected 32 bytes in base64, e.g. from: openssl rand -base64 32' })
      .optional(),
    VISITE_UNDECRYPTABLE_WAIT_SECONDS: z.coerce.number({ error: 'expected seconds, e.g. 60' }).int().min(1).max(3600).default(60),
    VISITE_SCHEDULER_CRON: z
      .string()
      .min(1)
      .default('* * * * *')
      .refine((v) => v === 'off' || cron.validate(v), { error: 'expected a cron expression, e.g. "* * * * *" (every minute), or off' }),
    VISITE_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error'], { error: 'expected one of debug, info, warn, error' }).default('info'),
    VISITE_TIM_FORMS: z.enum(['on', 'off'], { error: 'expected on or off' }).default('on'),
    VISITE_TIM_FORM_WAIT_MINUTES: z.coerce
      .number({ error: 'expected minutes, e.g. 60' })
      .int({ error: 'expected whole minutes, e.g. 60' })
      .min(1, { error: 'expected minutes from 1 to 10080 (7 days)' })
      .max(7 * 24 * 60, { error: 'expected minutes from 1 to 10080 (7 days)' })
      .default(60),
    VISITE_TIM_MDR_RELEVANCE: z.enum(['none', 'rel'], { error: 'expected none or rel (ISiKMDRRelevanzFormularCS)' }).default('none'),
  })
  .superRefine((value, ctx) => {
    if (value.VISITE_OIDC_ISSUER && !value.VISITE_OIDC_AUDIENCE) {
      ctx.addIssue({
        code: 'custom',
        path: ['VISITE_OIDC_AUDIENCE'],
        message: 'required with VISITE_OIDC_ISSUER: the audience your tokens are issued for, e.g. visite-api',
      });
    }
    if (value.VISITE_OIDC_CLIENT_ID && !value.VISITE_OIDC_ISSUER) {
      ctx.addIssue({
        code: 'custom',
        path: ['VISITE_OIDC_ISSUER'],
        message: 'required with VISITE_OIDC_CLIENT_ID: the identity provider the web app signs in with',
      });
    }
    if (!value.VISITE_BOT_PASSWORD && !value.VISITE_BOT_ACCESS_TOKEN) {
      ctx.addIssue({ code: 'custom', path: ['VISITE_BOT_PASSWORD'], message: "required: the bot account's password (or set VISITE_BOT_ACCESS_TOKEN)" });
    }
  });

export type RawConfig = z.infer<typeof configSchema>;

export interface Config {
  homeserverUrl: string;
  bot: { userId: string; password?: string; accessToken?: string; displayName: string };
  allowedInviters: string[];
  database: { url: string } | { dataDir: string };
  dataDir: string;
  /** Deployed flow files (published for every organisation without its own flow of an id); null: `none`. */
  flowsDir: string | null;
  /** The templates organisations copy into their own catalog: the shipped flows. */
  templatesDir: string;
  maxUploadBytes: number;
  http: { host: string; port: number };
  /** Base URL integrators use; defaults to the HTTP listener's address. */
  publicUrl?: string;
  maxBodyBytes: number;
  /** Largest flow or transcripts text sent to the flow authoring routes. */
  maxFlowBytes: number;
  /** End-to-end encryption: the crypto store (in `<storeDir>/crypto/<user>/<device>`), its passphrase; absent: no E2EE. */
  crypto?: { passphrase: string; storeDir: string; undecryptableWaitMs: number; backupKey?: string };
  /** Seals secrets in the database (access tokens): a key, else the crypto passphrase, else nothing (development). */
  secrets: { key: Buffer } | { passphrase: string } | null;
  /** Where crypto stores live, also without a passphrase (an account that has a store must not start without it). */
  cryptoStoreDir: string;
  /** This process among several on the same database (docs/operations.md "Several instances"). */
  instance: { id: string; leaseTtlMs: number; roomCreationConcurrency: number; accounts: 'all' | 'environment' };
  /** false: this instance runs no scheduler (others may). */
  schedulerCron: string | false;
  oidc?: { issuer: string; audience: string; jwksUrl?: string; orgClaim: string; rolesClaim: string; maxTokenAgeSeconds: number };
  /** The web app (/app): OIDC sign-in (authorization code + PKCE) when a client id is set; session limits. */
  web: {
    client?: { clientId: string; clientSecret?: string; redirectUrl?: string; scopes: string };
    idleMs: number;
    lifetimeMs: number;
    /** Secure cookies: `auto` sets them when the public URL is https. */
    secureCookies: 'auto' | boolean;
  };
  logLevel: RawConfig['VISITE_LOG_LEVEL'];
  /** TI-M forms (docs/tim.md): on or off, how long the chat waits for a sent form, the MDR relevance declared in ISiK resources. */
  forms: { enabled: boolean; waitMs: number; mdr: 'none' | 'rel' };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses environment variables with `schema`; a ConfigError whose message is one line naming each bad variable. */
function parseEnvironment<T extends z.ZodType>(schema: T, env: Record<string, string | undefined>): z.infer<T> {
  // Empty strings are how shells spell "unset"; treat them so, or defaults would never apply.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${String(issue.path[0] ?? 'environment')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration: ${[...new Set(problems)].join('; ')}`);
  }
  return parsed.data;
}

const secretsSource = (c: { VISITE_SECRET_KEY?: string | undefined; VISITE_CRYPTO_PASSPHRASE?: string | undefined }): Config['secrets'] =>
  c.VISITE_SECRET_KEY ? { key: Buffer.from(c.VISITE_SECRET_KEY, 'base64') } : c.VISITE_CRYPTO_PASSPHRASE ? { passphrase: c.VISITE_CRYPTO_PASSPHRASE } : null;

/**
 * What seals secrets in the database, from the environment alone: the server's
 * rule (VISITE_SECRET_KEY, else VISITE_CRYPTO_PASSPHRASE, else nothing), for
 * `visite admin`, which must seal bot credentials exactly as the server opens them.
 */
export function secretsFromEnvironment(env: Record<string, string | undefined>): Config['secrets'] {
  const schema = z.object({ VISITE_SECRET_KEY: configSchema.shape.VISITE_SECRET_KEY, VISITE_CRYPTO_PASSPHRASE: configSchema.shape.VISITE_CRYPTO_PASSPHRASE });
  return secretsSource(parseEnvironment(schema, env));
}

/** Parses the environment; throws a ConfigError whose message is one line naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const c = parseEnvironment(configSchema, env);
  return {
    homeserverUrl: c.VISITE_HOMESERVER_URL,
    bot: {
      userId: c.VISITE_BOT_USER_ID,
      ...(c.VISITE_BOT_PASSWORD ? { password: c.VISITE_BOT_PASSWORD } : {}),
      ...(c.VISITE_BOT_ACCESS_TOKEN ? { accessToken: c.VISITE_BOT_ACCESS_TOKEN } : {}),
      displayName: c.VISITE_BOT_DISPLAY_NAME,
    },
    allowedInviters: c.VISITE_ALLOWED_INVITERS,
    database: c.DATABASE_URL ? { url: c.DATABASE_URL } : { dataDir: `${c.VISITE_DATA_DIR}/pglite` },
    dataDir: c.VISITE_DATA_DIR,
    flowsDir: c.VISITE_FLOWS_DIR === 'none' ? null : (c.VISITE_FLOWS_DIR ?? DEFAULT_FLOWS_DIR),
    templatesDir: DEFAULT_FLOWS_DIR,
    maxUploadBytes: c.VISITE_MAX_UPLOAD_BYTES,
    http: { host: c.VISITE_HTTP_HOST, port: c.VISITE_HTTP_PORT },
    ...(c.VISITE_PUBLIC_URL ? { publicUrl: c.VISITE_PUBLIC_URL } : {}),
    maxBodyBytes: c.VISITE_MAX_BODY_BYTES,
    maxFlowBytes: c.VISITE_MAX_FLOW_BYTES,
    schedulerCron: c.VISITE_SCHEDULER_CRON === 'off' ? false : c.VISITE_SCHEDULER_CRON,
    instance: {
      id:
        c.VISITE_INSTANCE_ID ??
        `${hostname()
          .replace(/[^A-Za-z0-9._:-]/g, '-')
          .slice(0, 60)}-${process.pid}-${randomBytes(3).toString('hex')}`,
      leaseTtlMs: c.VISITE_LEASE_TTL_MS,
      roomCreationConcurrency: c.VISITE_ROOM_CREATION_CONCURRENCY,
      accounts: c.VISITE_BOT_ACCOUNTS,
    },
    cryptoStoreDir: c.VISITE_CRYPTO_STORE_DIR ?? c.VISITE_DATA_DIR,
    secrets: secretsSource(c),
    ...(c.VISITE_CRYPTO_PASSPHRASE
      ? {
          crypto: {
            passphrase: c.VISITE_CRYPTO_PASSPHRASE,
            storeDir: c.VISITE_CRYPTO_STORE_DIR ?? c.VISITE_DATA_DIR,
            undecryptableWaitMs: c.VISITE_UNDECRYPTABLE_WAIT_SECONDS * 1000,
            ...(c.VISITE_KEY_BACKUP_KEY ? { backupKey: c.VISITE_KEY_BACKUP_KEY } : {}),
          },
        }
      : {}),
    ...(c.VISITE_OIDC_ISSUER && c.VISITE_OIDC_AUDIENCE
      ? {
          oidc: {
            issuer: c.VISITE_OIDC_ISSUER,
            audience: c.VISITE_OIDC_AUDIENCE,
            ...(c.VISITE_OIDC_JWKS_URL ? { jwksUrl: c.VISITE_OIDC_JWKS_URL } : {}),
            orgClaim: c.VISITE_OIDC_ORG_CLAIM,
            rolesClaim: c.VISITE_OIDC_ROLES_CLAIM,
            maxTokenAgeSeconds: c.VISITE_OIDC_MAX_TOKEN_AGE_SECONDS,
          },
        }
      : {}),
    web: {
      ...(c.VISITE_OIDC_CLIENT_ID
        ? {
            client: {
              clientId: c.VISITE_OIDC_CLIENT_ID,
              ...(c.VISITE_OIDC_CLIENT_SECRET ? { clientSecret: c.VISITE_OIDC_CLIENT_SECRET } : {}),
              ...(c.VISITE_OIDC_REDIRECT_URL ? { redirectUrl: c.VISITE_OIDC_REDIRECT_URL } : {}),
              scopes: c.VISITE_OIDC_SCOPES,
            },
          }
        : {}),
      idleMs: c.VISITE_WEB_IDLE_MINUTES * 60_000,
      lifetimeMs: c.VISITE_WEB_SESSION_HOURS * 3_600_000,
      secureCookies: c.VISITE_WEB_SECURE_COOKIES === 'auto' ? 'auto' : c.VISITE_WEB_SECURE_COOKIES === 'true',
    },
    logLevel: c.VISITE_LOG_LEVEL,
    forms: { enabled: c.VISITE_TIM_FORMS === 'on', waitMs: c.VISITE_TIM_FORM_WAIT_MINUTES * 60_000, mdr: c.VISITE_TIM_MDR_RELEVANCE },
  };
}
