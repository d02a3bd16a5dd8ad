import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { and, isNull } from 'drizzle-orm';
import { apiKeys, ROLES } from '../../../db/schema.ts';
import { audit } from '../audit.ts';
import { createApiKey, requireRole } from '../auth.ts';
import type { ApiEnv } from '../env.ts';
import { ensureFound, findOwned, listOwned, owned } from '../owned.ts';
import { commonErrors, IdParam, json, jsonBody, notFound, security } from '../schemas.ts';

const Role = z.enum(ROLES);
const ApiKey = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().openapi({ description: 'Public part of the key, to recognise it in lists' }),
    roles: z.array(Role),
    createdAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime().nullable(),
    revokedAt: z.iso.datetime().nullable(),
  })
  .openapi('ApiKey');
const CreatedApiKey = ApiKey.extend({ secret: z.string().openapi({ description: 'The key itself. Shown only in this response; store it now.' }) }).openapi(
  'CreatedApiKey',
);
const CreateApiKey = z.strictObject({ name: z.string().min(1).max(100), roles: z.array(Role).min(1).default(['integration']) }).openapi('CreateApiKey');

type Row = typeof apiKeys.$inferSelect;
const view = (row: Row) => ({
  id: row.id,
  name: row.name,
  prefix: `vk_${row.prefix}`,
  roles: row.roles as Array<(typeof ROLES)[number]>,
  createdAt: row.createdAt.toISOString(),
  lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  revokedAt: row.revokedAt?.toISOString() ?? null,
});

export function apiKeyRoutes(api: OpenAPIHono<ApiEnv>): void {
  const adminOnly = requireRole('org_admin');

  api.openapi(
    createRoute({
      method: 'post',
      path: '/v1/api-keys',
      tags: ['API keys'],
      summary: 'Create an API key for system integration (the secret is shown once)',
      security,
      middleware: adminOnly,
      request: jsonBody(CreateApiKey),
      responses: { 201: json(CreatedApiKey, 'Created; `secret` is not retrievable later'), ...commonErrors },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const orgId = c.get('principal').orgId;
      const created = await createApiKey(c.get('deps').db, orgId, body.name, body.roles);
      await audit(c, 'api_key.create', { type: 'ApiKey', id: created.id });
      const row = await findOwned(c, { table: apiKeys, id: created.id, notFound: 'no such API key' });
      return c.json({ ...view(row), secret: created.secret }, 201);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/v1/api-keys',
      tags: ['API keys'],
      summary: "List the organisation's API keys (without secrets)",
      security,
      middleware: adminOnly,
      responses: { 200: json(z.object({ apiKeys: z.array(ApiKey) }), 'API keys'), ...commonErrors },
    }),
    async (c) => {
      const rows = await listOwned(c, { table: apiKeys, orderBy: [apiKeys.createdAt] });
      return c.json({ apiKeys: rows.map(view) }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/api-keys/{id}',
      tags: ['API keys'],
      summary: 'Revoke an API key at once',
      security,
      middleware: adminOnly,
      request: { params: IdParam },
      responses: { 204: { description: 'Revoked' }, ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const [row] = await c
        .get('deps')
        .db.update(apiKeys)
        .set({ revokedAt: new Date() })
        .where(and(owned(apiKeys, c.get('principal').orgId, id), isNull(apiKeys.revokedAt)))
        .returning({ id: apiKeys.id });
      await ensureFound(c, row, { action: 'api_key.revoke', type: 'ApiKey', id, notFound: 'no such API key' });
      return c.body(null, 204);
    },
  );
}
