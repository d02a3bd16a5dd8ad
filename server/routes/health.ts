import { Hono } from 'hono';
import { errorBody } from '../errors.ts';

/**
 * A dependency the service needs to do its work; `check` rejects when it is
 * unusable. A rejection carrying `failing` (e.g. the rooms that refuse alerts)
 * reports the check as `degraded` and names them.
 */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

export class DegradedError extends Error {
  override name = 'DegradedError';
  readonly failing: string[];
  constructor(message: string, failing: string[]) {
    super(message);
    this.failing = failing;
  }
}

const CHECK_TIMEOUT_MS = 2_000;

async function probe(check: ReadinessCheck): Promise<'ok' | 'unreachable' | { degraded: string[] }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([check.check(), timeout]);
    return 'ok';
  } catch (error) {
    if (error instanceof DegradedError) return { degraded: error.failing };
    return 'unreachable';
  } finally {
    clearTimeout(timer);
  }
}

/** `/healthz`: the process is alive. `/readyz`: every dependency answers. */
export function healthRoutes(checks: readonly ReadinessCheck[]): Hono {
  return new Hono()
    .get('/healthz', (c) => c.json({ status: 'alive' }))
    .get('/readyz', async (c) => {
      const probed = await Promise.all(checks.map(async (ch) => [ch.name, await probe(ch)] as const));
      const results = Object.fromEntries(probed.map(([name, r]) => [name, typeof r === 'string' ? r : 'degraded']));
      const degraded = Object.fromEntries(probed.flatMap(([name, r]) => (typeof r === 'string' ? [] : [[name, r.degraded]])));
      const failing = Object.keys(results).filter((name) => results[name] !== 'ok');
      if (failing.length === 0) return c.json({ status: 'ready', checks: results });
      const what = failing.map((name) => `${name} ${results[name]}`).join(', ');
      return c.json({ ...errorBody('not_ready', `not ready: ${what}`, { failing, ...(Object.keys(degraded).length > 0 ? { degraded } : {}) }), checks: results }, 503);
    });
}
