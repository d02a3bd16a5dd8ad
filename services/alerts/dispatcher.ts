import type { Db } from '../../db/database.ts';
import { isCareTeamRoom } from '../../db/care-teams.ts';
import { errorFields, type Logger } from '../../core/logging.ts';
import type { FlowCatalog } from '../flows.ts';
import type { Wake } from '../signal.ts';
import { acknowledgeInRoom, type AckOutcome, type RoomAcknowledgement } from './acknowledge.ts';
import { deliverEscalations } from './deliver.ts';
import { forwardPhotos } from './photos.ts';
import { reescalate } from './reescalate.ts';

/**
 * The alert service: a loop that turns escalations into alerts, climbs the
 * chains of unacknowledged urgent ones and lets photos follow their alert,
 * each step one transaction; and acknowledgements from care-team rooms.
 */
export interface Alerts {
  runOnce(now?: Date): Promise<number>;
  stop(): Promise<void>;
  acknowledgeInRoom(roomId: string, ack: RoomAcknowledgement, now?: Date): Promise<AckOutcome>;
  isCareTeamRoom(roomId: string): Promise<boolean>;
}

export interface AlertOptions {
  db: Db;
  flows: FlowCatalog;
  logger: Logger;
  links: { readonly publicUrl: string };
  wake: Wake;
  dedupeWindowMs?: number;
  pollMs?: number;
}

export function startAlerts(options: AlertOptions): Alerts {
  const { db, wake } = options;
  const log = options.logger.child({ component: 'alerts' });
  const ctx = { flows: options.flows, links: options.links, dedupeWindowMs: options.dedupeWindowMs ?? 6 * 3_600_000, log };
  let running = true;
  let wakeUp: (() => void) | undefined;
  let kicked = false;
  const unsubscribe = wake.escalations.subscribe(() => {
    kicked = true;
    wakeUp?.();
  });

  async function runOnce(now = new Date()): Promise<number> {
    const delivered = await db.transaction((tx) => deliverEscalations(tx, ctx, now));
    const raised = await db.transaction((tx) => reescalate(tx, log, now));
    const photos = await db.transaction((tx) => forwardPhotos(tx, now));
    const total = delivered + raised + photos;
    if (total > 0) wake.outgoing.notify();
    return total;
  }

  const loop = (async () => {
    while (running) {
      let n = 0;
      kicked = false;
      try {
        n = await runOnce();
      } catch (error) {
        log.error('alert pass failed', errorFields(error));
      }
      if (n > 0 || kicked) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.pollMs ?? 1_000);
        wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeUp = undefined;
    }
  })();

  return {
    runOnce,
    async stop() {
      running = false;
      unsubscribe();
      wakeUp?.();
      await loop;
    },
    isCareTeamRoom: (roomId) => isCareTeamRoom(db, roomId),
    async acknowledgeInRoom(roomId, ack, now = new Date()) {
      const outcome = await db.transaction((tx) => acknowledgeInRoom(tx, roomId, ack, now));
      if (outcome !== 'not-an-alert') {
        wake.outgoing.notify();
        log.info('care-team event on an alert', { roomId, eventId: ack.eventId, outcome });
      }
      return outcome;
    },
  };
}
