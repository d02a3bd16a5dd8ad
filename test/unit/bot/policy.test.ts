import { describe, expect, it } from 'vitest';
import { isActionable, isInviterAllowed, START_SKEW_MS } from '../../../bots/policy.ts';

describe('isInviterAllowed', () => {
  const list = ['@dr.berg:klinik.de', '@*:praxis.example'];
  it.each([
    ['@dr.berg:klinik.de', true],
    ['@dr.bergmann:klinik.de', false],
    ['@anyone:praxis.example', true],
    ['@anyone:evil-praxis.example', false],
    ['@anyone:praxis.example.evil', false],
  ])('%s → %s', (user, allowed) => {
    expect(isInviterAllowed(user, list)).toBe(allowed);
  });
  it('allows nobody with an empty list', () => {
    expect(isInviterAllowed('@dr.berg:klinik.de', [])).toBe(false);
  });
});

describe('isActionable', () => {
  const bot = '@visite:klinik.de';
  const start = 1_000_000;
  it("drops the bot's own events", () => {
    expect(isActionable({ sender: bot, origin_server_ts: start + 10 }, bot, start)).toBe(false);
  });
  it('drops events from before the start, beyond the clock-skew tolerance', () => {
    expect(isActionable({ sender: '@p:klinik.de', origin_server_ts: start - START_SKEW_MS - 1 }, bot, start)).toBe(false);
  });
  it('keeps fresh events from others, including ones within the skew tolerance', () => {
    expect(isActionable({ sender: '@p:klinik.de', origin_server_ts: start + 1 }, bot, start)).toBe(true);
    expect(isActionable({ sender: '@p:klinik.de', origin_server_ts: start - START_SKEW_MS + 1 }, bot, start)).toBe(true);
  });
});
