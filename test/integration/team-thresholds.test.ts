import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, useBackend } from '../harness/backends.ts';
import { createWake } from '../../services/signal.ts';
import { createConversations } from '../../services/conversations.ts';
import { vocabulary } from '../../core/conversation/vocabulary.ts';
import { enrollPatient, setPatientRoom } from '../../db/patients.ts';
import { careTeams, checkins, enrollments, escalations, patients } from '../../db/schema.ts';
import { call, testApi } from '../harness/api.ts';

/** A care team's own thresholds, set over the API and applied to its patients' check-ins. */
describe.each(BACKENDS)('team thresholds, on %s', (kind) => {
  const backend = useBackend(kind);

  describe('care-team thresholds', () => {
    it("are validated over the API and change when a team member's patient raises an alert", async () => {
      const api = await testApi(backend.db);
      const org = await api.organisation();
      await call(api.app, 'POST', '/v1/clinicians', org.keys.org_admin, { matrixUserId: '@dr.schwelle:klinik.de', displayName: 'Dr. Schwelle' });
      const team = await call(api.app, 'POST', '/v1/care-teams', org.keys.org_admin, { name: 'Station 1', roomId: `!s1-${org.orgId}:klinik.de` });
      expect(team.status).toBe(201);
      const bad = await call(api.app, 'PATCH', `/v1/care-teams/${team.body.id}`, org.keys.org_admin, {
        thresholds: { 'post-op': { nosuch: 1, fever: 99 }, 'no-flow': { x: 1 } },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details.fields.map((f: { path: string }) => f.path).sort()).toEqual([
        'thresholds.no-flow',
        'thresholds.post-op.fever',
        'thresholds.post-op.nosuch',
      ]);
      const good = await call(api.app, 'PATCH', `/v1/care-teams/${team.body.id}`, org.keys.org_admin, { thresholds: { 'post-op': { fever: 38.0 } } });
      expect(good.body.thresholds).toEqual({ 'post-op': { fever: 38.0 } });

      const conversations = createConversations({ db: backend.db, flows: api.flows, vocabulary: vocabulary(), wake: createWake() });
      const raise = async (careTeamId: string | null) => {
        const userId = `@p-${randomUUID().slice(0, 8)}:klinik.de`;
        const patient = await enrollPatient(backend.db, { orgId: org.orgId, matrixUserId: userId, language: 'de' });
        const roomId = await setPatientRoom(backend.db, patient.id, `!${randomUUID().slice(0, 8)}:klinik.de`);
        await backend.db.update(patients).set({ consent: 'given' }).where(eq(patients.id, patient.id));
        const { checkinId } = await conversations.startCheckin(patient.id, 'post-op');
        if (careTeamId) {
          const [enrollment] = await backend.db
            .insert(enrollments)
            .values({ orgId: org.orgId, patientId: patient.id, flowId: 'post-op', anchorDate: '2026-11-27', careTeamId })
            .returning();
          await backend.db.update(checkins).set({ enrollmentId: enrollment!.id }).where(eq(checkins.id, checkinId));
        }
        for (const text of ['2', '38,2']) await conversations.handle({ eventId: `$${randomUUID()}`, roomId, sender: userId, input: { type: 'text', text } });
        return (await backend.db.select().from(escalations).where(eq(escalations.patientId, patient.id))).map((e) => e.ruleId);
      };
      expect(await raise(team.body.id)).toContain('fever');
      // A patient without that team keeps the flow's own threshold (38.5 °C).
      const [other] = await backend.db.insert(careTeams).values({ orgId: org.orgId, name: 'Station 2' }).returning();
      expect(await raise(other!.id)).not.toContain('fever');
      expect(await raise(null)).not.toContain('fever');
    });
  });
});
