import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { answers, checkins, escalations } from '../../db/schema.ts';
import { careTeamPatient } from '../harness/care-team.ts';
import { eventually } from '../harness/process.ts';
import { visiteSuite } from '../harness/visite.ts';

/**
 * Red flags a nurse would catch, and no patient's words lost, end to end: the
 * patient is matrix-js-sdk with its own crypto in an encrypted room, the care
 * team a clinician's client in the team room, Visite on the real Synapse and
 * Postgres. The messages are the examples of what went unnoticed.
 */
const suite = visiteSuite();

const answersOf = async (checkinId: string) => suite.database.db.select().from(answers).where(eq(answers.checkinId, checkinId));
const openCheckinOf = async (patientId: string) => (await suite.database.db.select().from(checkins).where(eq(checkins.patientId, patientId)))[0]!;

describe('red flags in patient messages', () => {
  it('"7, und ich blute stark aus der wunde": an urgent alert with the patient\'s words and what matched, and the 7 is stored', async () => {
    const { patient, chat, teamView } = await careTeamPatient(suite, {
      org: 'Klinik Blutung',
      doctor: 'dr.rot',
      doctorName: 'Dr. Rot',
      patientName: 'Ida Blut',
      room: 'Station B',
    });
    const reply = await chat.say('7, und ich blute stark aus der wunde', /112/);
    expect(reply.content['body']).not.toMatch(/benachrichtigt/);
    const alert = await teamView.expectBot(/DRINGEND · Ida Blut/);
    expect(alert.content['body']).toMatch(/starke Blutung/); // the concept
    expect(alert.content['body']).toMatch(/Erkannt an: «blute stark/); // the words that matched
    expect(alert.content['body']).toMatch(/Wortlaut: «7, und ich blute stark aus der wunde»/); // the patient's own words
    // The answer beside it is taken, and the check-in goes on.
    await chat.expectBot(/Körpertemperatur/);
    const checkin = await openCheckinOf(patient.id);
    expect((await answersOf(checkin.id)).map((a) => [a.questionId, a.value])).toEqual([['pain', { type: 'number', value: 7 }]]);
    // Only after the alert was accepted does the patient hear that the team has it.
    await chat.expectBot(/bei Ihrem Behandlungsteam angekommen/);
  });

  it.each([
    ['de', 'mir gehts nicht gut, die naht ist aufgeplatzt', /Wundkomplikation/],
    ['de', 'mein mann ist nicht wach zu kriegen', /Bewusstlosigkeit/],
    ['de', 'wade links dick geschwollen, heiß und tut beim auftreten weh', /Thrombose/],
    ['de', 'fieber 39,8, schüttelfrost und ich bin total durcheinander', /Sepsis/],
    // English-speaking patients of a German-speaking team: the alert is in the team's language.
    ['en', 'threw up blood this morning', /starke Blutung/],
    ['en', 'on xarelto and peeing blood', /starke Blutung/],
    ['en', 'honestly theres no point living anymore', /Suizidgedanken/],
    ['en', 'throat feels like its closing up after the new antibiotic', /allergische Reaktion/],
  ] as const)('[%s] "%s" reaches the team as an urgent alert', async (language, text, concept) => {
    const { chat, teamView } = await careTeamPatient(suite, {
      org: `Klinik ${language} ${text.slice(0, 12)}`,
      doctor: 'dr.flag',
      doctorName: 'Dr. Flag',
      patientName: 'Pat Flag',
      room: 'Station F',
      language,
    });
    await chat.say(text, /112/);
    const alert = await teamView.expectBot(/DRINGEND · Pat Flag/);
    expect(alert.content['body']).toMatch(concept);
    expect(alert.content['body']).toContain(`«${text}»`);
  });
});

describe('no patient words dropped', () => {
  it('messages the bot does not understand reach the team as one batched alert, and the patient is told', async () => {
    const { patient, chat, teamView } = await careTeamPatient(suite, {
      org: 'Klinik Worte',
      doctor: 'dr.wort',
      doctorName: 'Dr. Wort',
      patientName: 'Uwe Wort',
      room: 'Station W',
    });
    const told = await chat.say('keine ahnung, der arzt meinte das wird schon', /Behandlungsteam weiter/);
    expect(told.content['msgtype']).toBe('m.text');
    const first = await teamView.expectBot(/Info · Uwe Wort/);
    expect(first.content['body']).toMatch(/«keine ahnung, der arzt meinte das wird schon»/);
    // A second message within the half hour: the same alert grows (an edit), no second alert.
    await chat.say('kann ich morgen duschen?', /Behandlungsteam weiter/);
    const edit = await teamView.expectBot(/kann ich morgen duschen/);
    expect(edit.content['m.relates_to']).toEqual({ rel_type: 'm.replace', event_id: first.event_id });
    expect(String(edit.content['body'])).toMatch(/keine ahnung[\s\S]*kann ich morgen duschen/);
    const rows = await eventually(
      async () => {
        const all = await suite.database.db.select().from(escalations).where(eq(escalations.patientId, patient.id));
        return all.length === 2 ? all : undefined;
      },
      10_000,
      'two batched escalations',
    );
    expect(rows.map((e) => [e.kind, e.ruleId, e.dedupeOf === null])).toEqual(
      expect.arrayContaining([
        ['patient_message', 'patient-message', true],
        ['patient_message', 'patient-message', false],
      ]),
    );
    // The question is still open and gets its answer.
    await chat.say('2', /Körpertemperatur/);
  });
});
