import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { eq } from 'drizzle-orm';
import { openDatabase } from '../../db/database.ts';
import { botState } from '../../db/schema.ts';
import { isSealed, secretBox } from '../../db/secrets.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { freePort, registerUser } from '../../scripts/synapse.ts';
import { eventually, processEnv, runMain, waitForHttp } from '../harness/process.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'visite-proc-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('the visite process', () => {
  it('stops with one line naming the bad variable and a non-zero exit code', async () => {
    const run = runMain({ VISITE_HOMESERVER_URL: 'not a url', VISITE_BOT_USER_ID: '@visite:localhost', VISITE_BOT_PASSWORD: 'x' });
    expect(await run.exited).toBe(2);
    const lines = run.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^visite: invalid configuration: VISITE_HOMESERVER_URL: expected an http\(s\) URL/);
  });

  it('reports every missing required variable on that one line', async () => {
    const run = runMain({});
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toMatch(/VISITE_HOMESERVER_URL: required.*VISITE_BOT_USER_ID: required/);
    expect(run.stderr().trim().split('\n')).toHaveLength(1);
  });

  it('serves health on embedded storage, reports an unreachable homeserver, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const deadHomeserver = await freePort(); // nothing listens there
    const run = runMain({
      VISITE_HOMESERVER_URL: `http://127.0.0.1:${deadHomeserver}`,
      VISITE_BOT_USER_ID: '@visite:localhost',
      VISITE_BOT_PASSWORD: 'secret',
      VISITE_DATA_DIR: join(dataDir, 'a'),
      VISITE_HTTP_PORT: String(port),
    });
    const health = await waitForHttp(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'alive' });

    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { error: { code: string }; checks: Record<string, string> };
    expect(body.error.code).toBe('not_ready');
    expect(body.checks).toEqual({ database: 'ok', homeserver: 'unreachable', 'alert-delivery': 'ok' });

    // Still alive while the bot retries with backoff.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(run.child.exitCode).toBeNull();
    expect(run.stderr()).toMatch(/homeserver not usable yet; retrying/);

    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });

  it('becomes ready against the real homeserver and Postgres, and exits 0 on SIGINT', async () => {
    const homeserver = inject('homeserver');
    const bot = await registerUser(homeserver, `visite-${randomBytes(4).toString('hex')}`);
    const port = await freePort();
    const run = runMain({
      VISITE_HOMESERVER_URL: homeserver.url,
      VISITE_BOT_USER_ID: bot.userId,
      VISITE_BOT_PASSWORD: bot.password,
      DATABASE_URL: inject('databaseUrl'),
      VISITE_HTTP_PORT: String(port),
    });
    await waitForHttp(`http://127.0.0.1:${port}/healthz`);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    // The run's database is shared: other files' care teams with made-up rooms may make alert delivery degraded.
    expect(await ready.json()).toMatchObject({
      status: expect.stringMatching(/^(ready|degraded)$/),
      checks: { database: 'ok', homeserver: 'ok', 'alert-delivery': expect.any(String) },
    });
    const missing = await fetch(`http://127.0.0.1:${port}/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');

    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
  });
});

describe('the visite process with end-to-end encryption', () => {
  it('exits 1 with a clear log line when the crypto store passphrase is wrong', async () => {
    const homeserver = inject('homeserver');
    const bot = await registerUser(homeserver, `visite-${randomBytes(4).toString('hex')}`);
    const port = await freePort();
    const env = processEnv(homeserver, bot, inject('databaseUrl'), port, {
      VISITE_DATA_DIR: join(dataDir, 'e2ee'),
      VISITE_CRYPTO_PASSPHRASE: 'the right passphrase',
    });
    const first = runMain(env);
    await waitForHttp(`http://127.0.0.1:${port}/healthz`);
    // Ready means the crypto store was opened and recorded: stopping earlier would leave nothing to fail closed on.
    await eventually(async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok ? true : undefined), 90_000, 'ready');
    await new Promise((r) => setTimeout(r, 1_500)); // the store is created during the bot's start
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = runMain({ ...env, VISITE_CRYPTO_PASSPHRASE: 'a wrong passphrase!' });
    expect(await second.exited).toBe(1);
    // Its sealed session or its crypto store, whichever is opened first, refuses the wrong passphrase.
    expect(second.stderr()).toMatch(/the (crypto store|stored session) cannot be opened/);
    expect(second.stderr()).toMatch(/start-up failed/);
  });

  it('fails closed: an account that has used encryption does not start without the passphrase (exit 1), whether the database or only the store on disk remembers it', async () => {
    const homeserver = inject('homeserver');
    const bot = await registerUser(homeserver, `visite-${randomBytes(4).toString('hex')}`);
    const port = await freePort();
    const env = processEnv(homeserver, bot, inject('databaseUrl'), port, {
      VISITE_DATA_DIR: join(dataDir, 'e2ee-closed'),
      VISITE_CRYPTO_PASSPHRASE: 'the right passphrase',
    });
    const first = runMain(env);
    await waitForHttp(`http://127.0.0.1:${port}/healthz`);
    // Ready means the crypto store was opened and recorded: stopping earlier would leave nothing to fail closed on.
    await eventually(async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok ? true : undefined), 90_000, 'ready');
    // The second half needs the store on disk: its folder is written with the first sync, which may come after readiness.
    await eventually(async () => (existsSync(join(dataDir, 'e2ee-closed', 'crypto')) ? true : undefined), 60_000, 'crypto store folder');
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const { VISITE_CRYPTO_PASSPHRASE: _passphrase, ...withoutPassphrase } = env;
    const second = runMain(withoutPassphrase);
    expect(await second.exited).toBe(1);
    expect(second.stderr()).toMatch(/EncryptionRequiredError/);
    expect(second.stderr()).toMatch(/set VISITE_CRYPTO_PASSPHRASE/);

    // Another database (no record of the account) but the same data folder: the store on disk is enough.
    const { DATABASE_URL: _url, ...embedded } = withoutPassphrase;
    const elsewhere = runMain({ ...embedded, VISITE_HTTP_PORT: '0' });
    expect(await elsewhere.exited).toBe(1);
    expect(elsewhere.stderr()).toMatch(/EncryptionRequiredError/);
  }, 150_000); // three Visite processes one after another: slow on a loaded CI machine (it hit 60 s once)

  it('keeps its embedded data owner-only under a permissive umask, and the access token sealed in the database', async () => {
    const homeserver = inject('homeserver');
    const bot = await registerUser(homeserver, `visite-${randomBytes(4).toString('hex')}`);
    const port = await freePort();
    const dir = join(dataDir, 'at-rest');
    const passphrase = 'the at-rest passphrase';
    const { DATABASE_URL: _url, ...env } = processEnv(homeserver, bot, '', port, { VISITE_DATA_DIR: dir, VISITE_CRYPTO_PASSPHRASE: passphrase });
    const previous = process.umask(0o022); // the child inherits a umask that makes new files world-readable
    let run: ReturnType<typeof runMain>;
    try {
      run = runMain(env);
    } finally {
      process.umask(previous);
    }
    await waitForHttp(`http://127.0.0.1:${port}/healthz`);
    // Ready means the crypto store was opened and recorded: stopping earlier would leave nothing to fail closed on.
    await eventually(async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok ? true : undefined), 90_000, 'ready');
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);

    const open: string[] = [];
    const walk = (path: string) => {
      if ((statSync(path).mode & 0o077) !== 0) open.push(path);
      if (statSync(path).isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
    };
    walk(dir);
    expect(open).toEqual([]);

    const database = await openDatabase({ dataDir: join(dir, 'pglite') });
    try {
      const [row] = await database.db
        .select()
        .from(botState)
        .where(eq(botState.key, `${bot.userId}:session`));
      expect(isSealed(row!.value)).toBe(true);
      const { accessToken } = JSON.parse(secretBox({ passphrase }).open(row!.value)) as { accessToken: string };
      // Nothing on disk (tables, WAL) carries the token in the clear.
      const files: string[] = [];
      const collect = (path: string) => (statSync(path).isDirectory() ? readdirSync(path).forEach((n) => collect(join(path, n))) : files.push(path));
      collect(join(dir, 'pglite'));
      expect(files.filter((f) => readFileSync(f).includes(accessToken))).toEqual([]);
    } finally {
      await database.close();
    }
  });
});
