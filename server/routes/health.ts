import { Hono } from 'hono';
import { errorBody } from '../errors.ts';

/**
 * A dependency the service needs to do its work; `check` rejects when it is
 * unusable (503). A DegradedError (e.g. care-team rooms that refuse alerts)
 * reports the check as `degraded` with what is failing: the instance still
 * serves (200, `status: "degraded"`), and the operator sees what to fix.
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
export function healthRoutes(checks: readonly ReadinessCheck[], details?: () => Promise<Record<string, unknown>>): Hono {
  return new Hono()
    .get('/healthz', (c) => c.json({ status: 'alive' }))
    .get('/readyz', async (c) => {
      const [probed, extra] = await Promise.all([
        Promise.all(checks.map(async (ch) => [ch.name, await probe(ch)] as const)),
        // What this instance runs (bot accounts, leases): information, never a reason to be unready.
        details ? details().catch(() => ({})) : Promise.resolve({}),
      ]);
      const results = Object.fromEntries(probed.map(([name, r]) => [name, typeof r === 'string' ? r : 'degraded']));
      const degraded = Object.fromEntries(probed.flatMap(([name, r]) => (typeof r === 'string' ? [] : [[name, r.degraded]])));
      const failing = Object.keys(results).filter((name) => results[name] === 'unreachable');
      if (failing.length === 0) {
        // Degraded is still ready (the API serves; taking the instance out would not help), but says what is wrong.
        if (Object.keys(degraded).length > 0) return c.json({ status: 'degraded', checks: results, degraded, ...extra });
        return c.json({ status: 'ready', checks: results, ...extra });
      }
      return c.json(
        {
          ...errorBody('not_ready', `not ready: ${failing.join(', ')} unreachable`, { failing, ...(Object.keys(degraded).length > 0 ? { degraded } : {}) }),
          checks: results,
          ...extra,
        },
        503,
      );
    });
}
