import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { ApiEnv } from '../env.ts';
import { commonErrors, json, security } from '../schemas.ts';

const FlowSummary = z
  .object({
    id: z.string(),
    version: z.string(),
    title: z.record(z.string(), z.string()).openapi({ description: 'Title per language' }),
    languages: z.array(z.string()),
    questions: z.number().int(),
    schedule: z
      .object({ anchor: z.string(), days: z.array(z.number().int()), time: z.string(), timezone: z.string() })
      .nullable()
      .openapi({ description: 'Check-ins relative to the enrollment anchor date, at local time' }),
  })
  .openapi('Flow');

export function flowRoutes(api: OpenAPIHono<ApiEnv>): void {
  api.openapi(
    createRoute({
      method: 'get',
      path: '/v1/flows',
      tags: ['Flows'],
      summary: 'List the deployed flows and their versions',
      security,
      responses: { 200: json(z.object({ flows: z.array(FlowSummary) }), 'The deployed flows'), ...commonErrors },
    }),
    (c) => {
      const flows = [...c.get('deps').flows.values()].map((flow) => ({
        id: flow.id,
        version: flow.version,
        title: flow.title as Record<string, string>,
        languages: flow.languages,
        questions: flow.questions.length,
        schedule: flow.schedule ? { anchor: flow.schedule.anchor, days: flow.schedule.days, time: flow.schedule.time, timezone: flow.schedule.timezone } : null,
      }));
      return c.json({ flows }, 200);
    },
  );
}
