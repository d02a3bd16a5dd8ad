import { randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createAccount, updateAccount } from '../../db/bot-accounts.ts';
import type { Db } from '../../db/database.ts';
import {
  acquireLease,
  fence,
  forgetDeadInstances,
  heartbeat,
  LeaseLostError,
  leaseTable,
  liveInstances,
  releaseLease,
  renewLeases,
  retireInstance,
  type Lease,
} from '../../db/leases.ts';
import { createOrganisation } from '../../db/organisations.ts';
import { botInstances, botLeases } from '../../db/schema.ts';
import { secretBox } from '../../db/secrets.ts';
import { BACKENDS, useBackend } from '../harness/backends.ts';
import { eventually } from '../harness/process.ts';

/**
 * Leases on bot accounts (db/leases.ts, issue #14): who may sync and send for
 * an account, with heartbeat, expiry and an epoch that fences off an old
 * holder. The contract runs on Postgres and PGlite; what needs two
 * connections at once (a takeover waiting for an open fenced transaction) runs
 * on Postgres only, since PGlite has a single connection.
 *
 * The run's Postgres database is shared with other test files: every test
 * makes its own accounts and instance ids and looks only at those.
 */
const tag = () => randomBytes(4).toString('hex');
const secrets = secretBox({ key: randomBytes(32) });
const LONG = 60_000;

async function newAccount(db: Db, orgId?: string) {
  const org = orgId ?? (await createOrganisation(db, { name: `Klinik ${tag()}` })).id;
  return createAccount(db, secrets, {
    orgId: org,
    homeserverUrl: 'http://127.0.0.1:1',
    userId: `@lease-${tag()}:localhost`,
    credentials: { password: 'secret' },
    displayName: 'Visite',
  });
}

async function leaseRow(db: Db, accountId: string) {
  const [row] = await db
    .select({ instanceId: botLeases.instanceId, epoch: botLeases.epoch, expiresAt: botLeases.expiresAt, live: sql<boolean>`${botLeases.expiresAt} > now()` })
    .from(botLeases)
    .where(eq(botLeases.accountId, accountId));
  return row;
}

/** Makes a lease expired without waiting for it (what a holder that stopped renewing leaves behind). */
async function expire(db: Db, accountId: string) {
  await db.update(botLeases).set({ expiresAt: sql`now() - interval '1 second'` }).where(eq(botLeases.accountId, accountId));
}

const fenced = (db: Db, lease: Lease) => db.transaction((tx) => fence(tx, lease));

describe.each(BACKENDS)('bot account leases on %s', (kind) => {
  const backend = useBackend(kind);

  it('a free account is acquired with epoch 1; a second instance is refused while it is live; once expired another instance takes it with epoch 2', async () => {
    const db = backend.db;
    const account = await newAccount(db);
    const [a, b, c] = [`a-${tag()}`, `b-${tag()}`, `c-${tag()}`];

    const first = await acquireLease(db, account.id, a, LONG);
    expect(first).toEqual({ accountId: account.id, instanceId: a, epoch: 1 });
    expect(await acquireLease(db, account.id, b, LONG)).toBeNull();
    expect(await leaseRow(db, account.id)).toMatchObject({ instanceId: a, epoch: 1, live: true });

    await expire(db, account.id);
    const second = await acquireLease(db, account.id, b, LONG);
    expect(second).toEqual({ accountId: account.id, instanceId: b, epoch: 2 });
    expect(typeof second!.epoch).toBe('number');
    expect(await acquireLease(db, account.id, c, LONG)).toBeNull();
    expect(await leaseRow(db, account.id)).toMatchObject({ instanceId: b, epoch: 2, live: true });
  });

  it('a lease with a short TTL runs out by itself and is taken over by another instance', async () => {
    const db = backend.db;
    const account = await newAccount(db);
    const [a, b] = [`a-${tag()}`, `b-${tag()}`];
    const first = await acquireLease(db, account.id, a, 300);
    expect(first?.epoch).toBe(1);
    const started = Date.now();
    const second = await eventually(async () => (await acquireLease(db, account.id, b, LONG)) ?? undefined, 10_000, 'takeover after the TTL');
    expect(second).toEqual({ accountId: account.id, instanceId: b, epoch: 2 });
    // Not before the TTL ran out (a little slack for the clocks of test runner and database).
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
  });

  it('fence: the old holder is refused with LeaseLostError after a takeover, the new holder passes', async () => {
    const db = backend.db;
    const account = await newAccount(db);
    const old = (await acquireLease(db, account.id, `a-${tag()}`, LONG))!;
    await fenced(db, old); // the holder of a live lease passes

    await expire(db, account.id);
    // Expired but not yet taken over: the old holder is refused already.
    await expect(fenced(db, old)).rejects.toBeInstanceOf(LeaseLostError);

    const current = (await acquireLease(db, account.id, `b-${tag()}`, LONG))!;
    const error = await fenced(db, old).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LeaseLostError);
    expect(error).toMatchObject({ code: 'LEASE_LOST', accountId: account.id });
    await fenced(db, current);
    // Same instance, wrong epoch: refused as well.
    await expect(fenced(db, { ...current, epoch: current.epoch - 1 })).rejects.toBeInstanceOf(LeaseLostError);
  });

  it('renewLeases extends only the live leases of the instance itself', async () => {
    const db = backend.db;
    const org = (await createOrganisation(db, { name: `Klinik ${tag()}` })).id;
    const [mine, lapsed, theirs] = [await newAccount(db, org), await newAccount(db, org), await newAccount(db, org)];
    const [a, b] = [`a-${tag()}`, `b-${tag()}`];
    const held = (await acquireLease(db, mine.id, a, 5_000))!;
    await acquireLease(db, lapsed.id, a, 5_000);
    await acquireLease(db, theirs.id, b, 5_000);
    await expire(db, lapsed.id);
    const before = { mine: await leaseRow(db, mine.id), lapsed: await leaseRow(db, lapsed.id), theirs: await leaseRow(db, theirs.id) };

    const renewed = await renewLeases(db, a, LONG);
    expect(renewed).toEqual([held]);

    const after = { mine: await leaseRow(db, mine.id), lapsed: await leaseRow(db, lapsed.id), theirs: await leaseRow(db, theirs.id) };
    expect(after.mine!.expiresAt.getTime()).toBeGreaterThan(before.mine!.expiresAt.getTime() + 30_000);
    expect(after.mine).toMatchObject({ instanceId: a, epoch: 1, live: true });
    expect(after.lapsed).toEqual(before.lapsed); // an expired lease is not brought back
    expect(after.lapsed!.live).toBe(false);
    expect(after.theirs).toEqual(before.theirs); // another instance's lease is not touched
    expect(await renewLeases(db, `nobody-${tag()}`, LONG)).toEqual([]);
  });

  it('releaseLease frees the account at once, only for the lease given (a stale lease releases nothing)', async () => {
    const db = backend.db;
    const account = await newAccount(db);
    const [a, b, c] = [`a-${tag()}`, `b-${tag()}`, `c-${tag()}`];
    const first = (await acquireLease(db, account.id, a, LONG))!;
    await releaseLease(db, first);
    expect((await leaseRow(db, account.id))?.live).toBe(false);
    await expect(fenced(db, first)).rejects.toBeInstanceOf(LeaseLostError);
    expect(await renewLeases(db, a, LONG)).toEqual([]);

    const second = (await acquireLease(db, account.id, b, LONG))!;
    expect(second.epoch).toBe(2);
    // The old holder releasing again (late, e.g. after a stop that hung) does not free the new holder's lease.
    await releaseLease(db, first);
    expect(await leaseRow(db, account.id)).toMatchObject({ instanceId: b, epoch: 2, live: true });
    expect(await acquireLease(db, account.id, c, LONG)).toBeNull();
  });

  it('heartbeat, liveInstances and retireInstance: an instance is live while its heartbeat is fresh', async () => {
    const db = backend.db;
    const [a, b] = [`a-${tag()}`, `b-${tag()}`];
    await heartbeat(db, a, LONG);
    await heartbeat(db, b, LONG);
    let live = await liveInstances(db);
    expect(live).toEqual(expect.arrayContaining([a, b]));
    expect(live).toEqual([...live].sort()); // ordered by id

    const [beforeBeat] = await db.select().from(botInstances).where(eq(botInstances.id, a));
    await heartbeat(db, a, LONG * 2);
    const [afterBeat] = await db.select().from(botInstances).where(eq(botInstances.id, a));
    expect(afterBeat!.expiresAt.getTime()).toBeGreaterThan(beforeBeat!.expiresAt.getTime());
    expect(afterBeat!.startedAt).toEqual(beforeBeat!.startedAt);

    await retireInstance(db, a);
    live = await liveInstances(db);
    expect(live).not.toContain(a);
    expect(live).toContain(b);

    // A heartbeat that is not renewed runs out.
    await heartbeat(db, b, 200);
    await eventually(async () => ((await liveInstances(db)).includes(b) ? undefined : true), 10_000, 'the heartbeat of b runs out');
    await heartbeat(db, b, LONG);
    expect(await liveInstances(db)).toContain(b);

    // Housekeeping forgets instances dead for long, not the live ones.
    const dead = `dead-${tag()}`;
    await heartbeat(db, dead, LONG);
    await db.update(botInstances).set({ expiresAt: sql`now() - interval '1 hour'` }).where(eq(botInstances.id, dead));
    await forgetDeadInstances(db, 60_000);
    const ids = (await db.select({ id: botInstances.id }).from(botInstances)).map((r) => r.id);
    expect(ids).not.toContain(dead);
    expect(ids).toContain(b);
    await retireInstance(db, b);
  });

  it('leaseTable shows every enabled account with its holder, epoch, age and liveness', async () => {
    const db = backend.db;
    const org = (await createOrganisation(db, { name: `Klinik ${tag()}` })).id;
    const [held, expired, free, disabled] = [await newAccount(db, org), await newAccount(db, org), await newAccount(db, org), await newAccount(db, org)];
    const a = `a-${tag()}`;
    await acquireLease(db, held.id, a, LONG);
    await acquireLease(db, expired.id, a, LONG);
    await expire(db, expired.id);
    await acquireLease(db, disabled.id, a, LONG);
    await updateAccount(db, disabled.id, { disabled: true });

    const ours = new Set([held.id, expired.id, free.id, disabled.id]);
    const table = (await leaseTable(db)).filter((v) => ours.has(v.accountId));
    // Creation order; accounts created within the same millisecond may come in either order.
    expect([...table.map((v) => v.accountId)].sort()).toEqual([held.id, expired.id, free.id].sort()); // no disabled account
    const row = (id: string) => table.find((v) => v.accountId === id)!;
    expect(row(held.id)).toMatchObject({ userId: held.userId, instanceId: a, epoch: 1, live: true });
    expect(row(held.id).ageSeconds).toBeGreaterThanOrEqual(0);
    expect(row(held.id).ageSeconds).toBeLessThan(60);
    expect(row(expired.id)).toMatchObject({ instanceId: a, epoch: 1, live: false });
    expect(row(free.id)).toEqual({ accountId: free.id, userId: free.userId, instanceId: null, epoch: null, ageSeconds: null, live: false });
  });
});

describe('a takeover against an open fenced transaction (Postgres only: PGlite has a single connection, nothing can wait)', () => {
  const backend = useBackend('postgres');

  /** Whether a statement on bot_leases waits for a row lock in this database right now. */
  const waitingOnLease = async (db: Db) => {
    const rows = await db.execute<{ n: number }>(sql`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock' and query ilike '%bot_leases%for update%'`);
    return Number((rows as unknown as Array<{ n: number }>)[0]?.n ?? 0) > 0 ? true : undefined;
  };

  it('the holder renews its lease while its own fenced transactions are open (the fence never starves the renewal)', async () => {
    const db = backend.db;
    const account = await newAccount(db);
    const instance = `holder-${tag()}`;
    const lease = (await acquireLease(db, account.id, instance, LONG))!;
    let fencedNow!: () => void;
    const fencedSignal = new Promise<void>((resolve) => (fencedNow = resolve));
    let finish!: () => void;
    const finishGate = new Promise<void>((resolve) => (finish = resolve));
    // A send in flight: its transaction holds the fence's lock on the lease row.
    const sending = db.transaction(async (tx) => {
      await fence(tx, lease);
      fencedNow();
      await finishGate;
    });
    await fencedSignal;
    try {
      // Renewed now, not after the send: a renewal waiting for the sends let busy leases expire.
      const renewed = await Promise.race([renewLeases(db, instance, LONG), new Promise<'blocked'>((resolve) => setTimeout(() => resolve('blocked'), 5_000))]);
      expect(renewed).toEqual([{ accountId: account.id, instanceId: instance, epoch: lease.epoch }]);
    } finally {
      finish();
      await sending;
    }
  });

  it("acquireLease waits until the old holder's fenced transaction ends, then takes the lease; the old lease is fenced off afterwards", async () => {
    const db = backend.db;
    const account = await newAccount(db);
    const old = (await acquireLease(db, account.id, `old-${tag()}`, 400))!;
    const events: string[] = [];

    let fencedNow!: () => void;
    const fencedSignal = new Promise<void>((resolve) => (fencedNow = resolve));
    let finish!: () => void;
    const finishGate = new Promise<void>((resolve) => (finish = resolve));
    const oldTransaction = db.transaction(async (tx) => {
      await fence(tx, old);
      events.push('old holder fenced');
      fencedNow();
      await finishGate;
      // The send the fence protects, still inside the old holder's transaction.
      await tx.execute(sql`select 1`);
      events.push('old holder commits');
    });
    await fencedSignal;

    // The old lease runs out while its transaction is still open (the old holder stalled mid-send).
    await eventually(async () => ((await leaseRow(db, account.id))?.live === false ? true : undefined), 10_000, 'the old lease runs out');

    let settled = false;
    const takeover = acquireLease(db, account.id, `new-${tag()}`, LONG).then((lease) => {
      settled = true;
      events.push('takeover acquired');
      return lease;
    });
    await eventually(() => waitingOnLease(db), 10_000, 'the takeover waits for the row lock');
    events.push('takeover waiting');
    expect(settled).toBe(false);

    finish();
    await oldTransaction;
    const lease = await takeover;

    expect(events).toEqual(['old holder fenced', 'takeover waiting', 'old holder commits', 'takeover acquired']);
    expect(lease).toMatchObject({ accountId: account.id, epoch: old.epoch + 1 });
    await expect(fenced(db, old)).rejects.toBeInstanceOf(LeaseLostError);
    await fenced(db, lease!);
  });

  it('a takeover started while the old lease is still live and fenced is refused once the fenced transaction ends', async () => {
    const db = backend.db;
    const account = await newAccount(db);
    const old = (await acquireLease(db, account.id, `old-${tag()}`, LONG))!;
    let fencedNow!: () => void;
    const fencedSignal = new Promise<void>((resolve) => (fencedNow = resolve));
    let finish!: () => void;
    const finishGate = new Promise<void>((resolve) => (finish = resolve));
    const oldTransaction = db.transaction(async (tx) => {
      await fence(tx, old);
      fencedNow();
      await finishGate;
    });
    await fencedSignal;
    const takeover = acquireLease(db, account.id, `new-${tag()}`, LONG);
    await eventually(() => waitingOnLease(db), 10_000, 'the takeover waits for the row lock');
    finish();
    await oldTransaction;
    expect(await takeover).toBeNull();
    await fenced(db, old);
  });
});
