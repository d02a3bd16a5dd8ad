import { describe, expect, it } from 'vitest';
import { FailureLimiter } from '../../../server/api/auth.ts';

/** The failed-authentication limiter alone: per key, sliding window, bounded memory. */
describe('FailureLimiter', () => {
  it('blocks a key after `limit` failures within the window and forgets them after it', () => {
    const limiter = new FailureLimiter({ limit: 3, windowMs: 60_000 });
    for (let i = 0; i < 3; i++) {
      expect(limiter.blocked(['addr:10.0.0.1'], 1_000 + i)).toBe(false);
      limiter.fail(['addr:10.0.0.1'], 1_000 + i);
    }
    expect(limiter.blocked(['addr:10.0.0.1'], 2_000)).toBe(true);
    expect(limiter.blocked(['addr:10.0.0.2'], 2_000)).toBe(false);
    expect(limiter.blocked(['addr:10.0.0.1'], 62_000)).toBe(false);
  });

  it('counts every key of a failure (address and key prefix) and blocks when any one is over', () => {
    const limiter = new FailureLimiter({ limit: 2, windowMs: 60_000 });
    limiter.fail(['addr:a', 'key:0123456789ab'], 1);
    limiter.fail(['addr:b', 'key:0123456789ab'], 2);
    expect(limiter.blocked(['addr:c', 'key:0123456789ab'], 3)).toBe(true);
    expect(limiter.blocked(['addr:a'], 3)).toBe(false);
  });

  it('keeps at most `maxEntries` keys, evicting the least recently failed', () => {
    const limiter = new FailureLimiter({ limit: 2, windowMs: 60_000, maxEntries: 100 });
    for (let i = 0; i < 10_000; i++) limiter.fail([`addr:10.${i >> 8}.${i & 255}.1`], 1_000);
    expect(limiter.size).toBeLessThanOrEqual(100);
    limiter.fail(['addr:kept'], 1_000);
    limiter.fail(['addr:kept'], 1_001);
    expect(limiter.blocked(['addr:kept'], 1_002)).toBe(true);
  });

  it('drops addresses whose failures are all older than the window', () => {
    const limiter = new FailureLimiter({ limit: 5, windowMs: 60_000 });
    for (let i = 0; i < 50; i++) limiter.fail([`addr:${i}`], 1_000);
    expect(limiter.size).toBe(50);
    limiter.fail(['addr:new'], 120_000);
    expect(limiter.size).toBe(1);
  });

  it('keeps no more than `limit` timestamps per key, however many failures', () => {
    const limiter = new FailureLimiter({ limit: 3, windowMs: 60_000 });
    for (let i = 0; i < 100_000; i++) limiter.fail(['addr:busy'], 1_000 + (i % 1000));
    expect(limiter.entries('addr:busy')).toBeLessThanOrEqual(3);
  });
});
