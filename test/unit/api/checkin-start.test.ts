import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkins } from '../../../db/schema.ts';
import type { PatientContact } from '../../../server/api/env.ts';
import { memoryApi, type MemoryApi } from './memory-api.ts';

/**
 * POST /v1/patients/{id}/checkins when the Matrix side cannot act: the contact
 * throws (homeserver down, room not creatable) and the API answers 503
 * not_ready with nothing started — never 201 "active".
 */
let failing = true;
const contact: PatientContact = {
  welcome: async () => {},
  startCheckin: async () => {
    if (failing) throw new Error('connect ECONNREFUSED 127.0.0.1:8008');
    return '00000000-0000-4000-8000-000000000000';
  },
  forgetRoom: async () => {},
  inspectRoom: async (_roomId, clinicians) => ({ botJoined: true, botCanPost: true, clinicians: [...clinicians] }),
};
let api: MemoryApi;

beforeAll(async () => {
  api = await memoryApi(contact);
}, 30_000);
afterAll(async () => {
  await api?.close();
});

const start = () =>
  api.app.request(`/v1/patients/${api.patientId}/checkins`, {
    method: 'POST',
    headers: { authorization: `Bearer ${api.keys.clinician}`, 'content-type': 'application/json' },
    body: JSON.stringify({ flowId: 'post-op' }),
  });

describe('starting a check-in while the messenger cannot act', () => {
  it('answers 503 not_ready, starts nothing and says so in the audit log', async () => {
    failing = true;
    const res = await start();
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('not_ready');
    expect(body.error.message).not.toContain('ECONNREFUSED');
    expect(await api.db.select().from(checkins)).toEqual([]);
    expect(api.logs.some((line) => line.includes('starting a check-in failed'))).toBe(true);
  });
});
