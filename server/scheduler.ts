import cron, { type ScheduledTask } from 'node-cron';
import { schedulerPass, type SchedulerPassOptions } from '../services/scheduler/pass.ts';
import type { PassResult } from '../services/scheduler/result.ts';
import { errorFields } from './logger.ts';

/**
 * The scheduler's clock: node-cron ticks run one pass each
 * (services/scheduler/pass.ts; decisions in core/scheduling.ts, queries in
 * db/schedule.ts; docs/scheduling.md). Passes are safe on any number of
 * instances: every row is claimed with FOR UPDATE SKIP LOCKED.
 */

export const DEFAULT_SCHEDULER_CRON = '* * * * *';

export type { PassResult };

export interface SchedulerOptions extends SchedulerPassOptions {
  /** node-cron expression (VISITE_SCHEDULER_CRON); false: no ticks, only `runOnce` (tests, bench). */
  cron: string | false;
  /** Run one pass right away (default true). */
  runAtStart?: boolean;
  /** Called after each pass (metrics). */
  onPass?: (result: PassResult) => void;
}

export interface Scheduler {
  /** One full pass at `now` (default: the current time). Safe to run on several instances at once. */
  runOnce(now?: Date): Promise<PassResult>;
  /** Stops ticking and waits for running passes. */
  stop(): Promise<void>;
}

export function startScheduler(options: SchedulerOptions): Scheduler {
  const pass = schedulerPass(options);
  const log = options.logger.child({ component: 'scheduler' });
  const running = new Set<Promise<unknown>>();
  let stopped = false;

  function track<T>(promise: Promise<T>): Promise<T> {
    running.add(promise);
    void promise.finally(() => running.delete(promise)).catch(() => {});
    return promise;
  }

  const runOnce = (now: Date = new Date()) =>
    track(
      pass(now, () => stopped).then((result) => {
        options.onPass?.(result);
        return result;
      }),
    );

  let task: ScheduledTask | undefined;
  if (options.cron !== false) {
    if (!cron.validate(options.cron)) throw new Error(`invalid scheduler cron expression "${options.cron}"`);
    task = cron.schedule(
      options.cron,
      async () => {
        try {
          await runOnce();
        } catch (error) {
          log.error('scheduler pass failed', errorFields(error));
        }
      },
      {
        name: 'visite-scheduler',
        noOverlap: true,
        // node-cron's own notices (missed or overlapping ticks) go to the app log, without error texts.
        logger: {
          info: () => {},
          debug: () => {},
          warn: (message) =>
            log.warn('scheduler tick', {
              notice: message.startsWith('task still running') ? 'overlap' : message.startsWith('missed execution') ? 'missed' : 'other',
            }),
          error: (message) => log.error('scheduler tick failed', message instanceof Error ? errorFields(message) : {}),
        },
      },
    );
  }
  if (options.runAtStart ?? true) {
    runOnce().catch((error: unknown) => log.error('scheduler pass failed', errorFields(error)));
  }

  return {
    runOnce,
    async stop() {
      stopped = true;
      if (task) await task.destroy();
      await Promise.allSettled([...running]);
    },
  };
}
