import { describe, expect, it } from 'vitest';
import { createApp } from '../../../server/app.ts';
import { createLogger } from '../../../server/logger.ts';

const logs: string[] = [];
const logger = createLogger('debug', (line) => logs.push(line));
const ok = async () => {};
const down = async () => {
  throw new Error('connection refused');
};
const hang = () => new Promise<void>(() => {});

describe('health routes', () => {
  it('/healthz answers while dependencies are down', async () => {
    const app = createApp({ logger, readiness: [{ name: 'database', check: down }] });
    const res = await app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'alive' });
  });

  it('/readyz is 200 when every check passes', async () => {
    const app = createApp({
      logger,
      readiness: [
        { name: 'database', check: ok },
        { name: 'homeserver', check: ok },
      ],
    });
    const res = await app.request('/readyz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', checks: { database: 'ok', homeserver: 'ok' } });
  });

  it('/readyz is 503 naming the failing part, including one that hangs', async () => {
    const app = createApp({
      logger,
      readiness: [
        { name: 'database', check: hang },
        { name: 'homeserver', check: down },
      ],
    });
    const res = await app.request('/readyz');
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; details: { failing: string[] } }; checks: unknown };
    expect(body.error.code).toBe('not_ready');
    expect(body.error.details.failing).toEqual(['database', 'homeserver']);
    expect(body.checks).toEqual({ database: 'unreachable', homeserver: 'unreachable' });
  });

  it('unknown routes get a JSON 404 with a machine code', async () => {
    const res = await createApp({ logger, readiness: [] }).request('/v2/nothing');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'not_found', message: 'no route for GET /v2/nothing' } });
  });

  it('unknown FHIR routes get an OperationOutcome', async () => {
    const res = await createApp({ logger, readiness: [] }).request('/fhir/R4/Nothing');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/application\/fhir\+json/);
    expect(await res.json()).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] });
  });
});
