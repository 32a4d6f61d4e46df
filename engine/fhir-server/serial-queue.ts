/**
 * Runs async jobs one at a time, in arrival order.
 *
 * Medplum's MemoryRepository has no locking: a conditional create/update is "search, then write"
 * across several awaits, so two identical transactions started together both see "no match" and
 * both create (measured in-process: 20 concurrent identical transactions → 20 Patients). Over HTTP
 * it usually happens to come out right only because a whole transaction finishes inside one
 * event-loop turn. Serialising writes makes "conditional PUT is idempotent" a guarantee of the
 * test server instead of a timing accident, as a database unique index would on a real server.
 */
export type SerialQueue = <T>(job: () => Promise<T>) => Promise<T>;

export function createSerialQueue(): SerialQueue {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(job: () => Promise<T>): Promise<T> => {
    const run = tail.then(job, job);
    // The next job waits for this one to settle, whatever its outcome.
    tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  };
}
