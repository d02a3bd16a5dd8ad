import { patientById } from '../db/conversations.ts';
import type { Db } from '../db/database.ts';
import { claimRoomOpening, releaseRoomOpening, setPatientRoom } from '../db/patients.ts';

/** What the services need from the messenger to reach a patient: a direct room, and leaving it on erasure. */
export interface RoomOpener {
  /** Creates a direct room with the patient (one invitee, per TI-M) as their organisation's bot account and returns its id. */
  createDirectRoom(patient: { id: string; orgId: string; matrixUserId: string }): Promise<string>;
  /** Leaves a room and forgets it, so its history is gone from the bot's account. */
  leaveAndForget(roomId: string): Promise<void>;
}

export interface PatientRooms {
  /** The patient's direct room, created on first need (waiting while another instance opens it); returns its id. */
  ensure(patientId: string): Promise<string>;
  /** Like ensure, but null at once when another caller is opening the room right now (the scheduler moves on). */
  tryEnsure(patientId: string): Promise<string | null>;
  forget(roomId: string): Promise<void>;
}

/** A room opening that gave no sign of life this long is taken over (room creation takes seconds at most). */
const STALE_CLAIM_MS = 120_000;
const WAIT_MS = 60_000;

export function createPatientRooms(options: { db: Db; opener: RoomOpener; waitMs?: number }): PatientRooms {
  /** The room, or null when another caller holds the opening; one opener per patient at a time. */
  async function attempt(patientId: string): Promise<string | null> {
    const patient = await patientById(options.db, patientId);
    if (!patient) throw new Error('no such patient');
    if (patient.roomId) return patient.roomId;
    if (!(await claimRoomOpening(options.db, patient.id, STALE_CLAIM_MS))) {
      // Someone else holds the claim, or recorded the room just now.
      return (await patientById(options.db, patientId))?.roomId ?? null;
    }
    try {
      return await setPatientRoom(options.db, patient.id, await options.opener.createDirectRoom(patient));
    } catch (error) {
      await releaseRoomOpening(options.db, patient.id).catch(() => {});
      throw error;
    }
  }

  return {
    async ensure(patientId) {
      const deadline = Date.now() + (options.waitMs ?? WAIT_MS);
      for (;;) {
        const roomId = await attempt(patientId);
        if (roomId) return roomId;
        if (Date.now() > deadline) throw new Error('the patient room is being opened elsewhere and is not there yet');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    tryEnsure: attempt,
    forget: (roomId) => options.opener.leaveAndForget(roomId),
  };
}
