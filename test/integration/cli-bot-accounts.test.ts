import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { registerUser, type RegisteredUser } from '../../scripts/synapse.ts';
import { openCredentials } from '../../db/bot-accounts.ts';
import { openDatabase, type Database } from '../../db/database.ts';
import { createOrganisation } from '../../db/organisations.ts';
import { botAccounts } from '../../db/schema.ts';
import { isSealed, secretBox } from '../../db/secrets.ts';

/**
 * `visite admin add-bot`, `rotate-bot` and `list-bots` as an operator runs
 * them: the real CLI process against the run's Postgres database and Synapse.
 * Secrets come from environment variables only, are sealed with the server's
 * key in `bot_accounts`, and never appear in the output.
 */
const ROOT = join(import.meta.dirname, '../..');
const KEY = randomBytes(32).toString('base64');
const homeserver = inject('homeserver');
let database: Database;
let orgId: string;
let bot: RegisteredUser;

function visite(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(ROOT, 'scripts/node24.sh'), ['node', join(ROOT, 'cli/visite.ts'), ...args], {
      cwd: ROOT,
      // Only what the operator sets: no secret inherited from the test runner's environment.
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', DATABASE_URL: inject('databaseUrl'), VISITE_SECRET_KEY: KEY, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  database = await openDatabase({ url: inject('databaseUrl') });
  orgId = (await createOrganisation(database.db, { name: 'CLI Bots' })).id;
  bot = await registerUser(homeserver, `cli-bot-${randomBytes(4).toString('hex')}`);
});
afterAll(async () => {
  await database?.close();
});

describe('visite admin add-bot / rotate-bot / list-bots', { timeout: 120_000 }, () => {
  it('adds a bot with a token from the environment, lists it without secrets, rotates it to a password', async () => {
    const added = await visite(
      [
        'admin',
        'add-bot',
        '--org',
        orgId,
        '--user',
        bot.userId,
        '--homeserver',
        homeserver.url,
        '--token-env',
        'BOT_TOKEN',
        '--display-name',
        'Station 3 (Chatbot)',
        '--inviter',
        '@dr.berg:klinik.de',
        '--inviter',
        `@*:${homeserver.serverName}`,
      ],
      { BOT_TOKEN: bot.accessToken },
    );
    expect(added.code, added.stderr).toBe(0);
    const account = JSON.parse(added.stdout).botAccount;
    expect(account).toMatchObject({
      orgId,
      userId: bot.userId,
      homeserverUrl: homeserver.url,
      displayName: 'Station 3 (Chatbot)',
      allowedInviters: ['@dr.berg:klinik.de', `@*:${homeserver.serverName}`],
      credentialsVersion: 1,
      disabled: false,
    });
    expect(added.stdout + added.stderr).not.toContain(bot.accessToken);

    // Sealed with the server's key; it opens to the token.
    const [row] = await database.db.select().from(botAccounts).where(eq(botAccounts.id, account.id));
    expect(isSealed(row!.credentials)).toBe(true);
    expect(row!.credentials).not.toContain(bot.accessToken);
    expect(openCredentials(secretBox({ key: Buffer.from(KEY, 'base64') }), row!)).toEqual({ accessToken: bot.accessToken });

    const listed = await visite(['admin', 'list-bots', '--org', orgId]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual({ botAccounts: [account] });
    const all = await visite(['admin', 'list-bots']);
    expect(JSON.parse(all.stdout).botAccounts.map((a: { id: string }) => a.id)).toContain(account.id);
    for (const out of [listed, all]) {
      expect(out.stdout + out.stderr).not.toContain(bot.accessToken);
      expect(out.stdout).not.toContain('sealed:');
    }

    const rotated = await visite(['admin', 'rotate-bot', '--account', account.id, '--password-env', 'BOT_PASSWORD'], { BOT_PASSWORD: bot.password });
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(JSON.parse(rotated.stdout).botAccount.credentialsVersion).toBe(2);
    expect(rotated.stdout + rotated.stderr).not.toContain(bot.password);
    const [after] = await database.db.select().from(botAccounts).where(eq(botAccounts.id, account.id));
    expect(openCredentials(secretBox({ key: Buffer.from(KEY, 'base64') }), after!)).toEqual({ password: bot.password });

    // The same user again: refused.
    const again = await visite(['admin', 'add-bot', '--org', orgId, '--user', bot.userId, '--homeserver', homeserver.url, '--password-env', 'BOT_PASSWORD'], {
      BOT_PASSWORD: 'x',
    });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already registered');
  });

  it('refuses secrets on the command line, unset variables, bad tokens and bad arguments with one clear line and exit 1', async () => {
    const user = `@cli.${randomUUID().slice(0, 8)}:klinik.de`;
    const base = ['admin', 'add-bot', '--org', orgId, '--user', user, '--homeserver', 'https://matrix.klinik.de'];
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [[...base, '--password', 'hunter2'], {}, /Unknown option '--password'/],
      [base, {}, /exactly one of --password-env VAR or --token-env VAR/],
      [[...base, '--password-env', 'A', '--token-env', 'B'], { A: 'x', B: 'y' }, /exactly one of/],
      [[...base, '--password-env', 'NOT_SET_ANYWHERE'], {}, /NOT_SET_ANYWHERE is not set/],
      [[...base, '--password-env', 'hunter2!'], {}, /takes the name of an environment variable/],
      [
        ['admin', 'add-bot', '--org', 'nope', '--user', user, '--homeserver', 'https://matrix.klinik.de', '--password-env', 'P'],
        { P: 'x' },
        /--org is required/,
      ],
      [
        ['admin', 'add-bot', '--org', orgId, '--user', 'bot', '--homeserver', 'https://matrix.klinik.de', '--password-env', 'P'],
        { P: 'x' },
        /--user is required/,
      ],
      [
        ['admin', 'add-bot', '--org', orgId, '--user', user, '--homeserver', 'ftp://x', '--password-env', 'P'],
        { P: 'x' },
        /--homeserver expected an http\(s\) URL/,
      ],
      [[...base, '--password-env', 'P', '--inviter', 'dr.berg'], { P: 'x' }, /--inviter dr\.berg/],
      [
        ['admin', 'add-bot', '--org', randomUUID(), '--user', user, '--homeserver', 'https://matrix.klinik.de', '--password-env', 'P'],
        { P: 'x' },
        /no organisation/,
      ],
      [['admin', 'rotate-bot', '--account', randomUUID(), '--password-env', 'P'], { P: 'x' }, /no bot account/],
      [
        ['admin', 'add-bot', '--org', orgId, '--user', user, '--homeserver', homeserver.url, '--token-env', 'T'],
        { T: 'syt_not_a_token' },
        /--token-env: the homeserver does not accept this access token/,
      ],
      [[...base, '--password-env', 'P'], { P: 'x', VISITE_SECRET_KEY: 'short' }, /VISITE_SECRET_KEY: expected 32 bytes/],
    ];
    // Independent processes: run side by side.
    const results = await Promise.all(cases.map(([args, env]) => visite(args, env)));
    for (const [i, [args, , message]] of cases.entries()) {
      const r = results[i]!;
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
      expect(r.stderr).not.toContain('hunter2');
    }
    expect(await database.db.select().from(botAccounts).where(eq(botAccounts.userId, user))).toEqual([]);
  });
});
