import { eq, inArray } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { BACKENDS, useBackend } from '../harness/backends.ts';
import { isPermanent, MAX_BACKOFF_MS, nextAttemptDelay, startOutboxSender, type SendEvent } from '../../bots/outbox-sender.ts';
import { enqueue } from '../../db/outbox.ts';
import { createAccount, recordRoom } from '../../db/bot-accounts.ts';
import { LeaseLostError } from '../../db/leases.ts';
import { secretBox } from '../../db/secrets.ts';
import { outbox } from '../../db/schema.ts';
import { createLogger } from '../../server/logger.ts';
import { eventually } from '../harness/process.ts';

/**
 * The outbox sender on real Postgres. The homeserver's answers are scripted
 * here (a 429 with retry_after_ms, a refusal, a network error) because a real
 * Synapse cannot be made to produce them on demand; the end-to-end outage test
 * covers the real homeserver.
 */

const logs: string[] = [];
const logger = createLogger('debug', (line) => logs.push(line));
const room = () => `!outbox-${Math.random().toString(36).slice(2)}:localhost`;

function matrixError(statusCode: number, errcode: string, retryAfterMs?: number): Error {
  return Object.assign(new Error(errcode), { statusCode, errcode, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
}

describe('backoff policy', () => {
  it('honours retry_after_ms on 429 and backs off exponentially otherwise, up to a minute', () => {
    expect(nextAttemptDelay({ status: 429, retryAfterMs: 1_234 }, 1)).toBe(1_234);
    expect(nextAttemptDelay({}, 1)).toBe(1_000);
    expect(nextAttemptDelay({}, 3)).toBe(4_000);
    expect(nextAttemptDelay({ status: 502 }, 20)).toBe(MAX_BACKOFF_MS);
    expect(isPermanent({ status: 403, errcode: 'M_FORBIDDEN' })).toBe(true);
    expect(isPermanent({ status: 429 })).toBe(false);
    expect(isPermanent({})).toBe(false);
  });
});

describe.each(BACKENDS)('outbox sender on %s', (kind) => {
  const backend = useBackend(kind);
  const rowsOf = (roomId: string) => backend.db.select().from(outbox).where(eq(outbox.roomId, roomId)).orderBy(outbox.id);

  it("sends in order per room with the row's transaction id, waits retry_after_ms after a 429, and sends nothing twice", async () => {
    const roomId = room();
    await backend.db.transaction((tx) =>
      enqueue(
        tx,
        roomId,
        [1, 2, 3].map((n) => ({ type: 'notice' as const, text: `m${n}`, lang: 'de' as const })),
      ),
    );
    const sent: Array<{ body: string; txnId: string; at: number }> = [];
    let limited = false;
    // The database is shared with other test files: only this room's messages are ours to record.
    const send: SendEvent = async (sentTo, _type, txnId, content) => {
      if (sentTo !== roomId) return `$${txnId}`;
      if (content['body'] === 'm2' && !limited) {
        limited = true;
        throw matrixError(429, 'M_LIMIT_EXCEEDED', 300);
      }
      sent.push({ body: String(content['body']), txnId, at: Date.now() });
      return `$${txnId}`;
    };
    const started = Date.now();
    const sender = startOutboxSender({ db: backend.db, send, logger, pollMs: 50 });
    try {
      await eventually(async () => (sent.length === 3 ? true : undefined), 10_000, 'all sent');
    } finally {
      await sender.stop();
    }
    expect(sent.map((s) => s.body)).toEqual(['m1', 'm2', 'm3']);
    expect(sent[1]!.at - started).toBeGreaterThanOrEqual(300);
    const rows = await rowsOf(roomId);
    expect(rows.map((r) => [r.status, r.attempts, r.sentEventId])).toEqual([
      ['sent', 1, `$${rows[0]!.txnId}`],
      ['sent', 2, `$${rows[1]!.txnId}`],
      ['sent', 1, `$${rows[2]!.txnId}`],
    ]);
    expect(sent.map((s) => s.txnId)).toEqual(rows.map((r) => r.txnId));
  });

  it('keeps later messages of a room back while the first one waits, but serves other rooms', async () => {
    const stuck = room();
    const free = room();
    await backend.db.transaction(async (tx) => {
      await enqueue(tx, stuck, [
        { type: 'notice', text: 's1', lang: 'de' },
        { type: 'notice', text: 's2', lang: 'de' },
      ]);
      await enqueue(tx, free, [{ type: 'notice', text: 'f1', lang: 'de' }]);
    });
    const sent: string[] = [];
    const send: SendEvent = async (roomId, _type, txnId, content) => {
      if (roomId === stuck) throw new Error('ECONNREFUSED');
      if (roomId !== free) return `$${txnId}`;
      sent.push(String(content['body']));
      return `$${txnId}`;
    };
    const sender = startOutboxSender({ db: backend.db, send, logger, pollMs: 50 });
    try {
      await eventually(async () => (sent.includes('f1') ? true : undefined), 10_000, 'free room served');
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await sender.stop();
    }
    expect(sent).toEqual(['f1']);
    const rows = await rowsOf(stuck);
    expect(rows.map((r) => [r.status, r.attempts > 0])).toEqual([
      ['pending', true],
      ['pending', false],
    ]);
    expect(rows[0]!.lastError).toBe('network');
    // Leave no undeliverable rows for other tests' senders on this database.
    await backend.db.delete(outbox).where(eq(outbox.roomId, stuck));
  });

  it('gives up on a message the homeserver refuses for good, logs it without content, and moves on', async () => {
    const roomId = room();
    await backend.db.transaction((tx) =>
      enqueue(tx, roomId, [
        { type: 'notice', text: 'geheime Antwort', lang: 'de' },
        { type: 'notice', text: 'next', lang: 'de' },
      ]),
    );
    const sent: string[] = [];
    const send: SendEvent = async (sentTo, _type, txnId, content) => {
      if (sentTo !== roomId) return `$${txnId}`;
      if (content['body'] === 'geheime Antwort') throw matrixError(403, 'M_FORBIDDEN');
      sent.push(String(content['body']));
      return `$${txnId}`;
    };
    // Refusals are retried with backoff; skip the waiting by making every row due again.
    const sender = startOutboxSender({ db: backend.db, send, logger, pollMs: 20 });
    try {
      await eventually(
        async () => {
          await backend.db
            .update(outbox)
            .set({ nextAttemptAt: new Date(0) })
            .where(eq(outbox.roomId, roomId));
          return sent.includes('next') ? true : undefined;
        },
        10_000,
        'refused message given up',
      );
    } finally {
      await sender.stop();
    }
    const rows = await rowsOf(roomId);
    expect(rows.map((r) => [r.status, r.lastError])).toEqual([
      ['failed', 'M_FORBIDDEN'],
      ['sent', null],
    ]);
    expect(logs.some((l) => l.includes('giving up'))).toBe(true);
    expect(logs.join('\n')).not.toContain('geheime');
  });

  it('renders each message when it is sent, with relations to earlier messages resolved to their event ids', async () => {
    const roomId = room();
    const alert = {
      language: 'de' as const,
      severity: 'urgent' as const,
      head: 'DRINGEND · Erika (#12345678)',
      lines: ['Fieber 39,8 °C'],
      mentions: [{ userId: '@dr:localhost', displayName: 'Dr. A' }],
    };
    const [first] = await enqueue(backend.db, roomId, [{ type: 'alert', alert }]);
    await enqueue(backend.db, roomId, [
      { type: 'alert', alert: { ...alert, lines: ['Fieber 40,1 °C'] }, replaces: first! },
      { type: 'notice', text: 'übernommen', lang: 'de', replyTo: first! },
    ]);
    const sent: Array<{ txnId: string; content: Record<string, unknown> }> = [];
    const send: SendEvent = async (sentTo, _type, txnId, content) => {
      if (sentTo === roomId) sent.push({ txnId, content });
      return `$${txnId}`;
    };
    const sender = startOutboxSender({ db: backend.db, send, logger, pollMs: 20 });
    try {
      await eventually(async () => (sent.length === 3 ? true : undefined), 10_000, 'all three sent');
    } finally {
      await sender.stop();
    }
    const postedId = `$${sent[0]!.txnId}`;
    expect(sent[0]!.content).toMatchObject({ msgtype: 'm.text', 'm.mentions': { user_ids: ['@dr:localhost'] } });
    expect(String(sent[0]!.content['formatted_body'])).toContain('https://matrix.to/#/%40dr%3Alocalhost');
    expect(sent[1]!.content).toMatchObject({
      'm.relates_to': { rel_type: 'm.replace', event_id: postedId },
      'm.new_content': { body: expect.stringContaining('40,1') },
    });
    expect(sent[2]!.content).toMatchObject({ msgtype: 'm.notice', body: 'übernommen', 'm.relates_to': { 'm.in_reply_to': { event_id: postedId } } });
  });
});

describe.each(BACKENDS)('outbox senders of several bot accounts on %s', (kind) => {
  const backend = useBackend(kind);
  const plain = secretBox(null);
  const rowsOf = (roomId: string) => backend.db.select().from(outbox).where(eq(outbox.roomId, roomId)).orderBy(outbox.id);
  const account = (name: string) =>
    createAccount(backend.db, plain, {
      orgId: null,
      homeserverUrl: 'http://127.0.0.1:1',
      userId: `@${name}-${Math.random().toString(36).slice(2)}:localhost`,
      credentials: { password: 'unused' },
      displayName: name,
    });

  it("sends only its own account's rooms, and a 429 pauses that account alone", async () => {
    const [a, b] = [await account('a'), await account('b')];
    const [a1, a2, b1] = [room(), room(), room()];
    await recordRoom(backend.db, a1, a.id);
    await recordRoom(backend.db, a2, a.id);
    await recordRoom(backend.db, b1, b.id);
    await backend.db.transaction(async (tx) => {
      await enqueue(tx, a1, [{ type: 'notice', text: 'a1', lang: 'de' }]);
      await enqueue(tx, a2, [{ type: 'notice', text: 'a2', lang: 'de' }]);
      await enqueue(
        tx,
        b1,
        [1, 2, 3].map((n) => ({ type: 'notice' as const, text: `b1-${n}`, lang: 'de' as const })),
      );
    });
    const rows = await backend.db
      .select({ roomId: outbox.roomId, accountId: outbox.accountId })
      .from(outbox)
      .where(inArray(outbox.roomId, [a1, a2, b1]));
    expect(new Set(rows.filter((r) => r.roomId === b1).map((r) => r.accountId))).toEqual(new Set([b.id]));
    expect(new Set(rows.filter((r) => r.roomId !== b1).map((r) => r.accountId))).toEqual(new Set([a.id]));

    const sent: Array<{ as: string; body: string; at: number }> = [];
    let limited = false;
    const sendAs =
      (as: string): SendEvent =>
      async (_roomId, _type, txnId, content) => {
        if (as === 'a' && !limited) {
          limited = true;
          throw matrixError(429, 'M_LIMIT_EXCEEDED', 800);
        }
        sent.push({ as, body: String(content['body']), at: Date.now() });
        return `$${txnId}`;
      };
    const started = Date.now();
    const senders = [
      startOutboxSender({ db: backend.db, send: sendAs('a'), logger, pollMs: 20, scope: { accountId: a.id } }),
      startOutboxSender({ db: backend.db, send: sendAs('b'), logger, pollMs: 20, scope: { accountId: b.id } }),
    ];
    try {
      await eventually(async () => (sent.length === 5 ? true : undefined), 10_000, 'all sent');
    } finally {
      await Promise.all(senders.map((s) => s.stop()));
    }
    // Each account sent its own rooms only.
    expect(sent.filter((s) => s.as === 'b').map((s) => s.body)).toEqual(['b1-1', 'b1-2', 'b1-3']);
    expect(
      sent
        .filter((s) => s.as === 'a')
        .map((s) => s.body)
        .sort(),
    ).toEqual(['a1', 'a2']);
    // Account b went on during a's pause; a's other room waited for the pause too, not only the limited one.
    expect(Math.max(...sent.filter((s) => s.as === 'b').map((s) => s.at)) - started).toBeLessThan(800);
    expect(Math.min(...sent.filter((s) => s.as === 'a').map((s) => s.at)) - started).toBeGreaterThanOrEqual(800);
  });

  it('sends nothing once the fence refuses (the lease was lost), leaves the message as it was, and says so', async () => {
    const a = await account('fenced');
    const roomId = room();
    await recordRoom(backend.db, roomId, a.id);
    await backend.db.transaction((tx) => enqueue(tx, roomId, [{ type: 'notice', text: 'x', lang: 'de' }]));
    const sent: string[] = [];
    let lost: LeaseLostError | undefined;
    const sender = startOutboxSender({
      db: backend.db,
      send: async (_r, _t, txnId) => (sent.push(txnId), `$${txnId}`),
      logger,
      pollMs: 20,
      scope: { accountId: a.id },
      fence: async () => {
        throw new LeaseLostError(a.id);
      },
      onLeaseLost: (error) => (lost = error),
    });
    await eventually(async () => lost, 5_000, 'lease loss reported');
    await sender.stop();
    expect(sent).toEqual([]);
    expect(lost?.accountId).toBe(a.id);
    const [row] = await rowsOf(roomId);
    expect([row!.status, row!.attempts, row!.lastError]).toEqual(['pending', 0, null]);
    await backend.db.delete(outbox).where(eq(outbox.roomId, roomId));
  });
});
