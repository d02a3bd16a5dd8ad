/**
 * End-to-end morning burst (issue #14 item 4): N patients, each with a real
 * encrypted device, get their first check-in due in the same minute; Visite
 * creates their rooms, invites them and sends the first question, encrypted.
 * Measured: from the due time until the LAST patient's first question is
 * stored on the homeserver (origin_server_ts of the bot's m.room.encrypted
 * event, seen in the patient's /sync and decrypted by the patient's device
 * with the flow's first question in it).
 *
 * Scenarios, each on a fresh database, the same Synapse and the same patient devices:
 *   baseline  one instance, one account (the environment's only)
 *   fleet     two instances, 4 organisation accounts over 2 organisations + the environment's account
 *   kill      the same, one instance SIGKILLed when half of the patients have their question
 *
 *   scripts/node24.sh node bench/burst.ts [patients=1000] [deadline-seconds=900]
 *
 * Environment: BURST_SCENARIOS=baseline,fleet,kill (default all three);
 * BURST_VISITE_ROOT=<dir> runs server/main.ts of another checkout (default: this one).
 * Needs Postgres on 127.0.0.1:5432 (VISITE_TEST_POSTGRES_URL); creates and drops its own databases.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import postgres from 'postgres';
import { parse as parseYaml } from 'yaml';
import { freePort, registerUser, startSynapse, type RegisteredUser } from '../scripts/synapse.ts';
import { createFreshDatabase } from '../test/harness/postgres.ts';
import { createPatients, type PatientDevice } from './burst/patients.ts';
import { readyz, startInstance, tail, waitReady, type Instance } from './burst/instances.ts';

process.noDeprecation = true;
const N = Number(process.argv[2] ?? 1000);
const DEADLINE_S = Number(process.argv[3] ?? 900);
const SCENARIOS = (process.env['BURST_SCENARIOS'] ?? 'baseline,fleet,kill')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const ROOT = resolve(process.env['BURST_VISITE_ROOT'] ?? join(import.meta.dirname, '..'));
const VAR = join(import.meta.dirname, '..', 'var', 'bench-burst');
const CRON_SECONDS = 5;
/** A scenario ends early when nothing new (invite, message, question) arrived for this long. */
const STALL_S = 90;
const LEASE_TTL_MS = Number(process.env['VISITE_LEASE_TTL_MS'] ?? 15_000);

const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The flow's first question, in the patients' language, from the deployed flow file.
const postOp = parseYaml(readFileSync(join(ROOT, 'flows', 'post-op.yaml'), 'utf8')) as { questions: Array<{ text: { de: string } }> };
const FIRST_QUESTION = postOp.questions[0]!.text.de;

interface ScenarioSpec {
  name: 'baseline' | 'fleet' | 'kill';
  instances: number;
  orgAccounts: number;
  kill: boolean;
}
const SPECS: Record<string, ScenarioSpec> = {
  baseline: { name: 'baseline', instances: 1, orgAccounts: 0, kill: false },
  fleet: { name: 'fleet', instances: 2, orgAccounts: 4, kill: false },
  kill: { name: 'kill', instances: 2, orgAccounts: 4, kill: true },
};

interface ScenarioResult {
  spec: ScenarioSpec;
  lastS: number;
  /** Homeserver-stored bot messages per second from due time to the last one. */
  messagesPerS: number;
  questionsPerS: number;
  messages: number;
  withQuestion: number;
  duplicates: number;
  duplicateDetail: string;
  duplicateRooms: number;
  misses: number;
  missDetail: string;
  decrypted: number;
  undecryptable: number;
  joined: number;
  rss: Array<{ id: string; peakMb: number; killed: boolean }>;
  /** Where the time went: invites (room created) and first questions, seconds after due. */
  phases: string;
  takeoverS?: number;
  takeoverDetail?: string;
  accounts: string;
  failed?: string;
}

let onQuestion: (patient: PatientDevice) => void = () => {};

rmSync(VAR, { recursive: true, force: true });
mkdirSync(VAR, { recursive: true });
const synapse = await startSynapse({ dir: join(VAR, 'synapse'), log });
const cleanups: Array<() => Promise<unknown>> = [() => synapse.stop()];
const results: ScenarioResult[] = [];
try {
  log(`Synapse at ${synapse.url}; Visite from ${ROOT}; ${N} patients; scenarios ${SCENARIOS.join(', ')}`);
  const fleet = await createPatients(synapse, N, {
    prefix: 'patient',
    matchQuestion: (body) => body.includes(FIRST_QUESTION),
    onQuestion: (p) => onQuestion(p),
    log,
  });
  cleanups.unshift(() => fleet.stop());
  await fleet.start();
  log(`${N} patients syncing`);

  for (const name of SCENARIOS) {
    const spec = SPECS[name];
    if (!spec) throw new Error(`unknown scenario ${name} (baseline, fleet, kill)`);
    try {
      results.push(await runScenario(spec, fleet.patients));
    } catch (error) {
      log(`scenario ${name} FAILED: ${(error as Error).message}`);
      results.push(failed(spec, (error as Error).message));
    }
    printScenario(results.at(-1)!);
  }
} finally {
  for (const cleanup of cleanups) await cleanup().catch((e: unknown) => log(`cleanup: ${String(e)}`));
}
console.log('');
for (const r of results) printScenario(r);
const doubleRooms = results.filter((r) => r.duplicateRooms > 0);
if (doubleRooms.length)
  console.log(
    `duplicate rooms (not in "duplicates": patients invited into 2+ rooms): ${doubleRooms.map((r) => `${r.spec.name} ${r.duplicateRooms}`).join(', ')}`,
  );
console.log(summaryLine(results));
process.exit(results.every((r) => !r.failed) ? 0 : 1);

function failed(spec: ScenarioSpec, reason: string): ScenarioResult {
  return {
    spec,
    lastS: NaN,
    messagesPerS: NaN,
    questionsPerS: NaN,
    messages: 0,
    withQuestion: 0,
    duplicates: NaN,
    duplicateDetail: '',
    duplicateRooms: NaN,
    misses: NaN,
    missDetail: '',
    decrypted: 0,
    undecryptable: 0,
    joined: 0,
    rss: [],
    phases: '',
    accounts: '',
    failed: reason,
  };
}

async function runScenario(spec: ScenarioSpec, patients: PatientDevice[]): Promise<ScenarioResult> {
  log(`— scenario ${spec.name}: ${spec.instances} instance(s), ${spec.orgAccounts} organisation account(s)${spec.kill ? ', one instance killed halfway' : ''}`);
  const fresh = await createFreshDatabase('visite_bench_burst');
  const sql = postgres(fresh.url, { max: 4, onnotice: () => {} });
  const instances: Instance[] = [];
  const logDir = join(VAR, spec.name);
  mkdirSync(logDir, { recursive: true });
  try {
    // Bot accounts of this scenario: fresh users, so no earlier room or device mixes in.
    const envBot = await registerUser(synapse, `${spec.name}-visite`);
    const orgBots: RegisteredUser[] = [];
    for (let i = 1; i <= spec.orgAccounts; i++) orgBots.push(await registerUser(synapse, `${spec.name}-bot${i}`));
    const bots = [envBot, ...orgBots];
    for (const p of patients) p.reset(bots.map((b) => b.userId));

    const secretKey = randomBytes(32).toString('base64');
    const env: Record<string, string> = {
      VISITE_HOMESERVER_URL: synapse.url,
      VISITE_BOT_USER_ID: envBot.userId,
      VISITE_BOT_PASSWORD: envBot.password,
      DATABASE_URL: fresh.url,
      VISITE_CRYPTO_PASSPHRASE: 'burst-bench-passphrase',
      VISITE_SECRET_KEY: secretKey,
      VISITE_LEASE_TTL_MS: String(LEASE_TTL_MS),
      VISITE_SCHEDULER_CRON: `*/${CRON_SECONDS} * * * * *`,
      VISITE_LOG_LEVEL: process.env['BURST_LOG_LEVEL'] ?? 'warn',
      VISITE_DATA_DIR: join(logDir, 'data'),
    };

    // The schema: the migrations run when the CLI (or the first instance) opens the database.
    const orgIds: string[] = [];
    const orgCount = spec.orgAccounts > 0 ? 2 : 1;
    for (let o = 1; o <= orgCount; o++) orgIds.push(await createOrg(fresh.url, secretKey, `Burst ${spec.name} ${o}`));
    for (const [i, bot] of orgBots.entries()) await addBot(fresh.url, secretKey, orgIds[i % orgCount]!, bot);

    // Patients (consent given, no room yet: the bot opens it at the first check-in), enrolled in post-op.
    const teams: string[] = [];
    for (const orgId of orgIds) {
      const [team] = await sql<{ id: string }[]>`insert into care_teams (org_id, name) values (${orgId}, 'Burst') returning id`;
      teams.push(team!.id);
    }
    const rows = patients.map((p, i) => ({
      org_id: orgIds[i % orgCount]!,
      matrix_user_id: p.user.userId,
      language: 'de',
      consent: 'given',
      consent_at: new Date(),
    }));
    for (let i = 0; i < rows.length; i += 500) await sql`insert into patients ${sql(rows.slice(i, i + 500))}`;
    await sql`
      insert into enrollments (org_id, patient_id, flow_id, anchor_date, care_team_id)
      select p.org_id, p.id, 'post-op', current_date - 1, t.id from patients p join care_teams t on t.org_id = p.org_id`;

    // Instances.
    for (let i = 1; i <= spec.instances; i++) {
      const id = `${spec.name}-${i}`;
      instances.push(startInstance(ROOT, id, await freePort(), env, logDir));
    }
    await Promise.all(instances.map((inst) => waitReady(inst)));
    const accountsTotal = 1 + orgBots.length;
    const leases = await waitForLeases(sql, accountsTotal, instances);
    log(`instances ready (${instances.map((i) => i.id).join(', ')}); accounts: ${leases}`);
    await sleep(2000);

    // The check-ins fall due on the next scheduler tick at least 3 s away (post-op day 1 and the later days).
    const dueMs = Math.ceil((Date.now() + 3000) / (CRON_SECONDS * 1000)) * CRON_SECONDS * 1000;
    const due = new Date(dueMs);
    await sql`
      insert into scheduled_checkins (org_id, enrollment_id, day, due_at, remind_at, expires_at)
      select e.org_id, e.id, d.day, ${due}::timestamptz + (d.day - 1) * interval '1 day',
             ${due}::timestamptz + (d.day - 1) * interval '1 day' + interval '3 hours',
             ${due}::timestamptz + (d.day - 1) * interval '1 day' + interval '12 hours'
      from enrollments e cross join unnest(array[1, 2, 3, 5, 7, 14]) as d(day)`;
    log(`${N} first check-ins due at ${due.toISOString()}`);

    // Watch: patients with their first question; the kill at half; the takeover.
    let questions = 0;
    onQuestion = () => (questions += 1);
    let killedAt: number | undefined;
    let killed: Instance | undefined;
    let killedAccounts: string[] = [];
    let killNote = '';
    let takeoverS: number | undefined;
    let takeoverDetail: string | undefined;
    const deadline = dueMs + DEADLINE_S * 1000;
    let lastProgress = Date.now();
    let lastCount = -1; // activity count at the last progress
    let lastLog = 0;
    for (;;) {
      const count = patients.filter((p) => p.observed.question).length;
      questions = count;
      // Progress: any new invite, bot message or first question.
      const activity = count + patients.reduce((n, p) => n + p.observed.messages.length + p.observed.invites.size, 0);
      if (activity !== lastCount) {
        lastCount = activity;
        lastProgress = Date.now();
      }
      if (Date.now() - lastLog > 10_000) {
        lastLog = Date.now();
        const messages = patients.reduce((n, p) => n + p.observed.messages.length, 0);
        const invites = patients.reduce((n, p) => n + p.observed.invites.size, 0);
        log(
          `  +${((Date.now() - dueMs) / 1000).toFixed(0)} s: ${invites} invited, ${messages} bot messages, ${count} first questions; RSS ${instances.map((i) => `${i.id} ${i.rssMb().toFixed(0)} MB`).join(', ')}`,
        );
      }
      // The kill: when half of the patients have their question — or, should Visite stall before that,
      // after 30 s without progress (so the takeover is still measured; the output says so).
      const stalledBeforeHalf = count > 0 && Date.now() - lastProgress > 30_000;
      if (spec.kill && !killed && (count >= N / 2 || stalledBeforeHalf)) {
        const victim = await pickVictim(sql, instances);
        killedAccounts = await heldBy(sql, victim.id);
        victim.kill();
        killedAt = Date.now();
        killed = victim;
        killNote = `killed ${victim.id} at ${count}/${N} patients with their question${count >= N / 2 ? '' : ' (Visite stalled before half: killed after 30 s without progress)'}`;
        log(
          `  SIGKILL ${victim.id} at ${count} patients with their question${count >= N / 2 ? '' : ' (stalled before half)'}; it held ${killedAccounts.length} account(s): ${killedAccounts.join(', ')}`,
        );
        void watchTakeover(sql, instances.find((i) => i !== victim)!, killedAccounts, killedAt).then((t) => {
          takeoverS = t.seconds;
          takeoverDetail = t.detail;
          log(`  takeover: ${t.detail}`);
        });
      }
      const complete = count >= N && Date.now() - lastProgress > 5000 && (!spec.kill || takeoverS !== undefined);
      if (complete || Date.now() > deadline) break;
      if (Date.now() - lastProgress > STALL_S * 1000 && Date.now() > dueMs + STALL_S * 1000) {
        log(`  nothing new for ${STALL_S} s: ending the scenario with ${count}/${N} first questions`);
        break;
      }
      await sleep(250);
    }
    // Late duplicates: give the syncs a moment to deliver anything still in flight.
    await sleep(3000);
    for (const p of patients) await p.decryptPending();

    // Visite's own view: what it queued per room, and which account owns each room.
    const outbox = await sql<{ room_id: string; n: number; sent: number }[]>`
      select room_id, count(*)::int as n, count(*) filter (where status = 'sent')::int as sent from outbox group by room_id`;
    const queued = new Map(outbox.map((r) => [r.room_id, r.n]));
    const owners = await sql<{ user_id: string; rooms: number }[]>`
      select a.user_id, count(*)::int as rooms from bot_rooms r join bot_accounts a on a.id = r.account_id group by a.user_id order by a.user_id`.catch(
      () => [],
    );

    const firsts = patients.flatMap((p) => (p.observed.question ? [p.observed.question.ts] : []));
    const allMessages = patients.flatMap((p) => p.observed.messages);
    const lastQuestionMs = firsts.length ? Math.max(...firsts) - dueMs : NaN;
    const lastMessageMs = allMessages.length ? Math.max(...allMessages.map((m) => m.ts)) - dueMs : NaN;
    // Duplicates: a patient with more than one first question, or more bot messages on the homeserver
    // than Visite queued for their room(s). Rooms are counted apart: a second room is a second invite.
    let duplicateRooms = 0;
    let duplicateQuestions = 0;
    let extraMessages = 0;
    let duplicates = 0;
    for (const p of patients) {
      if (p.observed.invites.size > 1) duplicateRooms += 1;
      const qs = p.observed.messages.filter((m) => m.body !== undefined && m.body.includes(FIRST_QUESTION)).length;
      const expected = [...p.observed.invites.keys()].reduce((n, room) => n + (queued.get(room) ?? 0), 0);
      if (qs > 1) duplicateQuestions += 1;
      else if (p.observed.messages.length > expected) extraMessages += 1;
      if (qs > 1 || p.observed.messages.length > expected) duplicates += 1;
    }
    const noMessage = patients.filter((p) => p.observed.messages.length === 0).length;
    const undecryptable = patients.filter((p) => !p.observed.question && p.observed.messages.some((m) => m.body === undefined)).length;
    const misses = patients.filter((p) => !p.observed.question).length;
    const notInvited = patients.filter((p) => p.observed.invites.size === 0).length;
    const visiteStarted = await sql<{ n: number }[]>`select count(*)::int as n from checkins`;
    const pendingDue = await sql<{ n: number }[]>`select count(*)::int as n from scheduled_checkins where status = 'pending' and due_at <= ${due}`;
    const pendingOutbox = outbox.reduce((n, r) => n + (r.n - r.sent), 0);
    const rss = instances.map((i) => ({ id: i.id, peakMb: i.peakRssMb(), killed: i === killed }));
    const invitedAt = patients.flatMap((p) => [...p.observed.invites.values()].slice(0, 1).map((i) => i.seenAt - dueMs));
    const phases = `invite seen ${quantiles(invitedAt)}; first question stored ${quantiles(firsts.map((t) => t - dueMs))}`;
    const result: ScenarioResult = {
      spec,
      lastS: lastQuestionMs / 1000,
      messagesPerS: allMessages.length / (lastMessageMs / 1000),
      questionsPerS: firsts.length / (lastQuestionMs / 1000),
      messages: allMessages.length,
      withQuestion: firsts.length,
      duplicates,
      duplicateDetail: `2+ first questions ${duplicateQuestions}, more messages than queued ${extraMessages}`,
      duplicateRooms,
      misses,
      missDetail: `not invited ${notInvited}, no bot message ${noMessage}, undecryptable only ${undecryptable}; Visite: check-ins ${visiteStarted[0]!.n}, due rows still pending ${pendingDue[0]!.n}, outbox rows not sent ${pendingOutbox}`,
      decrypted: patients.filter((p) => p.observed.messages.some((m) => m.encrypted && m.body !== undefined)).length,
      undecryptable,
      joined: patients.filter((p) => [...p.observed.invites.values()].some((i) => i.joinedAt)).length,
      rss,
      phases,
      accounts: owners.map((o) => `${o.user_id} ${o.rooms} rooms`).join(', '),
      ...(takeoverS !== undefined ? { takeoverS } : {}),
      ...(takeoverDetail !== undefined
        ? { takeoverDetail: `${killNote}; ${takeoverDetail}` }
        : spec.kill
          ? { takeoverDetail: killedAt ? 'not taken over by the deadline' : 'no kill (half never reached)' }
          : {}),
    };
    if (spec.kill && takeoverS === undefined) result.takeoverS = NaN;
    const errs = patients.flatMap((p) => p.errors).slice(0, 3);
    if (errs.length) log(`  patient errors (first 3): ${errs.join(' | ')}`);
    for (const inst of instances) {
      const t = tail(inst.logPath, 200)
        .split('\n')
        .filter((l) => /"level":"(error|warn)"|error/i.test(l));
      if (t.length) log(`  ${inst.id} log (${t.length} warn/error lines, last 3):\n    ${t.slice(-3).join('\n    ')}`);
    }
    return result;
  } finally {
    onQuestion = () => {};
    await Promise.all(instances.map((i) => i.stop()));
    await sql.end({ timeout: 5 });
    await fresh.drop();
  }
}

/** `visite admin create-org` (the operator's bootstrap); prints the organisation's id. */
async function createOrg(databaseUrl: string, secretKey: string, name: string): Promise<string> {
  const out = cli(['admin', 'create-org', '--name', name], { DATABASE_URL: databaseUrl, VISITE_SECRET_KEY: secretKey });
  return (JSON.parse(out) as { organisation: { id: string } }).organisation.id;
}

/** `visite admin add-bot` when the CLI has it; until then the row through db/bot-accounts.ts. */
async function addBot(databaseUrl: string, secretKey: string, orgId: string, bot: RegisteredUser): Promise<void> {
  const admin = readFileSync(join(ROOT, 'cli', 'commands', 'admin.ts'), 'utf8');
  if (admin.includes('add-bot')) {
    cli(['admin', 'add-bot', '--org', orgId, '--user', bot.userId, '--homeserver', synapse.url, '--password-env', 'BURST_BOT_PASSWORD'], {
      DATABASE_URL: databaseUrl,
      VISITE_SECRET_KEY: secretKey,
      BURST_BOT_PASSWORD: bot.password,
    });
    return;
  }
  const { openDatabase } = await import(join(ROOT, 'db', 'database.ts'));
  const { createAccount } = await import(join(ROOT, 'db', 'bot-accounts.ts'));
  const { secretBox } = await import(join(ROOT, 'db', 'secrets.ts'));
  const database = await openDatabase({ url: databaseUrl });
  try {
    await createAccount(database.db, secretBox({ key: Buffer.from(secretKey, 'base64') }), {
      orgId,
      homeserverUrl: synapse.url,
      userId: bot.userId,
      credentials: { password: bot.password },
      displayName: 'Visite (Chatbot)',
    });
  } finally {
    await database.close();
  }
}

function cli(args: string[], env: Record<string, string>): string {
  const result = spawnSync(process.execPath, [join(ROOT, 'cli', 'visite.ts'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`visite ${args.slice(0, 2).join(' ')} failed (${result.status}): ${result.stderr.trim().slice(0, 500)}`);
  return result.stdout;
}

/** Every account leased by a live instance (the fleet runtime); without leases (one account, old runtime) the bot's readiness suffices. */
async function waitForLeases(sql: postgres.Sql, accounts: number, instances: Instance[], timeoutMs = 120_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await sql<{ user_id: string; instance_id: string | null }[]>`
      select a.user_id, l.instance_id from bot_accounts a left join bot_leases l on l.account_id = a.id and l.expires_at > now()
      where a.disabled_at is null order by a.user_id`.catch(() => null);
    if (rows === null) return 'no lease table (single-account runtime)';
    const held = rows.filter((r) => r.instance_id);
    // Every account held, and spread: each instance holds its share (ceil/floor of accounts per instance) — or 60 s passed.
    const perInstance = instances.map((i) => held.filter((r) => r.instance_id === i.id).length);
    const balanced = perInstance.every((n) => n >= Math.floor(accounts / instances.length));
    const spreadWaited = Date.now() > deadline - timeoutMs + 60_000;
    if (held.length >= accounts && rows.length >= accounts && (balanced || spreadWaited)) {
      return `${held.map((r) => `${r.user_id}→${r.instance_id}`).join(', ')}${balanced ? '' : ' (NOT spread over the instances after 60 s)'}`;
    }
    if (Date.now() > deadline) {
      const ready = await Promise.all(instances.map((i) => readyz(i)));
      throw new Error(
        `only ${held.length}/${accounts} accounts leased after ${timeoutMs / 1000} s (${rows.map((r) => `${r.user_id}→${r.instance_id ?? '-'}`).join(', ')}); readyz: ${JSON.stringify(ready.map((r) => r?.body))}`,
      );
    }
    await sleep(250);
  }
}

async function heldBy(sql: postgres.Sql, instanceId: string): Promise<string[]> {
  const rows = await sql<{ user_id: string }[]>`
    select a.user_id from bot_leases l join bot_accounts a on a.id = l.account_id where l.instance_id = ${instanceId} and l.expires_at > now() order by 1`.catch(
    () => [],
  );
  return rows.map((r) => r.user_id);
}

/** The instance holding the most accounts with work still queued (ties: the last one). */
async function pickVictim(sql: postgres.Sql, instances: Instance[]): Promise<Instance> {
  const rows = await sql<{ instance_id: string; pending: number; accounts: number }[]>`
    select l.instance_id, count(distinct l.account_id)::int as accounts,
           (select count(*) from outbox o join bot_rooms r on r.room_id = o.room_id
             where o.status = 'pending' and r.account_id in (select account_id from bot_leases where instance_id = l.instance_id))::int as pending
    from bot_leases l where l.expires_at > now() group by l.instance_id`.catch(() => []);
  const score = (id: string) => {
    const r = rows.find((x) => x.instance_id === id);
    return r ? r.pending * 100 + r.accounts : -1;
  };
  return [...instances].sort((a, b) => score(b.id) - score(a.id) || b.id.localeCompare(a.id))[0]!;
}

/** Kill → every account the killed instance held is held by the survivor (bot_leases; /readyz's accounts when it has them). */
async function watchTakeover(sql: postgres.Sql, survivor: Instance, accounts: string[], killedAt: number): Promise<{ seconds: number; detail: string }> {
  const deadline = killedAt + 10 * LEASE_TTL_MS + 120_000;
  let leaseAt: number | undefined;
  let readyzAt: number | undefined;
  let readyzHasAccounts = false;
  while (Date.now() < deadline) {
    if (leaseAt === undefined) {
      const rows = await sql<{ user_id: string }[]>`
        select a.user_id from bot_leases l join bot_accounts a on a.id = l.account_id
        where l.instance_id = ${survivor.id} and l.expires_at > now() and a.user_id in ${sql(accounts)}`.catch(() => []);
      if (rows.length === accounts.length) leaseAt = Date.now();
    }
    if (readyzAt === undefined) {
      const r = await readyz(survivor);
      const held = r?.body.accounts;
      if (Array.isArray(held)) {
        readyzHasAccounts = true;
        // The survivor's /readyz lists the accounts it runs (its own instanceId at the top); connected: syncing again.
        const mine = (a: (typeof held)[number]) => (a.instanceId ?? r?.body.instanceId) === survivor.id && a['connected'] !== false;
        if (accounts.every((u) => held.some((a) => a.userId === u && mine(a)))) readyzAt = Date.now();
      }
    }
    if (leaseAt !== undefined && (readyzAt !== undefined || !readyzHasAccounts)) break;
    await sleep(100);
  }
  if (leaseAt === undefined)
    return { seconds: NaN, detail: `accounts ${accounts.join(', ')} not held by ${survivor.id} within ${((deadline - killedAt) / 1000).toFixed(0)} s` };
  const s = (t: number) => ((t - killedAt) / 1000).toFixed(1);
  const seconds = (Math.max(leaseAt, readyzAt ?? 0) - killedAt) / 1000;
  return {
    seconds,
    detail: `${accounts.length} account(s) held by ${survivor.id}: bot_leases after ${s(leaseAt)} s, /readyz ${readyzAt ? `after ${s(readyzAt)} s` : readyzHasAccounts ? 'never' : 'lists no accounts'} (lease TTL ${LEASE_TTL_MS / 1000} s)`,
  };
}

function printScenario(r: ScenarioResult): void {
  const title = {
    baseline: 'one instance, one account',
    fleet: 'two instances, 4 organisation accounts + environment account',
    kill: 'same, one instance SIGKILLed halfway',
  }[r.spec.name];
  console.log(`${r.spec.name} (${title}):`);
  if (r.failed) {
    console.log(`  FAILED: ${r.failed}`);
    return;
  }
  console.log(
    `  last first question stored ${r.lastS.toFixed(1)} s after due; ${r.withQuestion}/${N} first questions (${r.questionsPerS.toFixed(1)}/s), ${r.messages} bot messages on the homeserver (${r.messagesPerS.toFixed(1)} messages/s)`,
  );
  console.log(`  decrypted by the patient's device: ${r.decrypted}/${N} patients (first question text checked); joined ${r.joined}/${N}`);
  console.log(`  duplicates ${r.duplicates} (${r.duplicateDetail})`);
  console.log(`  patients invited into more than one room: ${r.duplicateRooms}${r.duplicateRooms > 0 ? '  <-- duplicate rooms' : ''}`);
  console.log(`  misses ${r.misses} (${r.missDetail})`);
  console.log(`  seconds after due (p50 / p90 / max): ${r.phases}`);
  console.log(`  peak RSS: ${r.rss.map((x) => `${x.id} ${x.peakMb.toFixed(0)} MB${x.killed ? ' (until killed)' : ''}`).join(', ')}`);
  if (r.accounts) console.log(`  rooms per account: ${r.accounts}`);
  if (r.spec.kill) console.log(`  takeover ${Number.isFinite(r.takeoverS) ? `${r.takeoverS!.toFixed(1)} s` : 'FAILED'}: ${r.takeoverDetail ?? ''}`);
}

function quantiles(ms: number[]): string {
  if (ms.length === 0) return 'none';
  const sorted = [...ms].sort((a, b) => a - b);
  const q = (p: number) => (sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]! / 1000).toFixed(1);
  return `${q(0.5)} / ${q(0.9)} / ${q(1)}`;
}

function summaryLine(rs: ScenarioResult[]): string {
  const get = (name: string) => rs.find((r) => r.spec.name === name);
  const f = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? 'n/a' : `${x.toFixed(1)} s`);
  const n = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? 'n/a' : String(x));
  // "The last patient's first question" exists only when every patient got one: otherwise n/a and how many did.
  const last = (r: ScenarioResult | undefined) => (r && !r.failed && r.withQuestion < N ? `n/a (${r.withQuestion}/${N} got it)` : f(r?.lastS));
  const fleet = get('fleet');
  const base = get('baseline');
  const kill = get('kill');
  return (
    `burst: ${N} patients, last first question after ${last(fleet)} (one instance, one account: ${last(base)}), ` +
    `duplicates ${n(fleet?.duplicates)}, misses ${n(fleet?.misses)}; with kill: takeover ${f(kill?.takeoverS)}, duplicates ${n(kill?.duplicates)}, misses ${n(kill?.misses)}`
  );
}
