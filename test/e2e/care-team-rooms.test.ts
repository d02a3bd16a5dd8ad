import { describe, expect, it } from 'vitest';
import { createOrganisation } from '../../db/organisations.ts';
import { createApiKey } from '../../server/api/auth.ts';
import { newUser, visiteSuite } from '../harness/visite.ts';

/**
 * One room, one owner, and no alert room the bot cannot post in: setting a
 * care team's room over the API asks the real bot (on the real Synapse)
 * whether it is in the room, may post, and whether a clinician of the
 * organisation is a member; another organisation cannot claim the room.
 */
const suite = visiteSuite();

async function http(method: string, path: string, key: string, body?: unknown) {
  const res = await fetch(`${suite.running.visite.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function organisation(name: string) {
  const org = await createOrganisation(suite.database.db, { name });
  const key = (await createApiKey(suite.database.db, org.id, 'admin', ['org_admin'])).secret;
  const { user: doctor, client } = await newUser('dr', { e2ee: false });
  expect((await http('POST', '/v1/clinicians', key, { matrixUserId: doctor.userId, displayName: `Dr. ${name}` })).status).toBe(201);
  return { key, doctor, client };
}

const messageOf = (res: { body: any }) => res.body.error.details.fields[0].message as string;

describe('care-team rooms', () => {
  it('are claimed only where the bot is, may post and an own clinician is a member — and by one organisation only', async () => {
    const bot = suite.running.botUser.userId;
    const a = await organisation('Klinik A');
    const b = await organisation('Klinik B');

    // A's ward room with the bot in it.
    const { room_id: wardA } = await a.client.request<{ room_id: string }>('POST', '/createRoom', { preset: 'private_chat', name: 'Station A', invite: [bot] });
    await a.client.waitForJoin(wardA, bot);
    const created = await http('POST', '/v1/care-teams', a.key, { name: 'Station A', roomId: wardA });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.roomCheck).toEqual({ botJoined: true, botCanPost: true, clinicians: [a.doctor.userId] });

    // B cannot take it: the room belongs to A's team (and no clinician of B is in it).
    const stolen = await http('POST', '/v1/care-teams', b.key, { name: 'Station B', roomId: wardA });
    expect(stolen.status).toBe(400);
    expect(messageOf(stolen)).toMatch(/none of your organisation's clinicians/);
    // Even with B's clinician invited into A's room, the room stays A's.
    await a.client.request('POST', `/rooms/${encodeURIComponent(wardA)}/invite`, { user_id: b.doctor.userId });
    await b.client.request('POST', `/join/${encodeURIComponent(wardA)}`, {});
    const again = await http('POST', '/v1/care-teams', b.key, { name: 'Station B', roomId: wardA });
    expect(again.status).toBe(409);
    expect(JSON.stringify(again.body)).not.toContain('Klinik A');

    // A room the bot was never invited to.
    const { room_id: lonely } = await b.client.request<{ room_id: string }>('POST', '/createRoom', { preset: 'private_chat', name: 'Ohne Bot' });
    const notIn = await http('POST', '/v1/care-teams', b.key, { name: 'Station B', roomId: lonely });
    expect(notIn.status).toBe(400);
    expect(messageOf(notIn)).toMatch(/Visite is not in this room/);

    // A room where the bot may not post.
    const { room_id: muted } = await b.client.request<{ room_id: string }>('POST', '/createRoom', {
      preset: 'private_chat',
      name: 'Nur lesen',
      invite: [bot],
      power_level_content_override: { events_default: 50 },
    });
    await b.client.waitForJoin(muted, bot);
    const readOnly = await http('POST', '/v1/care-teams', b.key, { name: 'Station B', roomId: muted });
    expect(readOnly.status).toBe(400);
    expect(messageOf(readOnly)).toMatch(/may not post/);
  });
});
