/**
 * Patient replies processed per second with persistence, against raw inserts
 * of the same rows, on the same fresh Postgres database in the same run.
 *
 * Visite path: `conversations.handle()` — one transaction per reply that locks
 * the patient, claims the event id, runs the pure policy and engine, and writes
 * state, answer and outbox rows (no Matrix: this isolates the engine + DB cost).
 * Baseline: the same statements per reply (event claim, answer upsert, check-in
 * state update, FHIR QuestionnaireResponse upsert, outbox inserts) sent with
 * postgres.js directly: no engine, no FHIR building or validation, no ORM.
 *
 *   scripts/node24.sh node bench/engine-db.ts [patients=200] [concurrency=8]
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { createWake } from '../services/signal.ts';
import { openFlowCatalog } from '../services/flows.ts';
import { createConversations } from '../services/conversations.ts';
import { vocabulary } from '../core/conversation/vocabulary.ts';
import { openDatabase } from '../db/database.ts';
import { enrollPatient, setPatientRoom } from '../db/patients.ts';
import { createOrganisation } from '../db/organisations.ts';
import { patients } from '../db/schema.ts';
import { eq } from 'drizzle-orm';
import { DEFAULT_FLOWS_DIR } from '../server/config.ts';
import { loadFlows } from '../server/flows.ts';
import { createFreshDatabase } from '../test/harness/postgres.ts';

const PATIENTS = Number(process.argv[2] ?? 200);
const CONCURRENCY = Number(process.argv[3] ?? 8);
/** One full post-op check-in, as a patient types it. */
const ANSWERS = ['3', '37,2', '1', '1', '1', 'ja', 'nein'];

async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

const fresh = await createFreshDatabase('visite_bench');
const database = await openDatabase({ url: fresh.url });
const raw = postgres(fresh.url, { max: CONCURRENCY + 2, onnotice: () => {} });
try {
  const flows = await openFlowCatalog({ db: database.db, deployed: loadFlows(DEFAULT_FLOWS_DIR), links: { publicUrl: 'http://127.0.0.1:8080' } });
  const conversations = createConversations({ db: database.db, flows, vocabulary: vocabulary(), wake: createWake() });

  // Setup (not measured): consenting patients, each with a direct room and a running check-in.
  const org = await createOrganisation(database.db, { name: 'Bench' });
  const ids: Array<{ id: string; userId: string; roomId: string }> = [];
  for (let i = 0; i < PATIENTS; i++) {
    const userId = `@bench-${i}:localhost`;
    const patient = await enrollPatient(database.db, { orgId: org.id, matrixUserId: userId, language: 'de' });
    const roomId = await setPatientRoom(database.db, patient.id, `!bench-${i}:localhost`);
    await database.db.update(patients).set({ consent: 'given' }).where(eq(patients.id, patient.id));
    await conversations.startCheckin(patient.id, 'post-op');
    ids.push({ id: patient.id, userId, roomId });
  }

  // Both paths run in alternating rounds so background noise hits them alike.
  const [{ checkin_id: anyCheckin } = { checkin_id: '' }] = await raw<{ checkin_id: string }[]>`select id as checkin_id from checkins limit 1`;
  // The baseline writes rows of the same size as Visite's: a real mid-check-in state and real rendered messages.
  const ref = ids[0]!;
  await conversations.handle({ eventId: `$${randomUUID()}`, roomId: ref.roomId, sender: ref.userId, input: { type: 'text', text: '3' } });
  await conversations.handle({ eventId: `$${randomUUID()}`, roomId: ref.roomId, sender: ref.userId, input: { type: 'text', text: '37,2' } });
  const [{ state } = { state: {} }] = await raw<{ state: object }[]>`select state from checkins where state is not null order by updated_at desc limit 1`;
  const messages = (await raw<{ message: object }[]>`select message from outbox where message is not null order by id desc limit 2`).map((r) => r.message);
  const [{ resource: record } = { resource: {} }] = await raw<{ resource: object }[]>`select resource from fhir_resources order by updated_at desc limit 1`;
  await raw`update checkins set status = 'cancelled' where patient_id = ${ref.id}`;
  await conversations.startCheckin(ref.id, 'post-op');
  const visiteRound = (group: typeof ids) =>
    inParallel(group, CONCURRENCY, async (p) => {
      for (const text of ANSWERS) {
        const outcome = await conversations.handle({ eventId: `$${randomUUID()}`, roomId: p.roomId, sender: p.userId, input: { type: 'text', text } });
        if (outcome !== 'handled') throw new Error(`reply not handled: ${outcome}`);
      }
    });
  const rawRound = (group: typeof ids) =>
    inParallel(group, CONCURRENCY, async (p) => {
      for (let i = 0; i < ANSWERS.length; i++) {
        await raw.begin(async (tx) => {
          await tx`select id from patients where id = ${p.id} for update`;
          await tx`insert into inbound_events (event_id, room_id, kind) values (${`$${randomUUID()}`}, ${p.roomId}, 'text') on conflict do nothing`;
          await tx`insert into answers (checkin_id, question_id, value, answered_at, source_event_id)
                   values (${anyCheckin}, ${`raw-${p.id}-${i}`}, ${tx.json({ type: 'number', value: i })}, now(), 'raw')
                   on conflict (checkin_id, question_id) do update set revision = answers.revision + 1`;
          await tx`update checkins set state = ${tx.json(state as never)}, updated_at = now() where id = ${anyCheckin}`;
          await tx`insert into fhir_resources (resource_type, id, org_id, patient_id, checkin_id, codes, effective_at, resource)
                   values ('QuestionnaireResponse', ${`raw-${p.id}`}, ${org.id}, ${p.id}, ${anyCheckin}, '{}', now(), ${tx.json(record as never)})
                   on conflict (resource_type, id) do update set resource = excluded.resource, version_id = fhir_resources.version_id + 1, updated_at = now()`;
          await tx`insert into outbox (room_id, txn_id, message) values
                   (${p.roomId}, ${randomUUID()}, ${tx.json(messages[0] as never)}),
                   (${p.roomId}, ${randomUUID()}, ${tx.json(messages[1] as never)})`;
        });
      }
    });
  let visiteSeconds = 0;
  let rawSeconds = 0;
  const ROUNDS = 5;
  for (let r = 0; r < ROUNDS; r++) {
    const group = ids.slice((r * ids.length) / ROUNDS, ((r + 1) * ids.length) / ROUNDS);
    let t = performance.now();
    await visiteRound(group);
    visiteSeconds += (performance.now() - t) / 1000;
    t = performance.now();
    await rawRound(group);
    rawSeconds += (performance.now() - t) / 1000;
  }
  const replies = PATIENTS * ANSWERS.length;

  const visiteRate = replies / visiteSeconds;
  const rawRate = replies / rawSeconds;
  console.log(`engine-db: ${PATIENTS} patients × ${ANSWERS.length} replies, concurrency ${CONCURRENCY}, Postgres`);
  console.log(`  Visite (policy + engine + drizzle, one transaction per reply): ${visiteRate.toFixed(0)} replies/s`);
  console.log(`  raw inserts of the same rows (postgres.js):                  ${rawRate.toFixed(0)} replies/s`);
  console.log(`  ratio Visite / raw: ${(visiteRate / rawRate).toFixed(2)} (target ≥ 0.5)`);
} finally {
  await raw.end({ timeout: 5 });
  await database.close();
  await fresh.drop();
}
