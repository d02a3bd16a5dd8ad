import { randomBytes, randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort, registerUser, type RegisteredUser } from '../../scripts/synapse.ts';
import { openCredentials } from '../../db/bot-accounts.ts';
import { openDatabase, type Database } from '../../db/database.ts';
import { auditLog, botAccounts } from '../../db/schema.ts';
import { isSealed } from '../../db/secrets.ts';
import { call, testApi, TEST_SECRETS, type TestApi } from '../harness/api.ts';

/**
 * An organisation's bot accounts over the API (issue #14) on real Postgres,
 * with access tokens checked against the run's real Synapse: create, list,
 * read, change, disable, rotate; the credentials never appear in a response,
 * an audit entry or a log line and are sealed in the table; another
 * organisation's account is a 404, other roles get 403, bad fields a 400
 * naming them, a registered Matrix user a 409.
 */
let database: Database;
let api: TestApi;
const homeserver = inject('homeserver');
/** Every credential the tests send: none may come back anywhere. */
const sentSecrets: string[] = [];
/** Every response body the tests saw. */
const seen: string[] = [];

async function request(method: string, path: string, key: string | null, body?: unknown) {
  const res = await call(api.app, method, path, key, body);
  seen.push(JSON.stringify(res.body ?? ''));
  return res;
}
const fields = (res: { body: any }): string[] => res.body?.error?.details?.fields?.map((f: { path: string }) => f.path) ?? [];
const password = () => {
  const value = `pw-${randomBytes(12).toString('hex')}`;
  sentSecrets.push(value);
  return value;
};
async function botUser(prefix = 'orgbot'): Promise<RegisteredUser> {
  const user = await registerUser(homeserver, `${prefix}-${randomBytes(4).toString('hex')}`);
  sentSecrets.push(user.accessToken, user.password);
  return user;
}
/** A second access token of the same user (a new device), as an admin gets when rotating. */
async function login(user: RegisteredUser): Promise<string> {
  const res = await fetch(`${homeserver.url}/_matrix/client/v3/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user: user.userId }, password: user.password }),
  });
  const body = (await res.json()) as { access_token?: string };
  expect(res.status, JSON.stringify(body)).toBe(200);
  sentSecrets.push(body.access_token!);
  return body.access_token!;
}
const fakeUser = () => `@bot.${randomUUID().slice(0, 8)}:klinik.de`;

beforeAll(async () => {
  database = await openDatabase({ url: inject('databaseUrl') });
  api = await testApi(database.db);
});
afterAll(async () => {
  await database?.close();
});

describe('bot accounts API', () => {
  it('registers an account with an access token checked by the homeserver, lists, reads, changes, disables and rotates it', async () => {
    const { orgId, keys } = await api.organisation('Bots');
    const user = await botUser();
    const created = await request('POST', '/v1/bot-accounts', keys.org_admin, {
      homeserverUrl: `${homeserver.url}/`,
      userId: user.userId,
      accessToken: user.accessToken,
      displayName: 'Station 3 (Chatbot)',
      allowedInviters: ['@dr.berg:klinik.de', `@*:${homeserver.serverName}`],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      orgId,
      userId: user.userId,
      homeserverUrl: homeserver.url,
      deviceId: null,
      displayName: 'Station 3 (Chatbot)',
      allowedInviters: ['@dr.berg:klinik.de', `@*:${homeserver.serverName}`],
      credentialsVersion: 1,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      disabled: false,
    });
    const id = created.body.id as string;

    // Sealed at rest, and it opens to exactly what was sent.
    const [row] = await database.db.select().from(botAccounts).where(eq(botAccounts.id, id));
    expect(isSealed(row!.credentials)).toBe(true);
    expect(row!.credentials).not.toContain(user.accessToken);
    expect(openCredentials(TEST_SECRETS, row!)).toEqual({ accessToken: user.accessToken });

    expect((await request('GET', '/v1/bot-accounts', keys.org_admin)).body).toEqual({ botAccounts: [created.body] });
    expect((await request('GET', `/v1/bot-accounts/${id}`, keys.org_admin)).body).toEqual(created.body);

    const renamed = await request('PATCH', `/v1/bot-accounts/${id}`, keys.org_admin, { displayName: 'Station 4 (Chatbot)', allowedInviters: [] });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ displayName: 'Station 4 (Chatbot)', allowedInviters: [], disabled: false, credentialsVersion: 2 });
    // Nothing to change: the account as it is.
    expect((await request('PATCH', `/v1/bot-accounts/${id}`, keys.org_admin, {})).body).toEqual(renamed.body);

    const disabled = await request('PATCH', `/v1/bot-accounts/${id}`, keys.org_admin, { disabled: true });
    expect(disabled.body).toMatchObject({ disabled: true, displayName: 'Station 4 (Chatbot)' });
    expect((await database.db.select().from(botAccounts).where(eq(botAccounts.id, id)))[0]!.disabledAt).not.toBeNull();
    expect((await request('PATCH', `/v1/bot-accounts/${id}`, keys.org_admin, { disabled: false })).body.disabled).toBe(false);

    // Rotation: a new token of the same user, then a password.
    const token2 = await login(user);
    const rotated = await request('POST', `/v1/bot-accounts/${id}/credentials`, keys.org_admin, { accessToken: token2 });
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    const before = (await request('GET', `/v1/bot-accounts/${id}`, keys.org_admin)).body.credentialsVersion as number;
    expect(rotated.body.credentialsVersion).toBe(before);
    expect(rotated.body.credentialsVersion).toBeGreaterThan(disabled.body.credentialsVersion);
    const [afterToken] = await database.db.select().from(botAccounts).where(eq(botAccounts.id, id));
    expect(openCredentials(TEST_SECRETS, afterToken!)).toEqual({ accessToken: token2 });
    const newPassword = password();
    const byPassword = await request('POST', `/v1/bot-accounts/${id}/credentials`, keys.org_admin, { password: newPassword });
    expect(byPassword.status).toBe(200);
    expect(byPassword.body.credentialsVersion).toBe(rotated.body.credentialsVersion + 1);
    const [afterPassword] = await database.db.select().from(botAccounts).where(eq(botAccounts.id, id));
    expect(openCredentials(TEST_SECRETS, afterPassword!)).toEqual({ password: newPassword });

    // Every write is audited under the organisation, by id only.
    const audit = await database.db.select().from(auditLog).where(eq(auditLog.resourceId, id));
    expect(audit.map((a) => `${a.action} ${a.outcome}`)).toEqual(
      expect.arrayContaining(['bot_account.create ok', 'bot_account.update ok', 'bot_account.rotate ok']),
    );
    expect(audit.every((a) => a.orgId === orgId && a.resourceType === 'BotAccount')).toBe(true);
  });

  it('registers an account with a password (checked only when Visite logs in) and a default display name', async () => {
    const { keys } = await api.organisation();
    const res = await request('POST', '/v1/bot-accounts', keys.org_admin, {
      homeserverUrl: 'https://matrix.klinik.de',
      userId: fakeUser(),
      password: password(),
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ displayName: 'Visite (Chatbot)', allowedInviters: [], homeserverUrl: 'https://matrix.klinik.de' });
  });

  it('refuses an access token the homeserver does not accept: 400 naming accessToken (real Synapse)', async () => {
    const { keys } = await api.organisation();
    const user = await botUser();
    const bogus = `syt_${randomBytes(16).toString('hex')}`;
    sentSecrets.push(bogus);
    const res = await request('POST', '/v1/bot-accounts', keys.org_admin, { homeserverUrl: homeserver.url, userId: user.userId, accessToken: bogus });
    expect(res.status).toBe(400);
    expect(fields(res)).toEqual(['accessToken']);
    expect(res.body.error.details.fields[0].message).toMatch(/does not accept/);
    // Nothing stored.
    expect(await database.db.select().from(botAccounts).where(eq(botAccounts.userId, user.userId))).toEqual([]);
    // A logged-out token is refused alike.
    const logout = await fetch(`${homeserver.url}/_matrix/client/v3/logout`, { method: 'POST', headers: { authorization: `Bearer ${user.accessToken}` } });
    expect(logout.status).toBe(200);
    const out = await request('POST', '/v1/bot-accounts', keys.org_admin, {
      homeserverUrl: homeserver.url,
      userId: user.userId,
      accessToken: user.accessToken,
    });
    expect(out.status).toBe(400);
    expect(fields(out)).toEqual(['accessToken']);
  });

  it('refuses a token of another Matrix user, on create and on rotation: 400 naming accessToken', async () => {
    const { keys } = await api.organisation();
    const bot = await botUser();
    const other = await botUser('someone');
    const res = await request('POST', '/v1/bot-accounts', keys.org_admin, {
      homeserverUrl: homeserver.url,
      userId: bot.userId,
      accessToken: other.accessToken,
    });
    expect(res.status).toBe(400);
    expect(fields(res)).toEqual(['accessToken']);
    expect(res.body.error.details.fields[0].message).toContain(`belongs to ${other.userId}`);
    const created = await request('POST', '/v1/bot-accounts', keys.org_admin, {
      homeserverUrl: homeserver.url,
      userId: bot.userId,
      accessToken: bot.accessToken,
    });
    expect(created.status).toBe(201);
    const rotate = await request('POST', `/v1/bot-accounts/${created.body.id}/credentials`, keys.org_admin, { accessToken: other.accessToken });
    expect(rotate.status).toBe(400);
    expect(fields(rotate)).toEqual(['accessToken']);
    const [row] = await database.db.select().from(botAccounts).where(eq(botAccounts.id, created.body.id));
    expect(openCredentials(TEST_SECRETS, row!)).toEqual({ accessToken: bot.accessToken });
    expect(row!.credentialsVersion).toBe(1);
  });

  it('answers 503 when the homeserver cannot be asked, and 400 naming homeserverUrl when it is no Matrix homeserver', async () => {
    const { keys } = await api.organisation();
    const token = `syt_${randomBytes(16).toString('hex')}`;
    sentSecrets.push(token);
    const userId = fakeUser();
    const down = await request('POST', '/v1/bot-accounts', keys.org_admin, {
      homeserverUrl: `http://127.0.0.1:${await freePort()}`,
      userId,
      accessToken: token,
    });
    expect(down.status).toBe(503);
    expect(down.body.error.code).toBe('not_ready');
    // Synapse's URL with a path under which there is no client API.
    const notMatrix = await request('POST', '/v1/bot-accounts', keys.org_admin, { homeserverUrl: `${homeserver.url}/not-matrix`, userId, accessToken: token });
    expect(notMatrix.status).toBe(400);
    expect(fields(notMatrix)).toEqual(['homeserverUrl']);
    expect(await database.db.select().from(botAccounts).where(eq(botAccounts.userId, userId))).toEqual([]);
  });

  it('answers 409 for a Matrix user already registered (in this or another organisation), without asking the homeserver', async () => {
    const a = await api.organisation();
    const b = await api.organisation();
    const userId = fakeUser();
    expect(
      (await request('POST', '/v1/bot-accounts', a.keys.org_admin, { homeserverUrl: 'https://matrix.klinik.de', userId, password: password() })).status,
    ).toBe(201);
    const again = await request('POST', '/v1/bot-accounts', a.keys.org_admin, { homeserverUrl: 'https://matrix.klinik.de', userId, password: password() });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('conflict');
    // With a token for an unreachable homeserver: 409, not 503.
    const other = await request('POST', '/v1/bot-accounts', b.keys.org_admin, {
      homeserverUrl: `http://127.0.0.1:${await freePort()}`,
      userId,
      accessToken: `syt_${randomUUID()}`,
    });
    expect(other.status).toBe(409);
    const audit = await database.db.select().from(auditLog).where(sql`${auditLog.orgId} = ${b.orgId} and ${auditLog.action} = 'bot_account.create'`);
    expect(audit.map((e) => e.outcome)).toEqual(['invalid']);
  });

  it.each([
    ['a non-http homeserver URL', { homeserverUrl: 'ftp://matrix.klinik.de' }, ['homeserverUrl']],
    ['a homeserver URL with credentials', { homeserverUrl: 'https://bot:secret@matrix.klinik.de' }, ['homeserverUrl']],
    ['a homeserver URL with a query', { homeserverUrl: 'https://matrix.klinik.de/?x=1' }, ['homeserverUrl']],
    ['a bad Matrix user id', { userId: 'bot' }, ['userId']],
    ['a bad inviter', { allowedInviters: ['dr.berg'] }, ['allowedInviters.0']],
    ['a repeated inviter', { allowedInviters: ['@a:klinik.de', '@a:klinik.de'] }, ['allowedInviters']],
    ['an empty display name', { displayName: '' }, ['displayName']],
    ['an empty password', { password: '' }, ['password']],
    ['both a password and a token', { accessToken: 'syt_x' }, ['accessToken', 'password']],
    ['neither a password nor a token', { password: undefined }, ['accessToken', 'password']],
    ['an owner field (mass assignment)', { orgId: randomUUID() }, ['orgId']],
    ['a credentials version', { credentialsVersion: 7 }, ['credentialsVersion']],
  ])('rejects %s with 400 naming the field', async (_name, extra, expected) => {
    const { keys } = await api.organisation();
    const res = await request('POST', '/v1/bot-accounts', keys.org_admin, {
      homeserverUrl: 'https://matrix.klinik.de',
      userId: fakeUser(),
      password: 'pw-valid-but-unused',
      ...extra,
    });
    expect(res.status).toBe(400);
    expect(fields(res)).toEqual(expected);
  });

  it('rejects bad changes and rotations with 400 naming the field', async () => {
    const { keys } = await api.organisation();
    const created = await request('POST', '/v1/bot-accounts', keys.org_admin, {
      homeserverUrl: 'https://matrix.klinik.de',
      userId: fakeUser(),
      password: password(),
    });
    const id = created.body.id as string;
    for (const [body, expected] of [
      [{ disabled: 'yes' }, ['disabled']],
      [{ allowedInviters: ['@*'] }, ['allowedInviters.0']],
      [{ userId: fakeUser() }, ['userId']],
      [{ homeserverUrl: 'https://evil.example' }, ['homeserverUrl']],
      [{ password: 'x' }, ['password']],
    ] as const) {
      const res = await request('PATCH', `/v1/bot-accounts/${id}`, keys.org_admin, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(fields(res)).toEqual(expected);
    }
    for (const [body, expected] of [
      [{}, ['accessToken', 'password']],
      [{ password: 'a', accessToken: 'b' }, ['accessToken', 'password']],
      [{ password: 42 }, ['password']],
      [{ displayName: 'x', password: 'y' }, ['displayName']],
    ] as const) {
      const res = await request('POST', `/v1/bot-accounts/${id}/credentials`, keys.org_admin, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(fields(res)).toEqual(expected);
    }
  });

  it("treats another organisation's account (and the environment's) exactly like a random id: 404", async () => {
    const a = await api.organisation('A');
    const b = await api.organisation('B');
    const created = await request('POST', '/v1/bot-accounts', a.keys.org_admin, {
      homeserverUrl: 'https://matrix.a.de',
      userId: fakeUser(),
      password: password(),
    });
    const [environment] = await database.db
      .insert(botAccounts)
      .values({
        orgId: null,
        homeserverUrl: 'https://matrix.klinik.de',
        userId: fakeUser(),
        credentials: TEST_SECRETS.seal('{"password":"x"}'),
        displayName: 'Visite (Chatbot)',
      })
      .returning();
    for (const id of [created.body.id as string, environment!.id]) {
      for (const [method, path, body] of [
        ['GET', `/v1/bot-accounts/${id}`, undefined],
        ['PATCH', `/v1/bot-accounts/${id}`, { displayName: 'taken over', disabled: true }],
        ['POST', `/v1/bot-accounts/${id}/credentials`, { password: 'taken-over' }],
      ] as const) {
        const foreign = await request(method, path, b.keys.org_admin, body);
        const random = await request(method, path.replace(id, randomUUID()), b.keys.org_admin, body);
        expect(foreign.status, `${method} ${path}`).toBe(404);
        expect(foreign.body).toEqual(random.body);
      }
    }
    expect((await request('GET', '/v1/bot-accounts', b.keys.org_admin)).body).toEqual({ botAccounts: [] });
    // A's account is untouched.
    const [row] = await database.db.select().from(botAccounts).where(eq(botAccounts.id, created.body.id));
    expect(row).toMatchObject({ displayName: 'Visite (Chatbot)', disabledAt: null, credentialsVersion: 1 });
    expect(openCredentials(TEST_SECRETS, row!).password).not.toBe('taken-over');
  });

  it('is for org_admin only: every other role gets 403 (audited as denied)', async () => {
    const { orgId, keys } = await api.organisation();
    const created = await request('POST', '/v1/bot-accounts', keys.org_admin, {
      homeserverUrl: 'https://matrix.klinik.de',
      userId: fakeUser(),
      password: password(),
    });
    const id = created.body.id as string;
    for (const role of ['clinician', 'integration', 'flow_author', 'flow_reviewer'] as const) {
      for (const [method, path, body] of [
        ['GET', '/v1/bot-accounts', undefined],
        ['POST', '/v1/bot-accounts', { homeserverUrl: 'https://matrix.klinik.de', userId: fakeUser(), password: 'pw' }],
        ['GET', `/v1/bot-accounts/${id}`, undefined],
        ['PATCH', `/v1/bot-accounts/${id}`, { disabled: true }],
        ['POST', `/v1/bot-accounts/${id}/credentials`, { password: 'pw' }],
      ] as const) {
        const res = await request(method, path, keys[role], body);
        expect(res.status, `${role} ${method} ${path}`).toBe(403);
        expect(res.body.error.code).toBe('forbidden');
      }
    }
    const denied = await database.db.select().from(auditLog).where(sql`${auditLog.orgId} = ${orgId} and ${auditLog.outcome} = 'denied'`);
    expect(denied.length).toBe(20);
    expect((await request('GET', '/v1/bot-accounts', null)).status).toBe(401);
  });

  it('documents the routes, with the credentials write-only', async () => {
    const doc = (await request('GET', '/openapi.json', null)).body;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/bot-accounts', '/v1/bot-accounts/{id}', '/v1/bot-accounts/{id}/credentials']));
    const account = doc.components.schemas.BotAccount;
    expect(Object.keys(account.properties)).not.toContain('accessToken');
    expect(Object.keys(account.properties)).not.toContain('password');
    expect(Object.keys(account.properties)).not.toContain('credentials');
    expect(doc.components.schemas.CreateBotAccount.properties.accessToken.writeOnly).toBe(true);
  });

  // Last: over everything the tests above sent and received.
  it('never shows a credential in a response, a log line or the audit log', async () => {
    expect(sentSecrets.length).toBeGreaterThan(8);
    const audit = JSON.stringify(await database.db.select().from(auditLog));
    const responses = seen.join('\n');
    const logs = api.logs.join('\n');
    for (const secret of sentSecrets) {
      expect(responses.includes(secret), 'a response carries a credential').toBe(false);
      expect(logs.includes(secret), 'a log line carries a credential').toBe(false);
      expect(audit.includes(secret), 'the audit log carries a credential').toBe(false);
    }
    // The sealed column holds none of them either.
    const stored = JSON.stringify(await database.db.select({ credentials: botAccounts.credentials }).from(botAccounts));
    for (const secret of sentSecrets) expect(stored.includes(secret)).toBe(false);
  });
});
