import { randomBytes } from 'node:crypto';
import { eq, inArray, sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bot } from '../../bots/bot.ts';
import { createFleet, type Fleet, type FleetOptions } from '../../bots/fleet.ts';
import { createAccount, ensureEnvironmentAccount, openCredentials, rotateCredentials, updateAccount, type BotAccount } from '../../db/bot-accounts.ts';
import { openDatabase, type Database } from '../../db/database.ts';
import type { Lease } from '../../db/leases.ts';
import { createOrganisation } from '../../db/organisations.ts';
import { botInstances, botLeases } from '../../db/schema.ts';
import { secretBox } from '../../db/secrets.ts';
import { createLogger } from '../../server/logger.ts';
import { createFreshDatabase } from '../harness/postgres.ts';
import { eventually } from '../harness/process.ts';

/**
 * The fleet (bots/fleet.ts, issue #14): several instances share the bot
 * accounts through leases on one Postgres database. Every test gets a fresh
 * database of its own, since the fleet runs every enabled account it finds.
 *
 * `botFor` returns a small recording Bot instead of the Matrix adapter: this
 * tests who runs which account when (leases, balancing, takeover), not Matrix;
 * the Matrix side of several instances is covered end to end with Synapse
 * (test/e2e). Events are numbered in the order they happen (one process, one
 * counter), so "never in two instances at once" is checked without clocks.
 */
const LEASE_TTL_MS = 1_500;
const TICK_MS = 100;
const secrets = secretBox({ key: randomBytes(32) });
const tag = () => randomBytes(4).toString('hex');

interface BotEvent {
  seq: number;
  at: number;
  kind: 'start' | 'stop';
  instanceId: string;
  accountId: string;
  epoch: number;
  credentialsVersion: number;
  password: string | undefined;
}

interface World {
  url: string;
  databases: Database[];
  db: Database['db'];
  environment: BotAccount;
  orgAccounts: BotAccount[];
  events: BotEvent[];
  logs: string[];
  fleets: Fleet[];
  /** Accounts whose bot cannot be built (botFor throws, as for credentials sealed under another key). */
  unbuildable: Set<string>;
  open(): Promise<Database>;
  fleet(instanceId: string, extra?: Partial<FleetOptions> & { database?: Database }): Fleet;
  /** Accounts whose bot runs now in this instance (started, not stopped). */
  runningIn(instanceId: string): string[];
  drop(): Promise<void>;
}

let current: World | undefined;
afterEach(async () => {
  await current?.drop();
  current = undefined;
});

async function world(): Promise<World> {
  const fresh = await createFreshDatabase('visite_fleet');
  const databases: Database[] = [];
  const open = async () => {
    const database = await openDatabase({ url: fresh.url });
    databases.push(database);
    return database;
  };
  const main = await open();
  const db = main.db;
  const environment = await ensureEnvironmentAccount(db, secrets, {
    homeserverUrl: 'http://127.0.0.1:1',
    userId: `@visite-${tag()}:localhost`,
    credentials: { password: 'environment' },
    displayName: 'Visite',
  });
  const orgAccounts: BotAccount[] = [];
  for (let i = 0; i < 2; i++) {
    const org = await createOrganisation(db, { name: `Klinik ${i} ${tag()}` });
    for (let j = 0; j < 2; j++) {
      orgAccounts.push(
        await createAccount(db, secrets, {
          orgId: org.id,
          homeserverUrl: 'http://127.0.0.1:1',
          userId: `@bot-${i}-${j}-${tag()}:localhost`,
          credentials: { password: `org-${i}-${j}` },
          displayName: `Klinik ${i}`,
        }),
      );
    }
  }
  const events: BotEvent[] = [];
  const logs: string[] = [];
  const fleets: Fleet[] = [];
  const unbuildable = new Set<string>();
  let seq = 0;

  /** The stand-in for the Matrix adapter: records when it starts and stops, as which lease. */
  function recordingBot(instanceId: string, account: BotAccount, lease: Lease): Bot {
    const base = {
      instanceId,
      accountId: account.id,
      epoch: lease.epoch,
      credentialsVersion: account.credentialsVersion,
      password: openCredentials(secrets, account).password,
    };
    let connected = false;
    const notMatrix = () => Promise.reject(new Error('not a Matrix bot'));
    return {
      async start() {
        events.push({ ...base, seq: ++seq, at: Date.now(), kind: 'start' });
        connected = true;
      },
      async stop() {
        if (!connected) return;
        connected = false;
        events.push({ ...base, seq: ++seq, at: Date.now(), kind: 'stop' });
      },
      get connected() {
        return connected;
      },
      rateLimit: 'unknown',
      ping: () => Promise.resolve(),
      createDirectRoom: notMatrix,
      leaveAndForget: notMatrix,
      inspectRoom: notMatrix,
    };
  }

  const w: World = {
    url: fresh.url,
    databases,
    db,
    environment,
    orgAccounts,
    events,
    logs,
    fleets,
    unbuildable,
    open,
    fleet(instanceId, extra = {}) {
      const { database, ...options } = extra;
      const fleet = createFleet({
        db: (database ?? main).db,
        secrets,
        logger: createLogger('info', (line) => logs.push(line)),
        instanceId,
        leaseTtlMs: LEASE_TTL_MS,
        tickMs: TICK_MS,
        encrypted: false,
        environmentAccountId: environment.id,
        botFor: (account, lease) => {
          if (unbuildable.has(account.id)) throw new Error('credentials cannot be opened here');
          return recordingBot(instanceId, account, lease);
        },
        ...options,
      });
      fleets.push(fleet);
      return fleet;
    },
    runningIn(instanceId) {
      const on = new Set<string>();
      for (const e of events) if (e.instanceId === instanceId) e.kind === 'start' ? on.add(e.accountId) : on.delete(e.accountId);
      return [...on].sort();
    },
    async drop() {
      for (const fleet of fleets) await fleet.stop().catch(() => {});
      for (const database of databases) await database.close().catch(() => {});
      await fresh.drop();
    },
  };
  current = w;
  return w;
}

const allIds = (w: World) => [w.environment.id, ...w.orgAccounts.map((a) => a.id)].sort();

/** No account ever ran in two places at once: each start comes after the stop of the one before. */
function expectNoOverlap(events: readonly BotEvent[]) {
  const byAccount = new Map<string, BotEvent[]>();
  for (const e of events) byAccount.set(e.accountId, [...(byAccount.get(e.accountId) ?? []), e]);
  for (const [accountId, list] of byAccount) {
    let runningIn: string | undefined;
    for (const e of list) {
      if (e.kind === 'start') {
        expect(runningIn, `account ${accountId} started in ${e.instanceId} while running in ${runningIn}`).toBeUndefined();
        runningIn = e.instanceId;
      } else {
        expect(e.instanceId, `account ${accountId} stopped in ${e.instanceId}, which did not run it`).toBe(runningIn);
        runningIn = undefined;
      }
    }
  }
}

/**
 * Waits until every fleet has done two more rounds: each live instance beat its heartbeat and each
 * live lease was renewed after a moment read from the database, twice (an instance running only the
 * environment's account shows its rounds by its lease alone).
 */
async function roundsPass(w: World) {
  for (let i = 0; i < 2; i++) {
    const [row] = (await w.db.execute(sql`select now() as now`)) as unknown as Array<{ now: Date | string }>;
    const since = new Date(row!.now).getTime();
    await eventually(
      async () => {
        const beats = await w.db.select({ at: botInstances.heartbeatAt }).from(botInstances).where(sql`${botInstances.expiresAt} > now()`);
        const renewals = await w.db.select({ at: botLeases.renewedAt }).from(botLeases).where(sql`${botLeases.expiresAt} > now()`);
        const all = [...beats, ...renewals];
        return all.length > 0 && all.every((r) => r.at.getTime() > since) ? true : undefined;
      },
      10_000,
      'a round of every instance',
    );
  }
}

const sameSet = (a: readonly string[], b: readonly string[]) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

async function leaseOf(w: World, accountId: string) {
  const [row] = await w.db
    .select({ instanceId: botLeases.instanceId, epoch: botLeases.epoch, live: sql<boolean>`${botLeases.expiresAt} > now()` })
    .from(botLeases)
    .where(eq(botLeases.accountId, accountId));
  return row;
}

describe('fleet of bot accounts over leases (Postgres, fresh database per test)', () => {
  it('one fleet alone runs all five accounts, each with a lease of its own', async () => {
    const w = await world();
    const a = w.fleet('instance-a');
    await a.start();
    await eventually(async () => (sameSet(w.runningIn('instance-a'), allIds(w)) ? true : undefined), 10_000, 'all five run in a');
    expect(
      a
        .held()
        .map((h) => h.accountId)
        .sort(),
    ).toEqual(allIds(w));
    expect(a.held().every((h) => h.epoch === 1 && h.connected)).toBe(true);
    const leases = await w.db
      .select()
      .from(botLeases)
      .where(inArray(botLeases.accountId, allIds(w)));
    expect(leases.map((l) => l.instanceId)).toEqual(Array(5).fill('instance-a'));
    await roundsPass(w);
    // Stable: nothing was stopped and started again over the rounds.
    expect(w.events.filter((e) => e.kind === 'stop')).toEqual([]);
    expect(a.connected).toBe(true);
  });

  it('a second fleet joins: they split 3/2 within a few rounds and no account runs in both at once', async () => {
    const w = await world();
    const a = w.fleet('instance-a');
    await a.start();
    await eventually(async () => (w.runningIn('instance-a').length === 5 ? true : undefined), 10_000, 'all five run in a');
    const b = w.fleet('instance-b', { database: await w.open() });
    await b.start();
    await eventually(async () => (w.runningIn('instance-a').length === 3 && w.runningIn('instance-b').length === 2 ? true : undefined), 10_000, 'a 3/2 split');
    await roundsPass(w);
    // Still 3/2 after more rounds, every account in exactly one instance.
    expect(w.runningIn('instance-a')).toHaveLength(3);
    expect(w.runningIn('instance-b')).toHaveLength(2);
    expect([...w.runningIn('instance-a'), ...w.runningIn('instance-b')].sort()).toEqual(allIds(w));
    expect(
      a
        .held()
        .map((h) => h.accountId)
        .sort(),
    ).toEqual(w.runningIn('instance-a'));
    expect(
      b
        .held()
        .map((h) => h.accountId)
        .sort(),
    ).toEqual(w.runningIn('instance-b'));
    // b took over released leases: a new epoch for each.
    expect(b.held().every((h) => h.epoch === 2)).toBe(true);
    for (const h of b.held()) expect(await leaseOf(w, h.accountId)).toEqual({ instanceId: 'instance-b', epoch: 2, live: true });
    expectNoOverlap(w.events);
  });

  it('a fleet that stops cleanly gives its leases back: the other runs all five promptly, well before the leases would expire', async () => {
    const w = await world();
    const a = w.fleet('instance-a');
    const b = w.fleet('instance-b', { database: await w.open() });
    await a.start();
    await b.start();
    await eventually(
      async () => (w.runningIn('instance-a').length + w.runningIn('instance-b').length === 5 && w.runningIn('instance-b').length >= 2 ? true : undefined),
      10_000,
      'both run accounts',
    );
    const stopping = Date.now();
    await b.stop();
    expect(w.runningIn('instance-b')).toEqual([]);
    await eventually(async () => (sameSet(w.runningIn('instance-a'), allIds(w)) ? true : undefined), 10_000, 'a runs all five');
    expect(Date.now() - stopping).toBeLessThan(LEASE_TTL_MS);
    const [instance] = await w.db.select().from(botInstances).where(eq(botInstances.id, 'instance-b'));
    expect(instance).toBeUndefined(); // retired
    expectNoOverlap(w.events);
  });

  it('a fleet that dies without giving anything back (its database handle closed): the other takes over within the lease TTL and a few rounds', async () => {
    const w = await world();
    const a = w.fleet('instance-a');
    const crashing = await w.open();
    const b = w.fleet('instance-b', { database: crashing });
    await a.start();
    await b.start();
    await eventually(async () => (w.runningIn('instance-a').length === 3 && w.runningIn('instance-b').length === 2 ? true : undefined), 10_000, 'a 3/2 split');
    const lost = w.runningIn('instance-b');
    const epochs = new Map(b.held().map((h) => [h.accountId, h.epoch]));

    // b can no longer renew, heartbeat or release anything: as if the process was killed.
    await crashing.close();
    const crashedAt = Date.now();
    const takenOverAt = await eventually(
      async () => (sameSet(w.runningIn('instance-a'), allIds(w)) ? Date.now() : undefined),
      LEASE_TTL_MS * 5,
      'a runs all five',
    );
    expect(takenOverAt - crashedAt).toBeLessThan(LEASE_TTL_MS + 10 * TICK_MS + 1_000);
    for (const accountId of lost) {
      const lease = await leaseOf(w, accountId);
      expect(lease).toEqual({ instanceId: 'instance-a', epoch: epochs.get(accountId)! + 1, live: true });
    }
    // a took each of b's accounts only once b's lease had run out (the takeover's start came after the crash).
    const takeovers = w.events.filter(
      (e) => e.kind === 'start' && e.instanceId === 'instance-a' && lost.includes(e.accountId) && e.epoch > epochs.get(e.accountId)!,
    );
    expect(takeovers.map((e) => e.accountId).sort()).toEqual([...lost].sort());
    for (const e of takeovers) expect(e.at).toBeGreaterThanOrEqual(crashedAt);
    // Before the crash, nothing overlapped.
    expectNoOverlap(w.events.filter((e) => e.at < crashedAt));
  });

  it('rotated credentials: the holder stops the bot and starts it again with the new credentials and the same lease', async () => {
    const w = await world();
    const a = w.fleet('instance-a');
    await a.start();
    await eventually(async () => (w.runningIn('instance-a').length === 5 ? true : undefined), 10_000, 'all five run in a');
    const account = w.orgAccounts[1]!;
    const before = a.held().find((h) => h.accountId === account.id)!;
    const firstStart = w.events.find((e) => e.kind === 'start' && e.accountId === account.id)!;
    expect(firstStart.password).toBe('org-0-1');

    const rotated = await rotateCredentials(w.db, secrets, account.id, { password: 'rotated' });
    expect(rotated!.credentialsVersion).toBe(account.credentialsVersion + 1);
    const restart = await eventually(
      async () => w.events.find((e) => e.kind === 'start' && e.accountId === account.id && e.credentialsVersion === rotated!.credentialsVersion),
      10_000,
      'the bot reconnects',
    );
    const stop = w.events.find((e) => e.kind === 'stop' && e.accountId === account.id)!;
    expect(stop.seq).toBeLessThan(restart.seq);
    expect(restart).toMatchObject({ instanceId: 'instance-a', epoch: before.epoch, password: 'rotated' });
    expect(await leaseOf(w, account.id)).toEqual({ instanceId: 'instance-a', epoch: before.epoch, live: true });
    await roundsPass(w);
    // Once: not reconnected again and again, and the other accounts were left alone.
    expect(w.events.filter((e) => e.accountId === account.id).map((e) => e.kind)).toEqual(['start', 'stop', 'start']);
    expect(w.events.filter((e) => e.kind === 'stop' && e.accountId !== account.id)).toEqual([]);
    expect(w.runningIn('instance-a')).toEqual(allIds(w));
  });

  it('a disabled account: its bot stops and its lease is released; the others keep running', async () => {
    const w = await world();
    const a = w.fleet('instance-a');
    await a.start();
    await eventually(async () => (w.runningIn('instance-a').length === 5 ? true : undefined), 10_000, 'all five run in a');
    const account = w.orgAccounts[2]!;
    await updateAccount(w.db, account.id, { disabled: true });
    await eventually(async () => (w.runningIn('instance-a').includes(account.id) ? undefined : true), 10_000, 'the bot stops');
    await eventually(async () => ((await leaseOf(w, account.id))?.live === false ? true : undefined), 10_000, 'the lease is released');
    await roundsPass(w);
    expect(w.runningIn('instance-a')).toEqual(allIds(w).filter((id) => id !== account.id));
    expect((await leaseOf(w, account.id))?.live).toBe(false);
    expect(w.events.filter((e) => e.kind === 'stop').map((e) => e.accountId)).toEqual([account.id]);
  });

  it("accounts: 'environment' runs only the environment's account", async () => {
    const w = await world();
    const a = w.fleet('instance-a', { accounts: 'environment' });
    await a.start();
    expect(w.runningIn('instance-a')).toEqual([w.environment.id]);
    await roundsPass(w);
    expect(w.runningIn('instance-a')).toEqual([w.environment.id]);
    expect(a.held().map((h) => h.accountId)).toEqual([w.environment.id]);
    const leases = await w.db.select().from(botLeases);
    expect(leases.map((l) => l.accountId)).toEqual([w.environment.id]);
  });

  it("an instance with accounts: 'environment' next to one with 'all': every account still runs somewhere", async () => {
    // docs/operations.md: VISITE_BOT_ACCOUNTS=environment for e.g. a dedicated instance. Such an
    // instance can run one account only, so it must not shrink the share of an instance running all.
    const w = await world();
    const e = w.fleet('instance-e', { accounts: 'environment', database: await w.open() });
    const a = w.fleet('instance-a');
    await e.start();
    await a.start();
    await eventually(
      async () => (sameSet([...w.runningIn('instance-a'), ...w.runningIn('instance-e')], allIds(w)) ? true : undefined),
      10_000,
      'all five run somewhere',
    );
    await roundsPass(w);
    const running = [...w.runningIn('instance-a'), ...w.runningIn('instance-e')].sort();
    expect(running).toEqual(allIds(w));
    expect(w.runningIn('instance-e').every((id) => id === w.environment.id)).toBe(true);
    expectNoOverlap(w.events);
  });

  it('a bot that cannot be built: the account is given up and its lease released, the others run unaffected', async () => {
    const w = await world();
    const broken = w.orgAccounts[0]!;
    w.unbuildable.add(broken.id);
    const a = w.fleet('instance-a');
    await a.start();
    const others = allIds(w).filter((id) => id !== broken.id);
    await eventually(async () => (sameSet(w.runningIn('instance-a'), others) ? true : undefined), 10_000, 'the four others run');
    await eventually(async () => ((await leaseOf(w, broken.id))?.live === false ? true : undefined), 10_000, "the broken account's lease is released");
    await roundsPass(w);
    expect(w.runningIn('instance-a')).toEqual(others);
    expect(
      a
        .held()
        .map((h) => h.accountId)
        .sort(),
    ).toEqual(others);
    expect((await leaseOf(w, broken.id))?.live).toBe(false);
    // Given up: tried once, not again and again every round.
    expect(w.logs.filter((l) => l.includes('cannot be run here'))).toHaveLength(1);
    expect(w.events.filter((e) => e.kind === 'stop')).toEqual([]);
  });
});
