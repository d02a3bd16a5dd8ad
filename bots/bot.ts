import { MatrixAuth, MatrixClient, MemoryStorageProvider } from 'matrix-bot-sdk';
import { translator } from '../core/i18n.ts';
import { claimInboundEvent } from '../db/inbound-events.ts';
import type { Db } from '../db/database.ts';
import { errorFields, type Logger } from '../server/logger.ts';
import { inviteEvent, roomMessageEvent } from './events.ts';
import { detectGreeting } from './greeting.ts';
import { routeSdkLogs } from './sdk-logs.ts';
import { isActionable, isInviterAllowed } from './policy.ts';

export interface BotOptions {
  homeserverUrl: string;
  userId: string;
  password?: string;
  accessToken?: string;
  displayName: string;
  allowedInviters: readonly string[];
  db: Db;
  logger: Logger;
  /** Backoff bounds while the homeserver is unreachable at start. */
  retry?: { initialMs: number; maxMs: number };
}

export interface Bot {
  /** Resolves once syncing; retries with backoff while the homeserver is down. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Rejects when the homeserver does not answer. */
  ping(): Promise<void>;
  readonly connected: boolean;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/**
 * The Matrix adapter: logs in, joins rooms it is invited to by permitted users
 * and answers greetings in direct rooms. Decisions live in the pure modules it
 * imports; this file only moves events in and messages out.
 */
export function createBot(options: BotOptions): Bot {
  const log = options.logger.child({ component: 'bot' });
  const sdkLogs = routeSdkLogs(options.logger);
  const stopping = new AbortController();
  const retry = options.retry ?? { initialMs: 1_000, maxMs: 30_000 };
  let client: MatrixClient | undefined;
  let startedAt = Number.POSITIVE_INFINITY;

  async function login(): Promise<MatrixClient> {
    if (options.accessToken) return new MatrixClient(options.homeserverUrl, options.accessToken, new MemoryStorageProvider());
    const localpart = options.userId.slice(1, options.userId.indexOf(':'));
    const authed = await new MatrixAuth(options.homeserverUrl).passwordLogin(localpart, options.password ?? '', 'Visite');
    return new MatrixClient(options.homeserverUrl, authed.accessToken, new MemoryStorageProvider());
  }

  async function onInvite(matrix: MatrixClient, roomId: string, raw: unknown): Promise<void> {
    const parsed = inviteEvent.safeParse(raw);
    if (!parsed.success) {
      log.warn('ignored malformed invite', { roomId, issue: parsed.error.issues[0]?.path.join('.') ?? '' });
      return;
    }
    if (isInviterAllowed(parsed.data.sender, options.allowedInviters)) {
      await matrix.joinRoom(roomId);
      log.info('joined room', { roomId });
    } else {
      // Rejecting reveals nothing: the inviter learns only that we declined.
      await matrix.leaveRoom(roomId);
      log.info('declined invite from a user not on the allow-list', { roomId });
    }
  }

  async function onMessage(matrix: MatrixClient, roomId: string, raw: unknown): Promise<void> {
    const parsed = roomMessageEvent.safeParse(raw);
    if (!parsed.success) {
      log.warn('ignored malformed message event', { roomId, issue: parsed.error.issues[0]?.path.join('.') ?? '' });
      return;
    }
    const event = parsed.data;
    if (!isActionable(event, options.userId, startedAt)) return;
    if (event.content.msgtype !== 'm.text' || event.content['m.relates_to']?.rel_type === 'm.replace') return;
    const language = detectGreeting(event.content.body);
    if (!language) return;
    const members = await matrix.getJoinedRoomMembers(roomId);
    if (members.length !== 2) return;
    if (!(await claimInboundEvent(options.db, { eventId: event.event_id, roomId, kind: 'greeting' }))) {
      log.debug('event already handled', { roomId, eventId: event.event_id });
      return;
    }
    const reply = await matrix.sendMessage(roomId, { msgtype: 'm.text', body: translator(language)('greeting.reply') });
    log.info('answered greeting', { roomId, eventId: event.event_id, replyId: reply, language });
  }

  /** One try/catch per handler: a failing event never takes the sync loop down. */
  function guarded(name: string, handler: (roomId: string, event: unknown) => Promise<void>) {
    return (roomId: string, event: unknown) => {
      handler(roomId, event).catch((error: unknown) => log.error(`${name} handler failed`, { roomId, ...errorFields(error) }));
    };
  }

  async function connectOnce(): Promise<MatrixClient> {
    const matrix = await login();
    const whoami = await matrix.getUserId();
    if (whoami !== options.userId) throw new Error(`logged in as ${whoami}, expected ${options.userId}`);
    matrix.on('room.invite', guarded('invite', (roomId, event) => onInvite(matrix, roomId, event)));
    matrix.on('room.message', guarded('message', (roomId, event) => onMessage(matrix, roomId, event)));
    startedAt = Date.now();
    await matrix.start();
    await matrix.setDisplayName(options.displayName).catch((error: unknown) => log.warn('could not set display name', errorFields(error)));
    return matrix;
  }

  return {
    get connected() {
      return client !== undefined;
    },
    async start() {
      let delay = retry.initialMs;
      while (!stopping.signal.aborted) {
        try {
          client = await connectOnce();
          log.info('bot syncing', { userId: options.userId });
          return;
        } catch (error) {
          log.warn('homeserver not usable yet; retrying', { inMs: delay, ...errorFields(error) });
          await sleep(delay, stopping.signal);
          delay = Math.min(delay * 2, retry.maxMs);
        }
      }
    },
    async stop() {
      stopping.abort();
      sdkLogs.mute();
      client?.stop();
      client = undefined;
    },
    async ping() {
      const res = await fetch(`${options.homeserverUrl}/_matrix/client/versions`, { signal: AbortSignal.timeout(2_000) });
      if (!res.ok) throw new Error(`homeserver answered HTTP ${res.status}`);
    },
  };
}
