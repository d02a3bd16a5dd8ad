import type { Language } from '../../core/language.ts';
import type { Database } from '../../db/database.ts';
import { createOrganisation } from '../../db/organisations.ts';
import { enrollPatient } from '../../db/patients.ts';
import { careTeamMembers, careTeams, clinicians, enrollments } from '../../db/schema.ts';
import { PatientChat } from './chat.ts';
import { newUser, type RunningVisite } from './visite.ts';

/**
 * An organisation with one clinician who opens a care-team room and invites
 * the bot, and a consenting patient enrolled with that team whose post-op
 * check-in is running (the pain question is open).
 */
export async function careTeamPatient(
  suite: { running: RunningVisite; database: Database },
  names: { org: string; doctor: string; doctorName: string; patientName: string; room: string; language?: Extract<Language, 'de' | 'en'> },
) {
  const bot = suite.running.botUser.userId;
  const org = await createOrganisation(suite.database.db, { name: names.org });
  const { user: doctor, client: doctorClient } = await newUser(names.doctor);
  const [clinician] = await suite.database.db
    .insert(clinicians)
    .values({ orgId: org.id, matrixUserId: doctor.userId, displayName: names.doctorName, roles: ['clinician'] })
    .returning();
  const { room_id: teamRoom } = await doctorClient.request<{ room_id: string }>('POST', '/createRoom', {
    preset: 'private_chat',
    name: names.room,
    invite: [bot],
  });
  await doctorClient.waitForJoin(teamRoom, bot);
  const [team] = await suite.database.db.insert(careTeams).values({ orgId: org.id, name: names.room, roomId: teamRoom, language: 'de' }).returning();
  await suite.database.db.insert(careTeamMembers).values({ careTeamId: team!.id, clinicianId: clinician!.id });

  const { user, client } = await newUser('patient');
  const patient = await enrollPatient(suite.database.db, {
    orgId: org.id,
    matrixUserId: user.userId,
    language: names.language ?? 'de',
    displayName: names.patientName,
  });
  await suite.database.db
    .insert(enrollments)
    .values({ orgId: org.id, patientId: patient.id, flowId: 'post-op', anchorDate: '2026-11-27', careTeamId: team!.id });
  await suite.running.visite.startCheckin(patient, 'post-op');
  const chat = new PatientChat(client, await client.acceptInviteFrom(bot), bot);
  const english = names.language === 'en';
  await chat.expectBot(english ? /Do you agree/ : /einverstanden/);
  await chat.say(english ? 'yes' : 'ja', english ? /How strong is your pain/ : /Wie stark sind Ihre Schmerzen/);
  return {
    bot,
    org,
    doctor,
    doctorClient,
    teamRoom,
    team: team!,
    patient,
    patientClient: client,
    chat,
    teamView: new PatientChat(doctorClient, teamRoom, bot),
  };
}
