import { describe, expect, it } from 'vitest';
import { createOrganisation } from '../../db/organisations.ts';
import { careTeams, fhirResources } from '../../db/schema.ts';
import { validateR4 } from '../../core/fhir/validate.ts';
import type { Resource } from '@medplum/fhirtypes';
import { eq } from 'drizzle-orm';
import { createApiKey } from '../../server/api/auth.ts';
import { PatientChat } from '../harness/chat.ts';
import { newUser, visiteSuite } from '../harness/visite.ts';

/**
 * An integrator's path over real HTTP against a running Visite (real Synapse,
 * real Postgres): register a patient, enroll them, the scheduler starts the
 * check-in, the patient answers in Matrix, the integrator reads the
 * Observations over the FHIR API.
 */
const suite = visiteSuite();

async function http(method: string, path: string, key: string, body?: unknown) {
  const res = await fetch(`${suite.running.visite.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as any };
}

describe('integrator: enroll over the API, read FHIR results', () => {
  it('enrolls a patient, the patient answers in Matrix, and the Observations come back over FHIR — for this organisation only', async () => {
    const org = await createOrganisation(suite.database.db, { name: 'Klinikum Integrator' });
    const key = (await createApiKey(suite.database.db, org.id, 'KIS', ['integration'])).secret;
    const [team] = await suite.database.db.insert(careTeams).values({ orgId: org.id, name: 'Chirurgie', roomId: '!chirurgie:localhost' }).returning();
    const { user, client } = await newUser('patient');

    const patient = await http('POST', '/v1/patients', key, { matrixUserId: user.userId, language: 'de', displayName: 'Max Mustermann' });
    expect(patient.status).toBe(201);
    const enrollment = await http('POST', '/v1/enrollments', key, {
      patientId: patient.body.id,
      flowId: 'post-op',
      anchorDate: '2026-11-27',
      careTeamId: team!.id,
    });
    expect(enrollment.status).toBe(201);

    // The bot opened a direct room and asks for consent.
    const roomId = await client.acceptInviteFrom(suite.running.botUser.userId);
    const chat = new PatientChat(client, roomId, suite.running.botUser.userId);
    await chat.expectBot(/einverstanden/);
    await chat.say('ja', /melde mich, sobald/);

    // Day 1 after the anchor, 09:00 in Berlin: the scheduler starts the first check-in.
    expect(enrollment.body.schedule[0].dueAt).toBe('2026-11-28T08:00:00.000Z');
    await suite.running.visite.scheduler.runOnce(new Date('2026-11-28T08:00:30Z'));
    await chat.expectBot(/Wie stark sind Ihre Schmerzen/);
    const scheduled = await http('GET', `/v1/enrollments/${enrollment.body.id}`, key);
    expect(scheduled.body.schedule.slice(0, 2).map((s: { status: string }) => s.status)).toEqual(['started', 'pending']);
    // A second pass (or a second instance) starts nothing more.
    await suite.running.visite.scheduler.runOnce(new Date('2026-11-28T08:01:30Z'));
    expect((await http('GET', `/v1/enrollments/${enrollment.body.id}`, key)).body.schedule).toEqual(scheduled.body.schedule);
    for (const [answer, next] of [
      ['5', /Körpertemperatur/],
      ['38,2', /Wunde/],
      ['1', /übel/],
      ['1', /bewegen/],
      ['1', /Stuhlgang/],
      ['ja', /mitteilen/],
      ['nein', /Vielen Dank/],
    ] as const) {
      await chat.say(answer, next);
    }

    const temperature = await http('GET', `/fhir/R4/Observation?patient=Patient/${patient.body.id}&code=http://loinc.org|8310-5`, key);
    expect(temperature.status).toBe(200);
    expect(temperature.type).toMatch(/application\/fhir\+json/);
    expect(temperature.body.resourceType).toBe('Bundle');
    expect(temperature.body.entry).toHaveLength(1);
    expect(temperature.body.entry[0].resource).toMatchObject({
      resourceType: 'Observation',
      status: 'final',
      subject: { reference: `Patient/${patient.body.id}` },
      valueQuantity: { value: 38.2, system: 'http://unitsofmeasure.org', code: 'Cel' },
    });
    const today = new Date().toISOString().slice(0, 10);
    expect((await http('GET', `/fhir/R4/Observation?patient=${patient.body.id}&date=ge${today}`, key)).body.total).toBeGreaterThanOrEqual(6);
    expect((await http('GET', `/fhir/R4/Observation?patient=${patient.body.id}&date=lt${today}`, key)).body.total).toBe(0);

    const responses = await http('GET', `/fhir/R4/QuestionnaireResponse?patient=${patient.body.id}`, key);
    expect(responses.body.entry.map((e: { resource: { status: string } }) => e.resource.status)).toEqual(['completed']);

    const everything = await http('GET', `/fhir/R4/Patient/${patient.body.id}/$everything`, key);
    expect(everything.status).toBe(200);
    const types = everything.body.entry.map((e: { resource: { resourceType: string } }) => e.resource.resourceType);
    expect(types[0]).toBe('Patient');
    expect(types.filter((t: string) => t === 'QuestionnaireResponse')).toHaveLength(1);
    expect(types.filter((t: string) => t === 'Observation').length).toBeGreaterThanOrEqual(6);
    expect(types.filter((t: string) => t === 'Provenance')).toHaveLength(1);
    // Every resource Visite stored and exports is valid R4.
    for (const entry of everything.body.entry as Array<{ resource: Resource }>) expect(validateR4(entry.resource), entry.resource.resourceType).toEqual([]);
    const stored = await suite.database.db.select().from(fhirResources).where(eq(fhirResources.patientId, patient.body.id));
    expect(stored.map((r) => r.resourceType)).toContain('Patient');
    for (const row of stored) expect(validateR4(row.resource as Resource), row.resourceType).toEqual([]);
    // Every patient reference in the export is this patient.
    const referenced = new Set([...JSON.stringify(everything.body).matchAll(/Patient\/([0-9a-f-]{36})/g)].map((m) => m[1]));
    expect([...referenced]).toEqual([patient.body.id]);

    // Another organisation sees nothing of it, in FHIR errors.
    const other = await createOrganisation(suite.database.db, { name: 'Praxis Anders' });
    const otherKey = (await createApiKey(suite.database.db, other.id, 'PVS', ['integration'])).secret;
    const foreign = await http('GET', `/fhir/R4/Patient/${patient.body.id}/$everything`, otherKey);
    expect(foreign.status).toBe(404);
    expect(foreign.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] });
    expect((await http('GET', `/fhir/R4/Observation?patient=${patient.body.id}`, otherKey)).body.total).toBe(0);
    expect((await http('GET', '/fhir/R4/Observation', otherKey)).body.total).toBe(0);
    const unauthenticated = await fetch(`${suite.running.visite.httpUrl}/fhir/R4/Observation`);
    expect(unauthenticated.status).toBe(401);
    expect(((await unauthenticated.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
    expect((await fetch(`${suite.running.visite.httpUrl}/fhir/R4/metadata`)).status).toBe(200);
  });
});
