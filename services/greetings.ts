import { translator } from '../core/i18n.ts';
import { isRightToLeft, type Language } from '../core/language.ts';
import type { Db } from '../db/database.ts';
import { claimInboundEvent } from '../db/inbound-events.ts';
import { enqueue } from '../db/outbox.ts';
import type { Wake } from './signal.ts';

/**
 * Outside patient rooms (a clinician trying the bot in a direct chat) the bot
 * only answers greetings: the claim and the answer are one transaction, so a
 * greeting is answered once, whatever happens in between.
 */
export interface Greetings {
  answer(event: { roomId: string; eventId: string; language: Language }): Promise<boolean>;
}

export function createGreetings(options: { db: Db; wake: Wake; afterClaim?: (eventId: string) => void | Promise<void> }): Greetings {
  return {
    async answer({ roomId, eventId, language }) {
      const answered = await options.db.transaction(async (tx) => {
        if (!(await claimInboundEvent(tx, { eventId, roomId, kind: 'greeting' }))) return false;
        await options.afterClaim?.(eventId);
        const message = { kind: 'intro' as const, text: translator(language)('greeting.reply'), lang: language, rtl: isRightToLeft(language) };
        await enqueue(tx, roomId, [{ type: 'bot', message }]);
        return true;
      });
      if (answered) options.wake.outgoing.notify();
      return answered;
    },
  };
}
