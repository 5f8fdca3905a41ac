import { setTimeout as sleep } from "node:timers/promises";
import { ConflictError, TransactionConflictError, UniqueViolationError, type ConflictCause } from "../core/errors.js";
import { backoffDelay, type BackoffSettings } from "../sync/backoff.js";

/** What retrying on conflicts counted during a run, by cause: each unique constraint, deadlocks, serialization failures. */
export interface ConflictStats {
  conflicts: number;
  retries: number;
  byCause: Record<ConflictCause, number>;
}

export function newConflictStats(): ConflictStats {
  return { conflicts: 0, retries: 0, byCause: { system: 0, machine: 0, ip: 0, deadlock: 0, serialization: 0, "lock-wait-timeout": 0 } };
}

/**
 * Runs `fn` until it hits neither a unique constraint nor a transaction conflict (a deadlock, a serialization
 * failure), sleeping a jittered exponential backoff between tries. A retried registration re-reads everything, so a
 * conflict on the machine row becomes the existing row and one on the address becomes the next address. After
 * `maxAttempts` it gives up with `ConflictError`.
 */
export async function retryOnConflict<T>(fn: () => Promise<T>, settings: BackoffSettings, random: () => number, stats: ConflictStats): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const cause: ConflictCause | undefined =
        error instanceof UniqueViolationError ? error.constraint : error instanceof TransactionConflictError ? error.reason : undefined;
      if (cause === undefined) throw error;
      stats.conflicts++;
      stats.byCause[cause]++;
      if (attempt >= settings.maxAttempts) throw new ConflictError(attempt, cause);
      stats.retries++;
      await sleep(backoffDelay(attempt, settings, random));
    }
  }
}
