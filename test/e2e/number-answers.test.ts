import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { Language } from '../../core/language.ts';
import { createOrganisation } from '../../db/organisations.ts';
import { answers, checkins, patients } from '../../db/schema.ts';
import { PatientChat } from '../harness/chat.ts';
import { newUser, visiteSuite } from '../harness/visite.ts';

/**
 * Never a wrong value, end to end: numbers written in words, units and "none"
 * answers from a matrix-js-sdk patient in an encrypted room, stored as the
 * patient meant them or asked again — never as a fragment.
 */
const suite = visiteSuite();

async function consentedPatient(language: Language) {
  const org = await createOrganisation(suite.database.db, { name: `Klinik Zahlen ${language}` });
  const { user, client } = await newUser('patient');
  const patient = await suite.running.visite.enroll({ orgId: org.id, matrixUserId: user.userId, language });
  // Consent was given earlier (the consent dialogue is tested elsewhere): the first question comes at once.
  await suite.database.db.update(patients).set({ consent: 'given' }).where(eq(patients.id, patient.id));
  const started = await suite.running.visite.startCheckin(patient, 'post-op');
  const chat = new PatientChat(client, await client.acceptInviteFrom(suite.running.botUser.userId), suite.running.botUser.userId);
  return { chat, checkinId: started.checkinId };
}

const stored = async (checkinId: string) =>
  Object.fromEntries((await suite.database.db.select().from(answers).where(eq(answers.checkinId, checkinId))).map((a) => [a.questionId, a.value]));

describe('numbers as patients write them', () => {
  it('[ru] "двадцать пять" to the pain scale is asked again, never stored as 5', async () => {
    const { chat, checkinId } = await consentedPatient('ru');
    await chat.expectBot(/от 0 до 10/);
    await chat.say('двадцать пять', /от 0 до 10/);
    expect(await stored(checkinId)).toEqual({});
    await chat.say('пять', /температур/i);
    expect(await stored(checkinId)).toEqual({ pain: { type: 'number', value: 5 } });
  });

  it('[uk] "тридцять вісім" to the temperature question is 38', async () => {
    const { chat, checkinId } = await consentedPatient('uk');
    await chat.expectBot(/від 0 до 10/);
    await chat.say('нуль', /температур/i);
    await chat.say('тридцять вісім', /рана|рану/i);
    expect((await stored(checkinId))['temperature']).toEqual({ type: 'number', value: 38, unit: 'Cel' });
  });

  it('[de] "keine Schmerzen" is 0, "achtunddreißig komma fünf" is 38.5 and 101 °F is 38.3 °C', async () => {
    const first = await consentedPatient('de');
    await first.chat.expectBot(/Wie stark sind Ihre Schmerzen/);
    await first.chat.say('keine Schmerzen', /Körpertemperatur/);
    await first.chat.say('achtunddreißig komma fünf', /Wunde/);
    expect(await stored(first.checkinId)).toEqual({ pain: { type: 'number', value: 0 }, temperature: { type: 'number', value: 38.5, unit: 'Cel' } });

    const second = await consentedPatient('de');
    await second.chat.expectBot(/Wie stark sind Ihre Schmerzen/);
    await second.chat.say('1', /Körpertemperatur/);
    await second.chat.say('101 °F', /Wunde/);
    expect((await stored(second.checkinId))['temperature']).toEqual({ type: 'number', value: 38.3, unit: 'Cel' });
    const [row] = await suite.database.db.select().from(checkins).where(eq(checkins.id, second.checkinId));
    expect(row?.status).toBe('active');
  });
});
