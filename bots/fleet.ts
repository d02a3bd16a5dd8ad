import { MatrixClient } from 'matrix-bot-sdk';
import { errorFields, type Logger } from '../core/logging.ts';
import {
  accountById,
  accountForOrg,
  accountOfRoom,
  accountsServing,
  enabledAccounts,
  openCredentials,
  recordRoom,
  type BotAccount,
} from '../db/bot-accounts.ts';
import { readBotState } from '../db/bot-state.ts';
import type { Db } from '../db/database.ts';
import {
  acquireLease,
  forgetDeadInstances,
  heartbeat,
  leaseTable,
  liveInstances,
  releaseLease,
  renewLeases,
  retireInstance,
  type Lease,
} from '../db/leases.ts';
import type { SecretBox } from '../db/secrets.ts';
import type { Bot } from './bot.ts';
import { EncryptionRequiredError, CryptoStoreError } from './crypto.ts';
import { createDirectRoom, leaveAndForget } from './rooms.ts';
import { inspectRoom } from './room-inspection.ts';
import { limiter } from './serial.ts';

/**
 * Several stateless instances share the bot accounts (docs/operations.md
 * "Several instances"). Each instance beats a heartbeat, holds leases on its
 * share of the accounts (ceil(accounts / live instances)), runs one Bot per
 * held account, gives extras back when more instances are alive, and takes
 * over the accounts of an instance whose leases expired. Every send and every
 * crypto-store write is fenced by the lease (db/leases.ts).
 */
export interface FleetOptions {
  db: Db;
  secrets: SecretBox;
  logger: Logger;
  instanceId: string;
  leaseTtlMs: number;
  /** How often leases are renewed and rebalanced (default: a third of the TTL). */
  tickMs?: number;
  /** Builds the bot of a held account (server/visite.ts: the composition root knows its services). */
  botFor(account: BotAccount, lease: Lease, callbacks: { onLeaseLost(): void }): Bot;
  /** Whether rooms the bot creates are encrypted. */
  encrypted: boolean;
  /** The account from this instance's environment; other environment accounts (an earlier VISITE_BOT_USER_ID) are not run. */
  environmentAccountId: string;
  /** `environment`: run only the environment's account here, not the organisations' own (VISITE_BOT_ACCOUNTS). */
  accounts?: 'all' | 'environment';
  /** Rooms created at once per account (homeserver rate limits; docs/operations.md). */
  roomCreationConcurrency?: number;
}

export interface AccountStatus {
  accountId: string;
  userId: string;
  orgId: string | null;
  epoch: number;
  /** Seconds since this instance took the account. */
  leaseAgeSeconds: number;
  connected: boolean;
  rateLimit: 'exempt' | 'limited' | 'unknown';
}

export interface Fleet {
  /** First round: takes this instance's share and resolves once those bots sync (rejects on a fatal start error). */
  start(): Promise<void>;
  /** Stops every bot, gives the leases back and leaves. Safe to call twice. */
  stop(): Promise<void>;
  /** The accounts this instance runs now. */
  held(): AccountStatus[];
  readonly instanceId: string;
  /** Whether at least one account runs here (or none is to run here: another instance holds them all). */
  readonly connected: boolean;
  ping(): Promise<void>;
  createDirectRoom(patient: { id: string; orgId: string; matrixUserId: string }): Promise<string>;
  leaveAndForget(roomId: string): Promise<void>;
  inspectRoom(orgId: string, roomId: string, candidates: readonly string[]): Promise<{ botJoined: boolean; botCanPost: boolean; clinicians: string[] }>;
}

interface Running {
  account: BotAccount;
  lease: Lease;
  bot: Bot;
  started: Promise<void>;
  acquiredAt: number;
  connected: boolean;
}

/** Fatal for an account's start: retrying cannot help (a wrong passphrase, a store of another device, no passphrase). */
const isFatal = (error: unknown) =>
  error instanceof EncryptionRequiredError ||
  (error instanceof CryptoStoreError && (error as { code?: string }).code !== 'CRYPTO_STORE_CLOSED') ||
  (error as { name?: string })?.name === 'SecretKeyError';

export function createFleet(options: FleetOptions): Fleet {
  const log = options.logger.child({ component: 'fleet' });
  const { db } = options;
  const tickMs = options.tickMs ?? Math.max(Math.floor(options.leaseTtlMs / 3), 200);
  const running = new Map<string, Running>();
  const roomSlots = new Map<string, ReturnType<typeof limiter>>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> = Promise.resolve();
  /** A fatal start error of an account: reported by start(), the account is not retried by this instance. */
  const failed = new Map<string, unknown>();
  /** Each account's latest start, kept after a failed start dropped the account (start() reports it). */
  const starts = new Map<string, Promise<void>>();

  const runsHere = (account: BotAccount) => account.id === options.environmentAccountId || (account.orgId !== null && (options.accounts ?? 'all') === 'all');

  const slotsOf = (accountId: string) => {
    let slots = roomSlots.get(accountId);
    if (!slots) roomSlots.set(accountId, (slots = limiter(options.roomCreationConcurrency ?? 4)));
    return slots;
  };

  function run(account: BotAccount, lease: Lease): Running {
    const entry: Running = { account, lease, acquiredAt: Date.now(), connected: false, bot: undefined as unknown as Bot, started: Promise.resolve() };
    try {
      entry.bot = options.botFor(account, lease, {
        onLeaseLost: () => {
          log.warn('lease lost; stopping the account here', { accountId: account.id });
          void drop(account.id, { release: false });
        },
      });
    } catch (error) {
      // Credentials sealed under another key and the like: nothing this instance can fix by retrying.
      failed.set(account.id, error);
      log.error('bot account cannot be run here; giving it up', { accountId: account.id, ...errorFields(error) });
      void releaseLease(db, lease).catch(() => {});
      return entry;
    }
    entry.started = entry.bot.start().then(
      () => {
        entry.connected = true;
      },
      (error: unknown) => {
        if (isFatal(error)) failed.set(account.id, error);
        log.error('bot account could not start; giving it up', { accountId: account.id, ...errorFields(error) });
        void drop(account.id, { release: true });
        throw error;
      },
    );
    entry.started.catch(() => {});
    starts.set(account.id, entry.started);
    running.set(account.id, entry);
    log.info('running bot account', { accountId: account.id, epoch: lease.epoch });
    return entry;
  }

  async function drop(accountId: string, how: { release: boolean }): Promise<void> {
    const entry = running.get(accountId);
    if (!entry) return;
    running.delete(accountId);
    await entry.bot.stop().catch((error: unknown) => log.error('bot stop failed', { accountId, ...errorFields(error) }));
    if (how.release) await releaseLease(db, entry.lease).catch(() => {});
  }

  async function tick(): Promise<void> {
    // Only instances that run every account count for the spread: one that runs just the environment's
    // account (accounts: 'environment') would otherwise shrink the others' share and leave accounts run nowhere.
    if ((options.accounts ?? 'all') === 'all') await heartbeat(db, options.instanceId, options.leaseTtlMs);
    const renewed = new Map((await renewLeases(db, options.instanceId, options.leaseTtlMs)).map((l) => [l.accountId, l]));
    for (const [accountId, entry] of running) {
      const lease = renewed.get(accountId);
      if (!lease || lease.epoch !== entry.lease.epoch) await drop(accountId, { release: false });
    }
    // Leases of this instance id that run no bot (a restart under the same VISITE_INSTANCE_ID, a bot that could not be built): give them back.
    for (const lease of renewed.values()) if (!running.has(lease.accountId)) await releaseLease(db, lease);
    const accounts = (await enabledAccounts(db)).filter(runsHere);
    const byId = new Map(accounts.map((a) => [a.id, a]));
    for (const [accountId, entry] of running) {
      const now = byId.get(accountId);
      if (!now) await drop(accountId, { release: true });
      else if (now.credentialsVersion !== entry.account.credentialsVersion) {
        // Rotated credentials or changed settings: reconnect with the account as it is now, same lease.
        log.info('bot account changed; reconnecting', { accountId });
        const lease = entry.lease;
        running.delete(accountId);
        await entry.bot.stop().catch(() => {});
        run(now, lease);
      }
    }
    // Rows of instances that died (SIGKILL) an hour ago and more: they count for nothing any more.
    await forgetDeadInstances(db, 3_600_000);
    const live = await liveInstances(db);
    const target = Math.ceil(accounts.filter((a) => !failed.has(a.id)).length / Math.max(live.length, 1));
    if (running.size > target) {
      // Give back the most recently taken: the longer-held ones keep their warm caches.
      const extras = [...running.values()].sort((a, b) => b.acquiredAt - a.acquiredAt).slice(0, running.size - target);
      for (const extra of extras) {
        log.info('giving a bot account to another instance', { accountId: extra.account.id });
        await drop(extra.account.id, { release: true });
      }
      return;
    }
    if (running.size >= target) return;
    const leases = await leaseTable(db);
    for (const view of leases) {
      if (running.size >= target || stopped) break;
      if (view.live || running.has(view.accountId) || failed.has(view.accountId)) continue;
      const account = byId.get(view.accountId);
      if (!account) continue;
      const lease = await acquireLease(db, account.id, options.instanceId, options.leaseTtlMs);
      if (lease) run(account, lease);
    }
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      ticking = tick()
        .catch((error: unknown) => log.error('lease round failed', errorFields(error)))
        .finally(schedule);
    }, tickMs);
  }

  /** A client for an account held by another instance: room creation and inspection need no sync or keys. */
  async function remoteClient(account: BotAccount): Promise<MatrixClient> {
    const credentials = openCredentials(options.secrets, account);
    if (credentials.accessToken) return new MatrixClient(account.homeserverUrl, credentials.accessToken);
    const stored = await readBotState(db, `${account.userId}:session`);
    if (!stored) throw new Error('the bot account has not logged in yet');
    const session = JSON.parse(options.secrets.open(stored)) as { accessToken: string };
    return new MatrixClient(account.homeserverUrl, session.accessToken);
  }

  async function withAccount<T>(account: BotAccount, local: (bot: Bot) => Promise<T>, remote: (client: MatrixClient) => Promise<T>): Promise<T> {
    const entry = running.get(account.id);
    if (entry?.connected) return local(entry.bot);
    return remote(await remoteClient(account));
  }

  return {
    instanceId: options.instanceId,
    get connected() {
      const holding = [...running.values()];
      return holding.length === 0 || holding.some((r) => r.connected);
    },
    async start() {
      // Kept as the round in progress, so a stop() during the first round waits for it before releasing.
      ticking = tick();
      await ticking;
      if (stopped) return;
      schedule();
      // The environment's account, when it runs here, is the instance's start: a wrong passphrase stops the
      // process. Organisations' accounts start in the background (one that cannot start is logged and given up).
      await starts.get(options.environmentAccountId);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      await ticking.catch(() => {});
      for (const accountId of [...running.keys()]) await drop(accountId, { release: true });
      await retireInstance(db, options.instanceId).catch(() => {});
    },
    held() {
      return [...running.values()].map((r) => ({
        accountId: r.account.id,
        userId: r.account.userId,
        orgId: r.account.orgId,
        epoch: r.lease.epoch,
        leaseAgeSeconds: Math.round((Date.now() - r.acquiredAt) / 1000),
        connected: r.connected,
        rateLimit: r.bot.rateLimit,
      }));
    },
    async ping() {
      // The environment's homeserver: an organisation's account on a homeserver that is away shows in
      // /readyz `accounts` (connected: false), it must not take every instance out of service.
      const account = await accountById(db, options.environmentAccountId);
      if (!account) throw new Error('the environment bot account is gone');
      const res = await fetch(`${account.homeserverUrl}/_matrix/client/versions`, { signal: AbortSignal.timeout(2_000) });
      if (!res.ok) throw new Error(`homeserver answered HTTP ${res.status}`);
    },
    async createDirectRoom(patient) {
      const account = await accountForOrg(db, patient.orgId, patient.id, options.environmentAccountId);
      if (!account) throw new Error('no bot account serves this organisation');
      const roomId = await slotsOf(account.id)(() =>
        withAccount(
          account,
          (bot) => bot.createDirectRoom(patient.matrixUserId),
          (client) => createDirectRoom(client, patient.matrixUserId, { displayName: account.displayName, encrypted: options.encrypted }),
        ),
      );
      await recordRoom(db, roomId, account.id);
      return roomId;
    },
    async leaveAndForget(roomId) {
      const accountId = await accountOfRoom(db, roomId);
      const account = accountId ? await accountById(db, accountId) : undefined;
      if (!account) return;
      await withAccount(
        account,
        (bot) => bot.leaveAndForget(roomId),
        (client) => leaveAndForget(client, roomId),
      );
    },
    async inspectRoom(orgId, roomId, candidates) {
      // The organisation's own accounts first, then the environment's: the first one in the room answers.
      let last = { botJoined: false, botCanPost: false, clinicians: [] as string[] };
      for (const account of await accountsServing(db, orgId, options.environmentAccountId)) {
        const seen = await withAccount(
          account,
          (bot) => bot.inspectRoom(roomId, candidates),
          (client) => inspectRoom(client, account.userId, roomId, candidates),
        );
        if (seen.botJoined) {
          await recordRoom(db, roomId, account.id);
          return seen;
        }
        last = seen;
      }
      return last;
    },
  };
}
