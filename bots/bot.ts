import { MatrixClient } from 'matrix-bot-sdk';
import { translator } from '../core/i18n.ts';
import type { PatientInput } from '../core/conversation/turn.ts';
import { isAcceptedPhotoType } from '../core/conversation/turn.ts';
import { claimInboundEvent } from '../db/inbound-events.ts';
import type { Db } from '../db/database.ts';
import type { StoredFile } from '../db/conversations.ts';
import { errorFields, type Logger } from '../server/logger.ts';
import type { AlertDispatcher } from './alerts.ts';
import type { CareTeamCommands } from './care-team.ts';
import type { Conversations } from './conversations.ts';
import { inviteEvent } from './events.ts';
import { detectGreeting } from './greeting.ts';
import { startOutboxSender, type OutboxSender } from './outbox.ts';
import { readPatientAction, type PatientAction } from './patient-events.ts';
import { isActionable, isInviterAllowed } from './policy.ts';
import { routeSdkLogs } from './sdk-logs.ts';
import { loginSession } from './session.ts';
import { DatabaseStorage } from './storage.ts';
import { createCrypto, CryptoStoreError, cryptoStoreDir, decryptAttachment, ROOM_ENCRYPTION_STATE, sealForRoom, type BotCrypto } from './crypto.ts';
import { trackUndecryptable, type UndecryptableTracker } from './undecryptable.ts';
import { enableKeyBackup, ensureCrossSigning, type KeyBackup } from './crypto-account.ts';
import { downloadMedia, formatBytes, uploadLimit } from './media.ts';

export interface BotOptions {
  homeserverUrl: string;
  userId: string;
  password?: string;
  accessToken?: string;
  displayName: string;
  allowedInviters: readonly string[];
  maxUploadBytes: number;
  db: Db;
  logger: Logger;
  conversations: Conversations;
  /** Is this user an enrolled patient? Their invites are accepted. */
  isEnrolledPatient(userId: string): Promise<boolean>;
  /** Is this user a clinician of some organisation? Their invites (care-team rooms) are accepted. */
  isClinician(userId: string): Promise<boolean>;
  /** Alerts in care-team rooms: acknowledgements arrive as reactions and replies there. */
  alerts?: AlertDispatcher;
  /** `!patient`, `!checkin`, `!pause`, `!resume` in care-team rooms. */
  careTeamCommands?: CareTeamCommands;
  /** An enrolled patient invited us into a room: remember it as their direct room. */
  adoptPatientRoom(userId: string, roomId: string): Promise<void>;
  /** Backoff bounds while the homeserver is unreachable at start. */
  retry?: { initialMs: number; maxMs: number };
  /** End-to-end encryption: the crypto store's passphrase and folder, how long to wait for missing keys, the backup key. */
  crypto?: { passphrase: string; storeDir: string; undecryptableWaitMs?: number; backupKey?: string };
}

export interface Bot {
  /** Resolves once syncing; retries with backoff while the homeserver is down. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Rejects when the homeserver does not answer. */
  ping(): Promise<void>;
  /** Creates a direct room with the patient (one invitee, per TI-M) and returns its id. */
  createDirectRoom(patientUserId: string): Promise<string>;
  /** Leaves a room and forgets it, so its history is gone from the bot's account (erasure). */
  leaveAndForget(roomId: string): Promise<void>;
  /** Wake the outbox sender (after something was enqueued outside a Matrix event). */
  kickOutbox(): void;
  readonly connected: boolean;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/** The topic of the direct rooms the bot opens: what it is, and what it is not. */
const ROOM_TOPIC = 'Digitaler Helfer Ihres Behandlungsteams – kein Notfalldienst (Notruf 112) · Digital helper of your care team – not for emergencies (call 112)';

const HANDLED_TYPES: ReadonlySet<string> = new Set(['m.room.message', 'm.reaction', 'org.matrix.msc3381.poll.response', 'm.poll.response']);

/**
 * The Matrix adapter. It moves events in and messages out; what they mean is
 * decided by the conversation service and the pure policies it imports.
 */
export function createBot(options: BotOptions): Bot {
  const log = options.logger.child({ component: 'bot' });
  const sdkLogs = routeSdkLogs(options.logger);
  const stopping = new AbortController();
  const retry = options.retry ?? { initialMs: 1_000, maxMs: 30_000 };
  const storage = new DatabaseStorage(options.db, options.userId);
  let client: MatrixClient | undefined;
  let accessToken = '';
  let cutoff = 0;
  let sender: OutboxSender | undefined;
  let maxBytes = options.maxUploadBytes;
  let crypto: BotCrypto | undefined;
  let undecryptable: UndecryptableTracker | undefined;
  let backup: KeyBackup | undefined;

  /** Cross-signing and server-side key backup: wanted (TI-M), not required — the bot talks without them. */
  async function setUpAccountCrypto(matrix: MatrixClient): Promise<void> {
    await ensureCrossSigning(matrix, { userId: options.userId, ...(options.password ? { password: options.password } : {}), logger: options.logger }).catch((error: unknown) =>
      log.warn('cross-signing not set up', errorFields(error)),
    );
    try {
      backup = await enableKeyBackup(matrix, { logger: options.logger, ...(options.crypto?.backupKey ? { decryptionKeyBase64: options.crypto.backupKey } : {}) });
      if (backup.joinedExisting) await backup.restore();
    } catch (error) {
      log.warn('key backup not enabled', errorFields(error));
    }
  }

  async function onInvite(matrix: MatrixClient, roomId: string, raw: unknown): Promise<void> {
    const parsed = inviteEvent.safeParse(raw);
    if (!parsed.success) {
      log.warn('ignored malformed invite', { roomId, issue: parsed.error.issues[0]?.path.join('.') ?? '' });
      return;
    }
    const inviter = parsed.data.sender;
    const patient = await options.isEnrolledPatient(inviter);
    if (patient || isInviterAllowed(inviter, options.allowedInviters) || (await options.isClinician(inviter))) {
      await matrix.joinRoom(roomId);
      if (patient) await options.adoptPatientRoom(inviter, roomId);
      log.info('joined room', { roomId, as: patient ? 'patient-room' : 'care-team' });
    } else {
      // Declining reveals nothing: not whether anybody is enrolled, not why.
      await matrix.leaveRoom(roomId);
      log.info('declined invite', { roomId });
    }
  }

  /** Turns a file event into engine input: checks type and size first, then keeps a copy. */
  async function fileInput(action: Extract<PatientAction, { type: 'file' }>): Promise<{ input: PatientInput; file?: StoredFile }> {
    if (!isAcceptedPhotoType(action.mimetype)) return { input: { type: 'attachment-rejected', reason: 'wrong-type' } };
    if (action.size !== undefined && action.size > maxBytes) {
      return { input: { type: 'attachment-rejected', reason: 'too-large', max: formatBytes(maxBytes) } };
    }
    try {
      const downloaded = await downloadMedia(options.homeserverUrl, accessToken, action.url, maxBytes);
      if (downloaded === 'too-large') return { input: { type: 'attachment-rejected', reason: 'too-large', max: formatBytes(maxBytes) } };
      // An encrypted room sends the ciphertext; its key travels in the (decrypted) event. We keep the plain photo.
      const data = action.encrypted ? decryptAttachment(downloaded, action.encrypted) : downloaded;
      return {
        input: { type: 'attachment', url: action.url, contentType: action.mimetype, size: data.byteLength },
        file: { mxcUrl: action.url, contentType: action.mimetype, data },
      };
    } catch (error) {
      log.warn('could not download a file', errorFields(error));
      return { input: { type: 'attachment-rejected', reason: 'failed' } };
    }
  }

  async function toInput(action: PatientAction): Promise<{ input: PatientInput; file?: StoredFile; editOf?: string }> {
    switch (action.type) {
      case 'text':
        return { input: { type: 'text', text: action.text }, ...(action.editOf ? { editOf: action.editOf } : {}) };
      case 'reaction':
        return { input: { type: 'reaction', emoji: action.emoji } };
      case 'poll':
        return { input: { type: 'poll', codes: action.answerIds } };
      case 'file':
        return fileInput(action);
      case 'unsupported':
        return { input: { type: 'unsupported' } };
    }
  }

  async function onEvent(matrix: MatrixClient, roomId: string, raw: unknown): Promise<void> {
    const event = raw as { event_id?: unknown; sender?: unknown; type?: unknown; origin_server_ts?: unknown; content?: unknown; unsigned?: { redacted_because?: unknown } };
    if (typeof event.event_id !== 'string' || typeof event.sender !== 'string' || typeof event.type !== 'string') return;
    if (!HANDLED_TYPES.has(event.type) || event.unsigned?.redacted_because) return;
    const meta = { sender: event.sender, origin_server_ts: typeof event.origin_server_ts === 'number' ? event.origin_server_ts : 0 };
    if (!isActionable(meta, options.userId, cutoff)) return;
    const action = readPatientAction(event.type, event.content);
    // Patient rooms first: they carry almost all traffic.
    if (await options.conversations.isPatientRoom(roomId, event.sender)) {
      if (!action) {
        log.warn('ignored malformed event', { roomId, eventId: event.event_id, type: event.type });
        return;
      }
      // Typing and read receipts are courtesy, never awaited and never fatal. Typing shows only
      // when the work takes a noticeable time (a photo download): for a quick answer it would
      // just compete with the reply for the homeserver.
      let typing = false;
      const typingTimer = setTimeout(() => {
        typing = true;
        void matrix.setTyping(roomId, true, 10_000).catch(() => {});
      }, 400);
      try {
        const { input, file, editOf } = await toInput(action);
        const outcome = await options.conversations.handle({ eventId: event.event_id, roomId, sender: event.sender, input, ...(file ? { file } : {}), ...(editOf ? { editOf } : {}) });
        log.info('patient event', { roomId, eventId: event.event_id, input: input.type, outcome });
      } finally {
        clearTimeout(typingTimer);
        if (typing) void matrix.setTyping(roomId, false).catch(() => {});
      }
      void matrix.sendReadReceipt(roomId, event.event_id).catch(() => {});
      return;
    }
    if (options.alerts && (await options.alerts.isCareTeamRoom(roomId))) {
      const content = (event.content ?? {}) as Record<string, unknown>;
      if (event.type === 'm.room.message' && typeof content['body'] === 'string' && options.careTeamCommands) {
        if (await options.careTeamCommands.handle(roomId, { eventId: event.event_id, sender: event.sender, body: content['body'] })) return;
      }
      await options.alerts.onCareTeamEvent(roomId, { eventId: event.event_id, sender: event.sender, type: event.type, content });
      return;
    }
    if (action) await answerGreeting(matrix, roomId, event.event_id, action);
  }

  /** Outside patient rooms (care-team members trying the bot) the bot only answers greetings. */
  async function answerGreeting(matrix: MatrixClient, roomId: string, eventId: string, action: PatientAction): Promise<void> {
    if (action.type !== 'text' || action.editOf) return;
    const language = detectGreeting(action.text);
    if (!language) return;
    const members = await matrix.getJoinedRoomMembers(roomId);
    if (members.length !== 2) return;
    if (!(await claimInboundEvent(options.db, { eventId, roomId, kind: 'greeting' }))) return;
    await matrix.sendMessage(roomId, { msgtype: 'm.text', body: translator(language)('greeting.reply') });
    log.info('answered greeting', { roomId, eventId, language });
  }

  /** One try/catch per handler, tracked so the sync token waits for it (see DatabaseStorage). */
  function guarded(name: string, handler: (roomId: string, event: unknown) => Promise<void>) {
    return (roomId: string, event: unknown) => {
      storage.track(handler(roomId, event).catch((error: unknown) => log.error(`${name} handler failed`, { roomId, ...errorFields(error) })));
    };
  }

  async function connectOnce(): Promise<MatrixClient> {
    const session = await loginSession({ db: options.db, homeserverUrl: options.homeserverUrl, userId: options.userId, ...(options.password ? { password: options.password } : {}), ...(options.accessToken ? { accessToken: options.accessToken } : {}) });
    accessToken = session.accessToken;
    if (options.crypto) {
      crypto = createCrypto({
        userId: options.userId,
        deviceId: session.deviceId,
        storeDir: cryptoStoreDir(options.crypto.storeDir, options.userId, session.deviceId),
        passphrase: options.crypto.passphrase,
        logger: options.logger,
      });
    }
    const matrix = new MatrixClient(options.homeserverUrl, session.accessToken, storage, crypto?.cryptoStore);
    // Save the sync position only after the batch's handlers ran (see DatabaseStorage).
    (matrix as unknown as { persistTokenAfterSync: boolean }).persistTokenAfterSync = true;
    // Without a stored position this is a first sync: what happened before is history, not a request.
    cutoff = (await storage.getSyncToken()) ? 0 : Date.now();
    matrix.on('room.invite', guarded('invite', (roomId, event) => onInvite(matrix, roomId, event)));
    matrix.on('room.event', guarded('event', (roomId, event) => onEvent(matrix, roomId, event)));
    if (crypto) {
      // A message whose key has not arrived yet is retried when keys come, then answered politely.
      undecryptable = trackUndecryptable(matrix, {
        logger: options.logger,
        ...(options.crypto?.undecryptableWaitMs ? { giveUpAfterMs: options.crypto.undecryptableWaitMs } : {}),
        onDecrypted: (roomId, event) => onEvent(matrix, roomId, event),
        onGiveUp: async (roomId, event) => {
          if (event.sender === options.userId) return;
          const outcome = await options.conversations.askToResend({ eventId: event.event_id, roomId, sender: event.sender });
          log.info('asked to send an undecryptable message again', { roomId, eventId: event.event_id, outcome });
        },
      });
    }
    maxBytes = Math.min(options.maxUploadBytes, await uploadLimit(options.homeserverUrl, session.accessToken).catch(() => options.maxUploadBytes));
    try {
      await matrix.start();
    } catch (error) {
      // Leave nothing open: the retry opens the store again.
      matrix.stop();
      undecryptable?.stop();
      await crypto?.close().catch(() => {});
      throw error;
    }
    if (crypto) await setUpAccountCrypto(matrix);
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
          const matrix = await connectOnce();
          client = matrix;
          sender = startOutboxSender({
            db: options.db,
            logger: options.logger,
            send: async (roomId, eventType, txnId, content) => {
              const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/${encodeURIComponent(eventType)}/${encodeURIComponent(txnId)}`;
              // In an encrypted room the outbox content is sealed just before sending; the txn id stays the same.
              const sealed = await sealForRoom(matrix, roomId, eventType, content);
              const sealedPath = sealed.eventType === eventType ? path : `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/${encodeURIComponent(sealed.eventType)}/${encodeURIComponent(txnId)}`;
              const response = (await matrix.doRequest('PUT', sealedPath, null, sealed.content)) as { event_id: string };
              return response.event_id;
            },
          });
          log.info('bot syncing', { userId: options.userId });
          return;
        } catch (error) {
          // A wrong passphrase (or a damaged store) must stop the start, never create a new identity.
          if (error instanceof CryptoStoreError && (error as { code?: string }).code !== 'CRYPTO_STORE_CLOSED') {
            log.error('the crypto store cannot be opened', { ...errorFields(error) });
            throw error;
          }
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
      undecryptable?.stop();
      backup?.stop();
      await sender?.stop();
      await storage.settle();
      // A last upload of new room keys, bounded so an unreachable homeserver cannot hold up the shutdown.
      if (backup) await Promise.race([backup.backupNow().catch(() => {}), new Promise((r) => setTimeout(r, 5_000).unref())]);
      await crypto?.close().catch((error: unknown) => log.error('crypto store close failed', errorFields(error)));
      client = undefined;
    },
    async ping() {
      const res = await fetch(`${options.homeserverUrl}/_matrix/client/versions`, { signal: AbortSignal.timeout(2_000) });
      if (!res.ok) throw new Error(`homeserver answered HTTP ${res.status}`);
    },
    async createDirectRoom(patientUserId) {
      if (!client) throw new Error('the bot is not connected to the homeserver yet');
      return client.createRoom({
        preset: 'trusted_private_chat',
        is_direct: true,
        invite: [patientUserId],
        room_version: '10',
        creation_content: { type: 'de.gematik.tim.roomtype.default.v1' },
        name: options.displayName,
        topic: ROOM_TOPIC,
        initial_state: [
          { type: 'm.room.join_rules', state_key: '', content: { join_rule: 'invite' } },
          { type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'invited' } },
          // TI-M clients read name and topic from these mirrors (A_25814-01).
          { type: 'de.gematik.tim.room.name', state_key: '', content: { name: options.displayName } },
          { type: 'de.gematik.tim.room.topic', state_key: '', content: { topic: ROOM_TOPIC } },
          ...(crypto ? [ROOM_ENCRYPTION_STATE] : []),
        ],
      });
    },
    async leaveAndForget(roomId) {
      if (!client) throw new Error('the bot is not connected to the homeserver yet');
      await client.leaveRoom(roomId).catch(() => {});
      await client.doRequest('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/forget`, null, {});
    },
    kickOutbox() {
      sender?.kick();
    },
  };
}
