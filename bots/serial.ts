/**
 * Runs tasks one after another per key, in the order they were queued.
 * matrix-bot-sdk emits the events of a sync batch without awaiting their
 * handlers, so two messages a patient sent back to back ("3", then "37,5")
 * would otherwise race for the patient's row and could be taken in the wrong
 * order. Different rooms still run side by side.
 */
export function perKeyQueue() {
  const tails = new Map<string, Promise<unknown>>();
  return function run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => {});
    tails.set(key, tail);
    // Forget the room once its queue is empty, so the map does not grow with every room ever seen.
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return result;
  };
}

/**
 * At most `concurrency` tasks at once, the others wait in order (room creation per bot
 * account: homeservers rate-limit it, and a morning burst would otherwise open hundreds at once).
 */
export function limiter(concurrency: number) {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async function limited<T>(task: () => Promise<T>): Promise<T> {
    if (active >= concurrency) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}
