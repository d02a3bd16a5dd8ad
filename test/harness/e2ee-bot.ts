/**
 * A minimal matrix-bot-sdk bot with end-to-end encryption on our wasm binding
 * (not Visite's bot): joins on invite and answers every text with "echo: …".
 * For tests of the crypto layer itself.
 */
import { inject } from 'vitest';
import { LogLevel, LogService, MatrixClient, MemoryStorageProvider } from 'matrix-bot-sdk';
import type { RegisteredUser } from '../../scripts/synapse.ts';
import { createCrypto, type BotCrypto } from '../../bots/crypto.ts';
import { createLogger } from '../../server/logger.ts';

LogService.setLevel(LogLevel.ERROR);

export interface EchoBot {
  client: MatrixClient;
  crypto: BotCrypto;
  /** Messages the bot saw (after decryption). */
  seen: Array<{ roomId: string; eventId: string; type: string; body: unknown; decrypted: boolean }>;
  failures: string[];
  stop(): Promise<void>;
}

export async function startEchoBot(
  user: RegisteredUser,
  storage: MemoryStorageProvider,
  storeDir: string,
  passphrase: string,
  onImage?: (client: MatrixClient, roomId: string, file: unknown) => Promise<void>,
): Promise<EchoBot> {
  const homeserver = inject('homeserver');
  const crypto = createCrypto({ userId: user.userId, deviceId: user.deviceId, storeDir, passphrase, logger: createLogger('error') });
  const client = new MatrixClient(homeserver.url, user.accessToken, storage, crypto.cryptoStore);
  // As Visite's bot does: acknowledge a sync batch only after processing it.
  (client as unknown as { persistTokenAfterSync: boolean }).persistTokenAfterSync = true;
  const bot: EchoBot = {
    client,
    crypto,
    seen: [],
    failures: [],
    async stop() {
      client.stop();
      await crypto.close();
    },
  };
  const decryptedIds = new Set<string>();
  client.on('room.invite', (roomId: string) => void client.joinRoom(roomId).catch(() => {}));
  client.on('room.decrypted_event', (_roomId: string, event: { event_id: string }) => decryptedIds.add(event.event_id));
  client.on('room.failed_decryption', (_roomId: string, event: { event_id: string }, error: Error) => bot.failures.push(`${event.event_id}: ${error.message}`));
  client.on(
    'room.message',
    (roomId: string, event: { event_id: string; sender: string; type: string; content: { msgtype?: string; body?: unknown; file?: unknown } }) => {
      bot.seen.push({ roomId, eventId: event.event_id, type: event.type, body: event.content.body, decrypted: decryptedIds.has(event.event_id) });
      if (event.sender === user.userId) return;
      if (event.content.msgtype === 'm.text') {
        void client
          .sendMessage(roomId, { msgtype: 'm.text', body: `echo: ${String(event.content.body)}` })
          .catch((error: unknown) => bot.failures.push(`send: ${String(error)}`));
      } else if (event.content.msgtype === 'm.image' && onImage) {
        void onImage(client, roomId, event.content.file).catch((error: unknown) => bot.failures.push(`image: ${String(error)}`));
      }
    },
  );
  await client.start();
  return bot;
}
