import { createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { describe, expect, inject, it } from 'vitest';
import { reserveFile, uploadReserved, type ReservedFile } from '../../bots/fhir-files.ts';
import { startOutboxSender, type SendEvent, type StructuredDataIo } from '../../bots/outbox-sender.ts';
import { FORM_DATA } from '../../core/fhir/isik.ts';
import { enqueue } from '../../db/outbox.ts';
import { outbox } from '../../db/schema.ts';
import { registerUser } from '../../scripts/synapse.ts';
import { createLogger } from '../../server/logger.ts';
import { useBackend } from '../harness/backends.ts';
import { TestClient } from '../harness/client.ts';
import { eventually } from '../harness/process.ts';
import { checkFhirEvent } from '../harness/tim-schema.ts';

/**
 * A large FHIR resource leaves the outbox as an encrypted file, on the real
 * Synapse media repository and real Postgres. Each step of sending can fail
 * (here: the upload's network, and a post the homeserver took but whose answer
 * never arrived — what a crash between posting and recording looks like) and
 * is repeated without a second reservation, upload or event: the media id and
 * key are kept in the row before anything is uploaded, a second upload to the
 * same id is refused as already there, the post keeps its transaction id.
 */
const logger = createLogger('debug', () => {});

describe('a large FHIR resource through the outbox (encrypted file)', () => {
  const backend = useBackend('postgres');

  it('reserves once, uploads the same bytes once, posts once — across failures at each step', async () => {
    const homeserver = inject('homeserver');
    const bot = await registerUser(homeserver, `visite-files-${randomBytes(4).toString('hex')}`);
    const asBot = new TestClient(homeserver.url, bot.userId, bot.accessToken);
    const { room_id: roomId } = await asBot.request<{ room_id: string }>('POST', '/createRoom', { preset: 'private_chat' });

    const resource = JSON.stringify({
      resourceType: 'QuestionnaireResponse',
      status: 'completed',
      item: Array.from({ length: 600 }, (_, i) => ({ linkId: `q${i}`, text: `Frage ${i} `.repeat(8), answer: [{ valueInteger: i }] })),
    });
    expect(resource.length).toBeGreaterThan(45_000);
    await enqueue(backend.db, roomId, [{ type: 'fhir', structure: FORM_DATA, resource, fileName: 'response.json', text: 'Check-in abgeschlossen' }]);

    const media = { homeserverUrl: homeserver.url, accessToken: () => bot.accessToken };
    const reservations: ReservedFile[] = [];
    const uploads: string[] = [];
    const io: StructuredDataIo = {
      deviceId: () => bot.deviceId,
      recipientSupports: async () => ({ capable: true, devices: [] }),
      async reserveFile() {
        const reserved = await reserveFile(media);
        reservations.push(reserved);
        return reserved;
      },
      async uploadReserved(reserved, data, fileName) {
        if (uploads.length === 0) {
          uploads.push('network error');
          throw new Error('connection reset before the upload');
        }
        const result = await uploadReserved(media, reserved, data, fileName);
        uploads.push(result);
        return result;
      },
    };
    const posts: Array<{ txnId: string; eventId: string }> = [];
    // Other files' rows share the database: only this room's go to the homeserver.
    const send: SendEvent = async (to, type, txnId, content) => {
      if (to !== roomId) return `$${txnId}`;
      const { event_id } = await asBot.request<{ event_id: string }>(
        'PUT',
        `/rooms/${encodeURIComponent(roomId)}/send/${encodeURIComponent(type)}/${encodeURIComponent(txnId)}`,
        content,
      );
      posts.push({ txnId, eventId: event_id });
      if (posts.length === 1) throw new Error('the answer to the post was lost');
      return event_id;
    };
    const sender = startOutboxSender({ db: backend.db, send, logger, structured: io, pollMs: 50 });
    try {
      await eventually(
        async () => {
          const [row] = await backend.db.select().from(outbox).where(eq(outbox.roomId, roomId));
          return row?.status === 'sent' ? row : undefined;
        },
        20_000,
        'the resource sent',
      );
    } finally {
      await sender.stop();
    }

    const [row] = await backend.db.select().from(outbox).where(eq(outbox.roomId, roomId));
    expect(reservations).toHaveLength(1);
    expect(row?.prepared).toEqual(reservations[0]);
    expect(uploads).toEqual(['network error', 'uploaded', 'already']);
    expect(posts).toHaveLength(2);
    expect(posts[0]?.txnId).toBe(posts[1]?.txnId);
    expect(posts[0]?.eventId).toBe(posts[1]?.eventId);
    expect(row?.sentEventId).toBe(posts[0]?.eventId);

    // One event in the room, following fhir.json, whose file decrypts to the resource.
    const { chunk } = await asBot.request<{ chunk: Array<{ event_id: string; type: string; content: Record<string, unknown> }> }>(
      'GET',
      `/rooms/${encodeURIComponent(roomId)}/messages`,
      undefined,
      { dir: 'b', limit: '20' },
    );
    const events = chunk.filter((e) => e.type === 'de.gematik.fhir');
    expect(events).toHaveLength(1);
    expect(checkFhirEvent(events[0]!)).toEqual([]);
    const file = events[0]!.content['de.gematik.fhir.file'] as { url: string; key: { k: string }; iv: string; hashes: { sha256: string }; size: number };
    expect(file.url).toBe(reservations[0]!.url);
    const [, server, id] = /^mxc:\/\/([^/]+)\/(.+)$/.exec(file.url)!;
    const res = await fetch(`${homeserver.url}/_matrix/client/v1/media/download/${server}/${id}`, { headers: { authorization: `Bearer ${bot.accessToken}` } });
    const ciphertext = Buffer.from(await res.arrayBuffer());
    expect(createHash('sha256').update(ciphertext).digest('base64').replace(/=+$/, '')).toBe(file.hashes.sha256);
    const decipher = createDecipheriv('aes-256-ctr', Buffer.from(file.key.k, 'base64url'), Buffer.from(file.iv, 'base64'));
    expect(Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8')).toBe(resource);
    expect(file.size).toBe(Buffer.byteLength(resource));
  });
});
