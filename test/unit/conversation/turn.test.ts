import { describe, expect, it } from 'vitest';
import { beginCheckin, turn, type CheckinView, type PatientView } from '../../../core/conversation/turn.ts';
import { vocabulary } from '../../../core/conversation/vocabulary.ts';
import { loadFlowOrThrow } from '../../../core/flow/load.ts';
import { DEFAULT_FLOWS_DIR } from '../../../server/config.ts';

const flow = loadFlowOrThrow(`${DEFAULT_FLOWS_DIR}/post-op.yaml`);
const vocab = vocabulary();
const now = new Date('2026-03-02T08:00:00Z');
const patient = (over: Partial<PatientView> = {}): PatientView => ({ language: 'de', consent: 'given', monitoring: 'active', ...over });
const pending: CheckinView = { flow, status: 'pending', state: null };

function active(): CheckinView {
  const started = beginCheckin(patient(), pending, now);
  return { flow, status: 'active', state: started.checkin!.state };
}

const texts = (r: { replies: Array<{ text: string }> }) => r.replies.map((m) => m.text).join('\n');

describe('beginCheckin', () => {
  it('introduces the bot and asks for consent on first contact; the check-in waits', () => {
    const r = beginCheckin(patient({ consent: 'none' }), pending, now);
    expect(r.patient.consent).toBe('asked');
    expect(r.checkin?.status).toBe('pending');
    expect(r.replies.map((m) => m.kind)).toEqual(['intro', 'question']);
    expect(texts(r)).toMatch(/nicht für Notfälle/);
  });

  it('asks the first question when consent was given earlier', () => {
    const r = beginCheckin(patient(), pending, now);
    expect(r.checkin?.status).toBe('active');
    expect(texts(r)).toMatch(/Wie stark sind Ihre Schmerzen/);
  });

  it.each([{ monitoring: 'stopped' as const, consent: 'withdrawn' as const }, { consent: 'refused' as const }])(
    'cancels it for a patient who said no (%j)',
    (over) => {
      const r = beginCheckin(patient(over), pending, now);
      expect(r.checkin?.status).toBe('cancelled');
      expect(r.replies).toEqual([]);
    },
  );
});

describe('turn', () => {
  it('first contact without a check-in: introduction and consent question', () => {
    const r = turn(patient({ consent: 'none' }), null, { type: 'text', text: 'Hallo' }, vocab, now);
    expect(r.patient.consent).toBe('asked');
    expect(r.replies.map((m) => m.kind)).toEqual(['intro', 'question']);
  });

  it('consent yes starts the pending check-in; no cancels it and stores nothing', () => {
    const yes = turn(patient({ consent: 'asked' }), pending, { type: 'text', text: 'Ja' }, vocab, now);
    expect(yes.patient.consent).toBe('given');
    expect(yes.checkin?.status).toBe('active');
    expect(yes.events).toContainEqual({ type: 'consent_given' });
    const no = turn(patient({ consent: 'asked' }), pending, { type: 'text', text: 'nein' }, vocab, now);
    expect(no.patient.consent).toBe('refused');
    expect(no.checkin?.status).toBe('cancelled');
    expect(no.answers).toEqual([]);
    expect(no.events).toEqual([{ type: 'consent_refused' }]);
  });

  it('re-asks consent for anything else (a question for the team reaches it), and a photo before consent is not kept', () => {
    const r = turn(patient({ consent: 'asked' }), pending, { type: 'text', text: 'was heißt das?' }, vocab, now);
    expect(r.patient.consent).toBe('asked');
    expect(r.replies.map((m) => m.kind)).toEqual(['notice', 'reask']);
    expect(r.events).toEqual([{ type: 'patient_message', text: 'was heißt das?', severity: 'info', reason: 'consent' }]);
    const photo = turn(patient({ consent: 'asked' }), pending, { type: 'attachment', url: 'mxc://x/y', contentType: 'image/png', size: 3 }, vocab, now);
    expect(photo.attachment).toBe('discard');
  });

  it('a red flag is answered first, in any state, and the message goes no further', () => {
    for (const p of [patient({ consent: 'none' }), patient({ consent: 'asked' }), patient(), patient({ monitoring: 'stopped', consent: 'withdrawn' })]) {
      const r = turn(p, active(), { type: 'text', text: 'ich bekomme keine Luft' }, vocab, now);
      // The team sees the patient's own words and the question that was open.
      expect(r.events).toEqual([
        {
          type: 'red_flag',
          category: 'breathing',
          language: 'de',
          negated: false,
          text: 'ich bekomme keine Luft',
          evidence: 'bekomme keine Luft',
          itemId: 'pain',
        },
      ]);
      expect(texts(r)).toMatch(/112/);
      expect(r.answers).toEqual([]);
    }
  });

  it('a negated red flag is recorded for the team and the answer is still taken', () => {
    const c = active();
    const r = turn(patient(), c, { type: 'text', text: '3, keine Atemnot' }, vocab, now);
    expect(r.events[0]).toEqual({
      type: 'red_flag',
      category: 'breathing',
      language: 'de',
      negated: true,
      text: '3, keine Atemnot',
      evidence: 'Atemnot',
      itemId: 'pain',
    });
    expect(texts(r)).not.toMatch(/112/);
  });

  it('stop ends monitoring, cancels the check-in and withdraws consent; after that only a reminder how to restart', () => {
    const r = turn(patient(), active(), { type: 'text', text: 'Stopp' }, vocab, now);
    expect(r.patient).toEqual({ language: 'de', consent: 'withdrawn', monitoring: 'stopped' });
    expect(r.checkin?.status).toBe('cancelled');
    expect(r.events).toEqual([{ type: 'monitoring_stopped' }]);
    const later = turn(r.patient, null, { type: 'text', text: '5' }, vocab, now);
    expect(texts(later)).toMatch(/bereits beendet/);
    const restart = turn(r.patient, null, { type: 'text', text: 'start' }, vocab, now);
    expect(restart.patient).toMatchObject({ monitoring: 'active', consent: 'asked' });
  });

  it('a language name switches language and repeats the open question in it', () => {
    const r = turn(patient(), active(), { type: 'text', text: 'Polski' }, vocab, now);
    expect(r.patient.language).toBe('pl');
    expect(r.replies[0]?.lang).toBe('pl');
    expect(r.replies.at(-1)).toMatchObject({ kind: 'question', lang: 'pl', questionId: 'pain' });
  });

  it('a language switch while consent is open repeats the consent question in the new language', () => {
    const r = turn(patient({ consent: 'asked' }), pending, { type: 'text', text: 'English' }, vocab, now);
    expect(r.replies.map((m) => m.text)).toEqual(['All right, I will write in English from now on.', expect.stringMatching(/^Do you agree/)]);
  });

  it('with consent and a running check-in, answers go to the engine', () => {
    const r = turn(patient(), active(), { type: 'text', text: '4' }, vocab, now);
    expect(r.answers).toEqual([{ questionId: 'pain', value: { type: 'number', value: 4 }, at: now.toISOString(), channel: 'chat' }]);
    expect(r.checkin?.state?.current).toBe('temperature');
  });

  it('without a running check-in a message gets a friendly note', () => {
    const r = turn(patient(), null, { type: 'text', text: 'Mir geht es gut' }, vocab, now);
    expect(texts(r)).toMatch(/Gerade läuft keine Befragung/);
  });

  it('a photo outside a photo question is kept with the check-in (or the patient), rejected files get a reason', () => {
    const photo = { type: 'attachment' as const, url: 'mxc://x/y', contentType: 'image/jpeg', size: 10 };
    expect(turn(patient(), active(), photo, vocab, now).attachment).toBe('checkin');
    expect(turn(patient(), null, photo, vocab, now).attachment).toBe('patient');
    const big = turn(patient(), active(), { type: 'attachment-rejected', reason: 'too-large', max: '10 MB' }, vocab, now);
    expect(texts(big)).toMatch(/10 MB/);
    expect(texts(turn(patient(), active(), { type: 'unsupported' }, vocab, now))).toMatch(/Textnachricht/);
  });
});

describe('beginCheckin while the consent question is open', () => {
  it('waits silently instead of introducing the bot a second time', () => {
    const r = beginCheckin(patient({ consent: 'asked' }), pending, now);
    expect(r.checkin?.status).toBe('pending');
    expect(r.replies).toEqual([]);
  });
});

describe('no patient words dropped (issue #10)', () => {
  /** The post-op check-in with pain and temperature answered: the wound question is open. */
  function atWound(): CheckinView {
    let view = active();
    for (const text of ['3', '37,2']) {
      const r = turn(patient(), view, { type: 'text', text }, vocab, now);
      view = { flow, status: 'active', state: r.checkin!.state };
    }
    return view;
  }
  const kinds = (r: ReturnType<typeof turn>) => r.events.map((e) => (e.type === 'engine' ? e.event.type : e.type));

  it('an urgent statement beside an answer: 112 first, the answer still stored, the flow goes on', () => {
    const r = turn(patient(), active(), { type: 'text', text: '7, und ich blute stark aus der wunde' }, vocab, now);
    expect(r.answers).toEqual([expect.objectContaining({ questionId: 'pain', value: { type: 'number', value: 7 } })]);
    expect(r.events[0]).toMatchObject({ type: 'red_flag', category: 'bleeding', negated: false, evidence: expect.stringContaining('blute stark') });
    expect(r.replies[0]?.text).toMatch(/112/);
    expect(texts(r)).toMatch(/Körpertemperatur/);
  });

  it('an urgent message that is no answer: 112, nothing stored, the question stays open', () => {
    const r = turn(patient(), active(), { type: 'text', text: 'mir gehts nicht gut, die naht ist aufgeplatzt' }, vocab, now);
    expect(r.answers).toEqual([]);
    expect(r.events).toEqual([expect.objectContaining({ type: 'red_flag', category: 'wound' })]);
    expect(r.checkin?.state?.current).toBe('pain');
  });

  it("a number the question asked for is the flow's to judge; the words beside it are scanned", () => {
    const view = (() => {
      const r = turn(patient(), active(), { type: 'text', text: '3' }, vocab, now);
      return { flow, status: 'active' as const, state: r.checkin!.state };
    })();
    const plain = turn(patient(), view, { type: 'text', text: '39,8' }, vocab, now);
    expect(plain.events.filter((e) => e.type === 'red_flag')).toEqual([]);
    expect(plain.events).toContainEqual(
      expect.objectContaining({ type: 'engine', event: expect.objectContaining({ type: 'escalation', ruleId: 'fever-high' }) }),
    );
    const rigors = turn(patient(), view, { type: 'text', text: '39,8 und schüttelfrost, total durcheinander' }, vocab, now);
    expect(rigors.events[0]).toMatchObject({ type: 'red_flag', category: 'sepsis' });
    expect(rigors.answers).toEqual([expect.objectContaining({ questionId: 'temperature', value: { type: 'number', value: 39.8, unit: 'Cel' } })]);
  });

  it('words beside an answer that are more than small talk reach the team; small talk does not', () => {
    const noted = turn(patient(), active(), { type: 'text', text: '3, die Naht juckt und nässt ein wenig' }, vocab, now);
    expect(noted.answers).toHaveLength(1);
    expect(noted.events).toContainEqual({
      type: 'patient_message',
      text: '3, die Naht juckt und nässt ein wenig',
      severity: 'warning',
      reason: 'beside-answer',
      itemId: 'pain',
    });
    expect(noted.replies[0]?.text).toMatch(/Anmerkung gebe ich an Ihr Behandlungsteam weiter/);
    const thanks = turn(patient(), active(), { type: 'text', text: '3, danke' }, vocab, now);
    expect(kinds(thanks)).not.toContain('patient_message');
  });

  it('a message not understood reaches the team and the patient hears so before the question again', () => {
    const r = turn(patient(), atWound(), { type: 'text', text: 'das kann ich nicht sagen, der verband ist drauf' }, vocab, now);
    expect(r.events).toContainEqual(expect.objectContaining({ type: 'patient_message', reason: 'not-understood', itemId: 'wound' }));
    expect(r.replies.map((m) => m.kind)).toEqual(['notice', 'reask']);
    expect(r.replies[0]?.text).toMatch(/Behandlungsteam weiter/);
  });

  it('outside a check-in: a message reaches the team, thanks do not', () => {
    const r = turn(patient(), null, { type: 'text', text: 'Wann soll ich die Tabletten absetzen?' }, vocab, now);
    expect(r.events).toEqual([{ type: 'patient_message', text: 'Wann soll ich die Tabletten absetzen?', severity: 'info', reason: 'no-checkin' }]);
    expect(texts(r)).toMatch(/gebe Ihre Nachricht an Ihr Behandlungsteam weiter/);
    const thanks = turn(patient(), null, { type: 'text', text: 'Danke schön 🙂' }, vocab, now);
    expect(thanks.events).toEqual([]);
  });

  it('after stop, words for the team still reach it; nothing is stored', () => {
    const r = turn(patient({ monitoring: 'stopped', consent: 'withdrawn' }), null, { type: 'text', text: 'meine Mutter hat Fieber bekommen' }, vocab, now);
    expect(r.events).toEqual([expect.objectContaining({ type: 'patient_message', reason: 'stopped' })]);
    expect(r.answers).toEqual([]);
  });
});
