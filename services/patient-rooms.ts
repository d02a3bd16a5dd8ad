import { patientById } from '../db/conversations.ts';
import type { Db } from '../db/database.ts';
import { setPatientRoom } from '../db/patients.ts';

/** What the services need from the messenger to reach a patient: a direct room, and leaving it on erasure. */
export interface RoomOpener {
  /** Creates a direct room with the patient (one invitee, per TI-M) as their organisation's bot account and returns its id. */
  createDirectRoom(patient: { id: string; orgId: string; matrixUserId: string }): Promise<string>;
  /** Leaves a room and forgets it, so its history is gone from the bot's account. */
  leaveAndForget(roomId: string): Promise<void>;
}

export interface PatientRooms {
  /** The patient's direct room, created on first need; returns its id. */
  ensure(patientId: string): Promise<string>;
  forget(roomId: string): Promise<void>;
}

export function createPatientRooms(options: { db: Db; opener: RoomOpener }): PatientRooms {
  return {
    async ensure(patientId) {
      const patient = await patientById(options.db, patientId);
      if (!patient) throw new Error('no such patient');
      // Two callers at once may both create a room; the first one recorded wins (setPatientRoom).
      return patient.roomId ?? setPatientRoom(options.db, patient.id, await options.opener.createDirectRoom(patient));
    },
    forget: (roomId) => options.opener.leaveAndForget(roomId),
  };
}
