import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import type { Hono } from 'hono';
import type { Db } from '../../db/database.ts';
import { createOrganisation } from '../../db/organisations.ts';
import { ROLES, type Role } from '../../db/schema.ts';
import { secretBox, type SecretBox } from '../../db/secrets.ts';
import { createApi } from '../../server/api/app.ts';
import { createApiKey, createOidcVerifier } from '../../server/api/auth.ts';
import type { PatientContact } from '../../server/api/env.ts';
import { matrixWhoami, type Whoami } from '../../server/bot-accounts.ts';
import { createApp } from '../../server/app.ts';
import { createLogger } from '../../server/logger.ts';
import type { Catalog } from '../../services/flows.ts';
import { openTestCatalog, SHIPPED, testAuthoring, TEST_PUBLIC_URL } from './catalog.ts';

/**
 * A local OIDC issuer for tests: a real RS256 key pair and a JWKS endpoint on
 * loopback, so Visite verifies tokens exactly as against a hospital's IdP.
 */
export interface TestIssuer {
  issuer: string;
  jwksUrl: string;
  audience: string;
  sign(claims: Record<string, unknown>, options?: SignOptions): Promise<string>;
  /** A token signed by a key the issuer does not publish. */
  signWithForeignKey(claims: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export interface SignOptions {
  expiresIn?: string;
  audience?: string;
  issuer?: string;
  /** `iat` in epoch seconds (default: now). */
  issuedAt?: number;
}

export async function startTestIssuer(): Promise<TestIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const foreign = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  const server: Server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.url === '/jwks' ? { keys: [jwk] } : {}));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const audience = 'visite-api';
  const build = (claims: Record<string, unknown>, options: SignOptions = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
      .setIssuer(options.issuer ?? base)
      .setAudience(options.audience ?? audience)
      .setIssuedAt(options.issuedAt)
      .setExpirationTime(options.expiresIn ?? '5m');
  return {
    issuer: base,
    jwksUrl: `${base}/jwks`,
    audience,
    sign: (claims, options) => build(claims, options).sign(privateKey),
    signWithForeignKey: (claims) => build(claims).sign(foreign.privateKey),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Records what the API asked of the Matrix side (the API tests run without a homeserver). */
export function recordingContact(startCheckin?: PatientContact['startCheckin']): PatientContact & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async welcome(patientId) {
      calls.push(`welcome ${patientId}`);
    },
    async startCheckin(patientId, flowId) {
      calls.push(`start ${patientId} ${flowId}`);
      return startCheckin ? startCheckin(patientId, flowId) : '00000000-0000-4000-8000-000000000000';
    },
    async forgetRoom(roomId) {
      calls.push(`forget ${roomId}`);
    },
    // Without a homeserver: the bot is in every room and the organisation's clinicians are members.
    async inspectRoom(roomId, clinicians) {
      calls.push(`inspect ${roomId}`);
      return { botJoined: true, botCanPost: true, clinicians: [...clinicians] };
    },
  };
}

export interface TestApi {
  app: Hono;
  /** The flow catalog behind the API (the shipped flows deployed). */
  flows: Catalog;
  contact: ReturnType<typeof recordingContact>;
  logs: string[];
  /** A new organisation with an API key per role. */
  organisation(name?: string): Promise<{ orgId: string; keys: Record<Role, string> }>;
}

export interface TestApiOptions {
  maxBodyBytes?: number;
  authFailureLimit?: number;
  startCheckin?: PatientContact['startCheckin'];
  /** Oldest OIDC token (by `iat`) the API accepts. */
  maxTokenAgeSeconds?: number;
  /** How the API asks a homeserver about a bot account's access token (default: over HTTP, as in production). */
  whoami?: Whoami;
}

/** The key bot accounts' credentials are sealed with in API tests. */
export const TEST_SECRETS: SecretBox = secretBox({ passphrase: 'api tests seal bot credentials' });

export async function testApi(db: Db, issuer?: TestIssuer, options: TestApiOptions = {}): Promise<TestApi> {
  const logs: string[] = [];
  const logger = createLogger('debug', (line) => logs.push(line));
  const contact = recordingContact(options.startCheckin);
  const flows = await openTestCatalog(db);
  const api = createApi(
    {
      db,
      flows,
      authoring: testAuthoring(db, flows),
      templates: SHIPPED,
      logger,
      verifyToken: issuer
        ? createOidcVerifier({
            issuer: issuer.issuer,
            audience: issuer.audience,
            jwksUrl: issuer.jwksUrl,
            orgClaim: 'visite_org',
            rolesClaim: 'visite_roles',
            ...(options.maxTokenAgeSeconds ? { maxTokenAgeSeconds: options.maxTokenAgeSeconds } : {}),
          })
        : null,
      contact,
      publicUrl: TEST_PUBLIC_URL,
      secrets: TEST_SECRETS,
      whoami: options.whoami ?? matrixWhoami,
    },
    { maxBodyBytes: options.maxBodyBytes ?? 64 * 1024, ...(options.authFailureLimit ? { authFailureLimit: options.authFailureLimit } : {}) },
  );
  const app = createApp({ logger, api, readiness: [] });
  return {
    app,
    flows,
    contact,
    logs,
    async organisation(name = 'Klinik') {
      const org = await createOrganisation(db, { name });
      const keys = {} as Record<Role, string>;
      for (const role of ROLES) {
        keys[role] = (await createApiKey(db, org.id, `${role} key`, [role])).secret;
      }
      return { orgId: org.id, keys };
    },
  };
}

/** JSON request helper: `call(app, 'POST', '/v1/patients', key, body)`. */
export async function call(app: Hono, method: string, path: string, token: string | null, body?: unknown, headers: Record<string, string> = {}) {
  const res = await app.request(path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, body: json, headers: res.headers };
}
