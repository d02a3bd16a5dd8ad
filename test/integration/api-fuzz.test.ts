import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type Database } from '../../db/database.ts';
import { parse } from 'yaml';
import { SHIPPED } from '../harness/catalog.ts';
import { call, testApi, type TestApi } from '../harness/api.ts';
import { dbStartCheckin, seedPatientData } from '../harness/patient-data.ts';

/**
 * No input may yield a 500 (issue #16). Property-based: routes, parameters and
 * body fields come from the OpenAPI document, values from generators of what
 * breaks servers — NUL, unpaired surrogates, huge and odd numbers, impossible
 * dates, UUID look-alikes, very long strings, any JSON. Every answer must be
 * below 500, and a 400 must name the parameter or field that was changed.
 */
let database: Database;
let api: TestApi;
let key: string;
let ids: { patientId: string; careTeamId: string; clinicianId: string; checkinId: string; alertId: string; enrollmentId: string };

interface Parameter {
  name: string;
  in: 'path' | 'query';
}
interface Operation {
  method: string;
  path: string;
  parameters: Parameter[];
  /** Property names of the JSON body, if it has one. */
  bodyFields: string[] | null;
}
let ops: Operation[];

beforeAll(async () => {
  database = await openDatabase({ url: inject('databaseUrl') });
  api = await testApi(database.db, undefined, { startCheckin: dbStartCheckin(database.db) });
  const org = await api.organisation('Fuzz');
  key = org.keys.org_admin;
  const patient = await call(api.app, 'POST', '/v1/patients', org.keys.integration, { matrixUserId: `@fuzz.${randomUUID().slice(0, 8)}:klinik.de` });
  const seeded = await seedPatientData(database.db, org.orgId, patient.body.id);
  const clinician = await call(api.app, 'POST', '/v1/clinicians', key, { matrixUserId: '@dr.fuzz:klinik.de', displayName: 'Dr. Fuzz' });
  ids = { ...seeded, clinicianId: clinician.body.id };

  const doc = (await call(api.app, 'GET', '/openapi.json', null)).body;
  const resolve = (schema: any): any => (schema?.$ref ? doc.components.schemas[schema.$ref.split('/').pop()] : schema);
  ops = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => {
      const body = resolve(op.requestBody?.content?.['application/json']?.schema);
      return {
        method: method.toUpperCase(),
        path,
        parameters: ((op.parameters ?? []) as Parameter[]).filter((p) => p.in === 'path' || p.in === 'query'),
        bodyFields: body ? Object.keys(body.properties ?? {}) : null,
      };
    }),
  );
});
afterAll(async () => {
  await database?.close();
});

const NASTY = [
  '\u0000',
  'a\u0000b',
  '\uD800',
  'x\uDFFFy',
  '\uDBFF\uDBFF',
  '1e309',
  '-1e309',
  '99999999999999999999999',
  '-1',
  '-0',
  '0.5',
  'NaN',
  'Infinity',
  '0x10',
  '9999-12-31',
  '0000-01-01',
  '2026-13-01',
  '2026-02-30',
  'ge2026-13-01',
  'ge2026-01-01T25:00Z',
  'ge2026-01-01T10:00+99:99',
  '2026-01-01T10:00:00+99:99',
  '0000-01-01T00:00:00Z',
  '------------------------------------',
  '00000000-0000-0000-0000-00000000000g',
  'Patient/------------------------------------',
  '@a:b:99999',
  '!x:y:70000',
  `@${'a'.repeat(300)}:klinik.de`,
  "'; drop table patients; --",
  '%00',
  '',
  ' ',
  'x'.repeat(10_000),
];

/** Strings that break things, plus arbitrary ones (any UTF-16 code units, so unpaired surrogates too). */
const nastyString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('\u0000', '\uD800', '\uDC00', '9', '-', 'e', ':', '@', 'T', 'Z'), maxLength: 40 }) },
  { weight: 1, arbitrary: fc.double().map(String) },
  { weight: 1, arbitrary: fc.bigInt().map(String) },
);
/** Any JSON value for a body field, with the nasty strings among them. */
const nastyJson = fc.oneof(
  { weight: 3, arbitrary: nastyString },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, 0, -1, 1e308, -1e308, 2 ** 53 + 1, 0.1, [], {}) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.dictionary(nastyString, nastyString, { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.array(nastyString, { maxLength: 3 }) },
);

const encode = (value: string): string | null => {
  try {
    return encodeURIComponent(value);
  } catch {
    return null; // an unpaired surrogate cannot be put in a URL at all
  }
};

/** Which parameter or field a 400 names: `details.fields[].path`, or an OperationOutcome's `expression`. */
const named = (body: any): string[] => [
  ...((body?.error?.details?.fields ?? []) as Array<{ path: string }>).map((f) => f.path),
  ...((body?.issue ?? []) as Array<{ expression?: string[] }>).flatMap((i) => i.expression ?? []),
  // 422 for flow and transcript documents: their issues name the path in the document.
  ...((body?.error?.details?.issues ?? []) as Array<{ path: string }>).map((i) => i.path),
  ...((body?.error?.details?.transcriptProblems ?? []) as Array<{ path: string }>).map((i) => i.path),
];
const names = (body: any, field: string) => named(body).some((path) => path === field || path.startsWith(`${field}.`));

const pathParam = (op: Operation, name: string): string => {
  const table: Record<string, string> = {
    'GET /v1/checkins/{id}': ids.checkinId,
    'GET /fhir/R4/Patient/{id}/$everything': ids.patientId,
  };
  // Flows are addressed by their flow id and version.
  if (op.path.startsWith('/v1/flows/')) return name === 'version' ? '1.0.0' : 'fuzz-flow';
  return table[`${op.method} ${op.path}`] ?? (name === 'clinicianId' ? ids.clinicianId : randomUUID());
};
const fill = (op: Operation, values: Record<string, string> = {}) => op.path.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? pathParam(op, name));

function check(op: Operation, field: string, res: { status: number; body: unknown }) {
  const where = `${op.method} ${op.path} (${field})`;
  expect(res.status, `${where}: ${JSON.stringify(res.body)?.slice(0, 300)}`).toBeLessThan(500);
  if (res.status === 400) expect(names(res.body, field), `${where} must name ${field}: ${JSON.stringify(res.body)?.slice(0, 300)}`).toBe(true);
}

const RUNS = { numRuns: Number(process.env['FUZZ_RUNS'] ?? 25) };

describe('no input yields a 500', () => {
  it('every query parameter of every route, with nasty values: below 500, a 400 names it', async () => {
    const targets = ops.flatMap((op) => op.parameters.filter((p) => p.in === 'query').map((p) => ({ op, name: p.name })));
    expect(targets.length).toBeGreaterThan(10);
    for (const { op, name } of targets) {
      await fc.assert(
        fc.asyncProperty(nastyString, async (value) => {
          const encoded = encode(value);
          fc.pre(encoded !== null);
          check(op, name, await call(api.app, op.method, `${fill(op)}?${encodeURIComponent(name)}=${encoded}`, key));
        }),
        RUNS,
      );
    }
  });

  it('every path parameter of every route, with nasty values: below 500, a 400 names it', async () => {
    const targets = ops.flatMap((op) => op.parameters.filter((p) => p.in === 'path').map((p) => ({ op, name: p.name })));
    expect(targets.length).toBeGreaterThan(10);
    for (const { op, name } of targets) {
      await fc.assert(
        fc.asyncProperty(nastyString, async (value) => {
          const encoded = encode(value);
          fc.pre(encoded !== null && encoded !== '');
          // Never against real objects: a nasty id that happened to be valid must not delete anything.
          const res = await call(api.app, op.method, fill(op, { [name]: encoded! }), key, op.bodyFields ? {} : undefined);
          expect(res.status, `${op.method} ${op.path} (${name}=${JSON.stringify(value)})`).toBeLessThan(500);
          if (res.status === 400 && !op.bodyFields) expect(names(res.body, name), `${op.method} ${op.path} must name ${name}`).toBe(true);
        }),
        RUNS,
      );
    }
  });

  /** A valid request per route with a body; each field is then replaced by nasty values. */
  const VALID: Record<string, () => { params?: Record<string, string>; body: Record<string, unknown> }> = {
    'POST /v1/api-keys': () => ({ body: { name: 'PVS', roles: ['integration'] } }),
    'PATCH /v1/organisation': () => ({ body: { name: 'Klinik Fuzz', retentionDays: 365 } }),
    'POST /v1/patients': () => ({
      body: { matrixUserId: `@p.${randomUUID().slice(0, 8)}:klinik.de`, language: 'de', timeZone: 'Europe/Berlin', displayName: 'Erika' },
    }),
    'POST /v1/enrollments': () => ({
      body: { patientId: ids.patientId, flowId: 'post-op', anchorDate: new Date().toISOString().slice(0, 10), careTeamId: ids.careTeamId },
    }),
    'POST /v1/care-teams': () => ({
      body: {
        name: 'Station',
        roomId: '!s:klinik.de',
        language: 'de',
        escalationChain: [{ afterMinutes: 5, clinicianIds: [ids.clinicianId] }],
        thresholds: {},
      },
    }),
    'PATCH /v1/care-teams/{id}': () => ({
      params: { id: ids.careTeamId },
      body: { name: 'Station', roomId: '!s:klinik.de', language: 'de', escalationChain: [], thresholds: {} },
    }),
    'POST /v1/clinicians': () => ({
      body: { matrixUserId: `@dr.${randomUUID().slice(0, 8)}:klinik.de`, displayName: 'Dr. X', roles: ['clinician'], oidcSubject: 'sub' },
    }),
    'PATCH /v1/clinicians/{id}': () => ({ params: { id: ids.clinicianId }, body: { displayName: 'Dr. Fuzz', roles: ['clinician'], oidcSubject: null } }),
    'POST /v1/patients/{id}/checkins': () => ({ params: { id: ids.patientId }, body: { flowId: 'post-op' } }),
    'POST /v1/flows': () => ({ body: { fromTemplate: 'post-op' } }),
    'PUT /v1/flows/{id}/draft': () => ({
      params: { id: 'fuzz-flow' },
      body: { ...(parse(SHIPPED.get('post-op')!.source) as Record<string, unknown>), id: 'fuzz-flow' },
    }),
    'PUT /v1/flows/{id}/draft/transcripts': () => ({
      params: { id: 'fuzz-flow' },
      body: parse(SHIPPED.get('post-op')!.transcripts!) as Record<string, unknown>,
    }),
    'POST /v1/flows/{id}/draft/try': () => ({ params: { id: 'fuzz-flow' }, body: { lang: 'de', answers: ['8', '39,7'], now: '2026-01-15T08:00:00Z' } }),
    // Passwords (a token would be checked with a homeserver); ids of no account: the body is checked first.
    'POST /v1/bot-accounts': () => ({
      body: {
        homeserverUrl: 'https://matrix.klinik.de',
        userId: `@bot.${randomUUID().slice(0, 8)}:klinik.de`,
        password: 'fuzz',
        displayName: 'Fuzz (Chatbot)',
        allowedInviters: ['@*:klinik.de'],
      },
    }),
    'PATCH /v1/bot-accounts/{id}': () => ({ params: { id: randomUUID() }, body: { displayName: 'Fuzz (Chatbot)', allowedInviters: [], disabled: false } }),
    'POST /v1/bot-accounts/{id}/credentials': () => ({ params: { id: randomUUID() }, body: { password: 'fuzz' } }),
  };

  it('has a valid request for every route with a JSON body (a new route must be added here)', () => {
    const withBody = ops.filter((op) => op.bodyFields).map((op) => `${op.method} ${op.path}`);
    expect(withBody.filter((route) => !(route in VALID))).toEqual([]);
    expect(Object.keys(VALID).filter((route) => !withBody.includes(route))).toEqual([]);
  });

  it('every body field of every route, with nasty JSON values: below 500, a 400 names it', async () => {
    const targets = ops.filter((op) => op.bodyFields).flatMap((op) => op.bodyFields!.map((field) => ({ op, field })));
    expect(targets.length).toBeGreaterThan(15);
    for (const { op, field } of targets) {
      await fc.assert(
        fc.asyncProperty(nastyJson, async (value) => {
          const valid = VALID[`${op.method} ${op.path}`]!();
          check(op, field, await call(api.app, op.method, fill(op, valid.params), key, { ...valid.body, [field]: value }));
        }),
        RUNS,
      );
    }
  });

  it('unknown body fields with nasty names and values: below 500, a 400 names them', async () => {
    const targets = ops.filter((op) => op.bodyFields);
    for (const op of targets) {
      await fc.assert(
        fc.asyncProperty(nastyString, nastyJson, async (name, value) => {
          const valid = VALID[`${op.method} ${op.path}`]!();
          fc.pre(!op.bodyFields!.includes(name) && name !== '__proto__');
          const res = await call(api.app, op.method, fill(op, valid.params), key, { ...valid.body, [name]: value });
          // A flow or transcripts document (a body without declared fields) is checked as one: 422 naming the key.
          const document = op.bodyFields!.length === 0;
          expect(res.status, `${op.method} ${op.path} ${JSON.stringify(name)}`).toBe(document && res.status === 422 ? 422 : 400);
          expect(named(res.body).length).toBeGreaterThan(0);
        }),
        { numRuns: 10 },
      );
    }
  });
});
