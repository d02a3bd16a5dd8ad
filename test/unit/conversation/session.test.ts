import { describe, expect, it } from 'vitest';
import { lineToInput, Session, type SessionEvent } from '../../../core/conversation/session.ts';
import { NOW, shippedFlow } from '../helpers.ts';

const alerts = (events: SessionEvent[]) => events.flatMap((e) => (e.type === 'alert' ? [[e.event.ruleId, e.event.severity]] : []));
const bots = (events: SessionEvent[]) => events.flatMap((e) => (e.type === 'bot' ? [e.message] : []));

describe('trying a flow (CLI session)', () => {
  it('applies the chat bot red-flag check before the engine', () => {
    const s = new Session(shippedFlow('post-op'), { lang: 'de', now: NOW });
    s.start();
    const flagged = s.send({ type: 'text', text: 'Ich habe Brustschmerzen' });
    expect(alerts(flagged)).toEqual([['red-flag:chest_pain', 'urgent']]);
    expect(bots(flagged).map((m) => m.kind)).toEqual(['notice']);
    expect(bots(flagged)[0]?.text).toContain('112');
    expect(s.current?.current).toBe('pain'); // the engine did not see it
    // The team gets the patient's own words with the alert.
    expect(flagged.find((e) => e.type === 'alert')).toMatchObject({
      event: { values: { patientMessage: { type: 'text', value: 'Ich habe Brustschmerzen' } } },
    });
  });

  it('passes a negated mention to the engine and warns the team', () => {
    const s = new Session(shippedFlow('post-op'), { lang: 'de', now: NOW });
    s.start();
    for (const t of ['3', '37', '1', '1', '1', 'ja']) s.send({ type: 'text', text: t });
    const last = s.send({ type: 'text', text: 'keine Atemnot' });
    expect(alerts(last)).toEqual([['red-flag:breathing', 'warning']]);
    expect(s.current?.answers.comments?.value).toEqual({ type: 'text', value: 'keine Atemnot' });
    const done = last.find((e) => e.type === 'done');
    expect(done?.type === 'done' && done.observations.length).toBeGreaterThan(0);
  });

  it('gives distinct timestamps and builds FHIR once at completion', () => {
    const s = new Session(shippedFlow('medication-change'), { lang: 'en', now: NOW, secondsPerMessage: 60, subject: 'Patient/7', responseId: 'abc' });
    s.start();
    const events = ['1', '1', 'no', 'no', '1', 'no'].flatMap((t) => s.send({ type: 'text', text: t }));
    const done = events.filter((e) => e.type === 'done');
    expect(done).toHaveLength(1);
    if (done[0]?.type !== 'done') return;
    expect(done[0].questionnaireResponse).toMatchObject({ id: 'abc', subject: { reference: 'Patient/7' } });
    expect(s.current?.answers.intake?.at).toBe('2026-01-15T08:01:00.000Z');
  });

  it("runs the bot's conversation policy: a language switch and a stop work as in the chat", () => {
    const s = new Session(shippedFlow('post-op'), { lang: 'de', now: NOW });
    s.start();
    const switched = s.send(lineToInput('/lang en')!);
    expect(bots(switched).at(-1)?.lang).toBe('en');
    expect(s.current?.lang).toBe('en');
    const stopped = s.send(lineToInput('stop')!);
    expect(alerts(stopped)).toEqual([['monitoring_stopped', 'info']]);
    expect(s.send(lineToInput('3')!).some((e) => e.type === 'done')).toBe(false);
  });

  it('shows what the team would get: an urgent red flag beside an answer, and words it forwards', () => {
    const s = new Session(shippedFlow('post-op'), { lang: 'de', now: NOW });
    s.start();
    const bleeding = s.send({ type: 'text', text: '7, und ich blute stark aus der wunde' });
    expect(alerts(bleeding)).toEqual([
      ['red-flag:bleeding', 'urgent'],
      ['pain-severe', 'warning'],
    ]);
    expect(s.current?.answers.pain?.value).toEqual({ type: 'number', value: 7 });
    const unclear = s.send({ type: 'text', text: 'das weiß ich nicht genau, habe kein thermometer' });
    expect(alerts(unclear)).toEqual([['patient-message', 'info']]);
    expect(unclear.find((e) => e.type === 'alert')).toMatchObject({
      event: { values: { patientMessage: { type: 'text', value: 'das weiß ich nicht genau, habe kein thermometer' } } },
    });
  });

  it('maps answer-file lines to inputs', () => {
    expect(lineToInput('38,5')).toEqual({ type: 'text', text: '38,5' });
    expect(lineToInput('/photo')).toEqual({ type: 'attachment', url: 'mxc://example.org/photo', contentType: 'image/jpeg', size: 0 });
    expect(lineToInput('/photo mxc://h/x image/png')).toEqual({ type: 'attachment', url: 'mxc://h/x', contentType: 'image/png', size: 0 });
    // Language switches are chat commands, as in the bot.
    expect(lineToInput('/lang tr')).toEqual({ type: 'text', text: '/lang tr' });
    expect(lineToInput('/react 👍')).toEqual({ type: 'reaction', emoji: '👍' });
    expect(lineToInput('/edit 37,5')).toEqual({ type: 'correction', text: '37,5' });
  });
});
