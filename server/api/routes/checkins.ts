import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import { answers, checkins, patients } from '../../../db/schema.ts';
import { ApiError } from '../../errors.ts';
import { errorFields } from '../../logger.ts';
import { audit } from '../audit.ts';
import { requireRole } from '../auth.ts';
import type { ApiEnv } from '../env.ts';
import { findOwned, listOwned, selectOwned } from '../owned.ts';
import { commonErrors, conflict, ErrorSchema, IdParam, json, jsonBody, notFound, pageQuery, security } from '../schemas.ts';

export const CHECKIN_STATUSES = ['pending', 'active', 'completed', 'cancelled', 'superseded', 'expired'] as const;
const OPEN = ['pending', 'active'] as const;

const Checkin = z
  .object({
    id: z.uuid(),
    patientId: z.uuid(),
    enrollmentId: z.uuid().nullable().openapi({ description: 'The enrollment that scheduled it; null when started through the API' }),
    flowId: z.string(),
    flowVersion: z.string(),
    status: z.enum(CHECKIN_STATUSES).openapi({
      description:
        "pending: waiting for the patient's consent; active: questions running; completed; cancelled; superseded by a newer check-in; expired without response",
    }),
    createdAt: z.iso.datetime(),
    startedAt: z.iso.datetime().nullable(),
    endedAt: z.iso.datetime().nullable(),
  })
  .openapi('Checkin');

const Answer = z
  .object({
    questionId: z.string(),
    value: z.unknown().openapi({ description: 'The parsed answer: a number, a choice code, text, a boolean, or a file reference' }),
    answeredAt: z.iso.datetime(),
    revision: z.number().int().openapi({ description: '1 for the first answer, +1 for each correction by the patient' }),
    channel: z
      .enum(['chat', 'form'])
      .openapi({ description: "Where the answer came from: typed in the chat, or a TI-M form the patient's client filled in (docs/tim.md)" }),
  })
  .openapi('Answer');

const CheckinWithAnswers = Checkin.extend({ answers: z.array(Answer).openapi({ description: 'The current answers, in the order they were given' }) }).openapi(
  'CheckinWithAnswers',
);

const StartCheckin = z
  .strictObject({
    flowId: z
      .string()
      .min(1)
      .max(200)
      .openapi({ description: 'A flow with a published version (`GET /v1/flows`); the check-in runs on its current version to the end', example: 'post-op' }),
  })
  .openapi('StartCheckin');

type Row = typeof checkins.$inferSelect;
const view = (row: Row): z.infer<typeof Checkin> => ({
  id: row.id,
  patientId: row.patientId,
  enrollmentId: row.enrollmentId,
  flowId: row.flowId,
  flowVersion: row.flowVersion,
  status: row.status,
  createdAt: row.createdAt.toISOString(),
  startedAt: row.startedAt?.toISOString() ?? null,
  endedAt: row.endedAt?.toISOString() ?? null,
});

export function checkinRoutes(api: OpenAPIHono<ApiEnv>): void {
  const readers = requireRole('org_admin', 'integration', 'clinician');
  const starters = requireRole('org_admin', 'integration', 'clinician');

  api.openapi(
    createRoute({
      method: 'get',
      path: '/v1/checkins',
      tags: ['Check-ins'],
      summary: "List check-ins of your organisation's patients (newest first)",
      security,
      middleware: readers,
      request: {
        query: z.object({
          patientId: z.uuid({ error: 'expected a UUID' }).optional(),
          status: z.enum(CHECKIN_STATUSES).optional(),
          ...pageQuery(),
        }),
      },
      responses: { 200: json(z.object({ checkins: z.array(Checkin) }), 'Check-ins'), ...commonErrors },
    }),
    async (c) => {
      const { patientId, status, limit, offset } = c.req.valid('query');
      const rows = await listOwned(c, {
        table: checkins,
        where: [patientId ? eq(checkins.patientId, patientId) : undefined, status ? eq(checkins.status, status) : undefined],
        orderBy: [desc(checkins.createdAt), desc(checkins.id)],
        limit,
        offset,
        action: 'checkin.list',
        type: 'Checkin',
      });
      return c.json({ checkins: rows.map(view) }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/v1/checkins/{id}',
      tags: ['Check-ins'],
      summary: 'One check-in with its current answers',
      security,
      middleware: readers,
      request: { params: IdParam },
      responses: { 200: json(CheckinWithAnswers, 'The check-in'), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const row = await findOwned(c, { table: checkins, id, notFound: 'no such check-in', action: 'checkin.read', type: 'Checkin' });
      const current = await c
        .get('deps')
        .db.select()
        .from(answers)
        .where(and(eq(answers.checkinId, id), eq(answers.status, 'current')))
        .orderBy(asc(answers.answeredAt), asc(answers.questionId));
      return c.json(
        {
          ...view(row),
          answers: current.map((a) => ({
            questionId: a.questionId,
            value: a.value,
            answeredAt: a.answeredAt.toISOString(),
            revision: a.revision,
            channel: a.channel,
          })),
        },
        200,
      );
    },
  );

  api.openapi(
    createRoute({
      method: 'post',
      path: '/v1/patients/{id}/checkins',
      tags: ['Check-ins'],
      summary: 'Start a check-in with the patient now',
      description:
        "The bot opens the patient's room if needed and asks for consent first if the patient has not agreed yet. An open check-in of the patient is superseded by the new one.",
      security,
      middleware: starters,
      request: { params: IdParam, ...jsonBody(StartCheckin) },
      responses: {
        201: json(Checkin, 'Started'),
        ...commonErrors,
        ...notFound,
        ...conflict('The patient stopped monitoring; they restart it by writing "start"'),
        503: json(ErrorSchema, 'The messenger does not answer; nothing was started, try again later'),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { flowId } = c.req.valid('json');
      const deps = c.get('deps');
      if (!(await deps.flows.find(c.get('principal').orgId, flowId))) {
        const fields = [{ path: 'flowId', message: 'no published flow with this id (see GET /v1/flows)' }];
        throw new ApiError('bad_request', 'invalid request: flowId', { fields });
      }
      const patient = await findOwned(c, { table: patients, id, notFound: 'no such patient', action: 'checkin.start', type: 'Patient', auditFound: false });
      if (patient.monitoring === 'stopped') {
        await audit(c, 'checkin.start', { type: 'Patient', id }, 'invalid');
        throw new ApiError('conflict', 'the patient stopped monitoring; nothing is sent until they write "start"');
      }
      let checkinId: string;
      try {
        checkinId = await deps.contact.startCheckin(patient.id, flowId);
      } catch (error) {
        // Typically the homeserver is away (the patient's room cannot be opened). Nothing was started.
        deps.logger.warn('starting a check-in failed', { patientId: patient.id, ...errorFields(error) });
        await audit(c, 'checkin.start', { type: 'Patient', id }, 'error');
        throw new ApiError('not_ready', 'the check-in could not be started now (the messenger does not answer); try again later');
      }
      await audit(c, 'checkin.start', { type: 'Checkin', id: checkinId });
      const row = await findOwned(c, { table: checkins, id: checkinId, notFound: 'no such patient' });
      return c.json(view(row), 201);
    },
  );

  api.openapi(
    createRoute({
      method: 'post',
      path: '/v1/checkins/{id}/cancel',
      tags: ['Check-ins'],
      summary: 'Cancel a pending or active check-in',
      description: "Answers given so far stay stored. The patient's next message is not taken as an answer to it.",
      security,
      middleware: starters,
      request: { params: IdParam },
      responses: {
        200: json(Checkin, 'Cancelled'),
        ...commonErrors,
        ...notFound,
        ...conflict('The check-in is not open (already completed, cancelled, superseded or expired)'),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const existing = await findOwned(c, { table: checkins, id, notFound: 'no such check-in', action: 'checkin.cancel', type: 'Checkin', auditFound: false });
      const result = await c.get('deps').db.transaction(async (tx) => {
        // Lock the patient as a conversation turn does, so a cancel never interleaves with an answer.
        await selectOwned(tx, patients, c.get('principal').orgId, existing.patientId, { lock: true });
        const now = new Date();
        const [row] = await tx
          .update(checkins)
          .set({ status: 'cancelled', endedAt: now, updatedAt: now })
          .where(and(eq(checkins.id, id), inArray(checkins.status, [...OPEN])))
          .returning();
        return row;
      });
      await audit(c, 'checkin.cancel', { type: 'Checkin', id }, result ? 'ok' : 'invalid');
      if (!result) throw new ApiError('conflict', 'the check-in is not open');
      return c.json(view(result), 200);
    },
  );
}
