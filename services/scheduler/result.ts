/** What one scheduler pass did (metrics, logs, tests). */
export interface PassResult {
  started: number;
  skipped: number;
  cancelled: number;
  postponed: number;
  reminded: number;
  expired: number;
  /** Forms (TI-M) nobody answered in time: the chat took over. */
  formsFellBack: number;
  /** Failed attempts in this pass (the rows stay as they were and are retried by the next pass). */
  failed: number;
  /** Largest delay between a started row's due time and its start, in ms. */
  maxLagMs: number;
}

export const emptyResult = (): PassResult => ({
  started: 0,
  skipped: 0,
  cancelled: 0,
  postponed: 0,
  reminded: 0,
  expired: 0,
  formsFellBack: 0,
  failed: 0,
  maxLagMs: 0,
});

export function addResult(into: PassResult, from: PassResult): void {
  into.started += from.started;
  into.skipped += from.skipped;
  into.cancelled += from.cancelled;
  into.postponed += from.postponed;
  into.reminded += from.reminded;
  into.expired += from.expired;
  into.formsFellBack += from.formsFellBack;
  into.failed += from.failed;
  into.maxLagMs = Math.max(into.maxLagMs, from.maxLagMs);
}

/** Patients are locked in one global order, so batches of two instances cannot deadlock. */
export function sortByPatient<T extends { patientId: string }>(rows: T[], then: (a: T, b: T) => number = () => 0): T[] {
  return rows.sort((a, b) => (a.patientId < b.patientId ? -1 : a.patientId > b.patientId ? 1 : then(a, b)));
}
