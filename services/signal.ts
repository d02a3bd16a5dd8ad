/**
 * A wake-up call between services and the loops that deliver their work: a
 * service that committed outbox rows or escalations notifies; the outbox
 * sender or the alert dispatcher, built later, subscribes. Built first in the
 * composition root, so nothing needs a late-bound closure.
 */
export interface Signal {
  notify(): void;
  subscribe(listener: () => void): () => void;
}

export function createSignal(): Signal {
  const listeners = new Set<() => void>();
  return {
    notify() {
      for (const listener of listeners) listener();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** What services announce after their transaction committed. */
export interface Wake {
  /** Outbox rows are waiting to be sent. */
  readonly outgoing: Signal;
  /** Escalations are waiting to be delivered as alerts. */
  readonly escalations: Signal;
}

export function createWake(): Wake {
  return { outgoing: createSignal(), escalations: createSignal() };
}
