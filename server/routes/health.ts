import { Hono } from 'hono';
import { errorBody } from '../errors.ts';

/** A dependency the service needs to do its work; `check` rejects when it is unusable. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

const CHECK_TIMEOUT_MS = 2_000;

async function probe(check: ReadinessCheck): Promise<'ok' | 'unreachable'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([check.check(), timeout]);
    return 'ok';
  } catch {
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
      const results = Object.fromEntries(await Promise.all(checks.map(async (ch) => [ch.name, await probe(ch)] as const)));
      const failing = Object.keys(results).filter((name) => results[name] !== 'ok');
      if (failing.length === 0) return c.json({ status: 'ready', checks: results });
      return c.json({ ...errorBody('not_ready', `not ready: ${failing.join(', ')} unreachable`, { failing }), checks: results }, 503);
    });
}
