import { describe, expect, it } from 'vitest';
import { perKeyQueue } from '../../../bots/serial.ts';

const later = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('perKeyQueue', () => {
  it('runs the tasks of one key in queue order even when an earlier one is slower, and other keys side by side', async () => {
    const run = perKeyQueue();
    const done: string[] = [];
    const task = (name: string, ms: number) => async () => {
      await later(ms);
      done.push(name);
      return name;
    };
    const results = await Promise.all([run('!a', task('a1', 30)), run('!a', task('a2', 1)), run('!b', task('b1', 5)), run('!a', task('a3', 1))]);
    expect(results).toEqual(['a1', 'a2', 'b1', 'a3']);
    expect(done.filter((n) => n.startsWith('a'))).toEqual(['a1', 'a2', 'a3']);
    expect(done.indexOf('b1')).toBeLessThan(done.indexOf('a1'));
  });

  it('goes on after a failed task and reports the failure to its caller only', async () => {
    const run = perKeyQueue();
    const failed = run('!a', async () => {
      throw new Error('boom');
    });
    const next = run('!a', async () => 'next');
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('next');
  });
});
