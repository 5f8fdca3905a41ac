import { setTimeout as sleep } from "node:timers/promises";
import { ConflictError, UniqueViolationError, type Constraint } from "../core/errors.js";
import { backoffDelay, type BackoffSettings } from "../sync/backoff.js";

/** What retrying on conflicts counted during a run. */
export interface ConflictStats {
  conflicts: number;
  retries: number;
  byConstraint: Record<Constraint, number>;
}

export function newConflictStats(): ConflictStats {
  return { conflicts: 0, retries: 0, byConstraint: { system: 0, machine: 0, ip: 0 } };
}

/**
 * Runs `fn` until it does not hit a unique constraint, sleeping a jittered exponential backoff between tries.
 * A retried registration re-reads everything, so a conflict on the machine row becomes the existing row and one
 * on the address becomes the next address. After `maxAttempts` it gives up with `ConflictError`.
 */
export async function retryOnConflict<T>(fn: () => Promise<T>, settings: BackoffSettings, random: () => number, stats: ConflictStats): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!(error instanceof UniqueViolationError)) throw error;
      stats.conflicts++;
      stats.byConstraint[error.constraint]++;
      if (attempt >= settings.maxAttempts) throw new ConflictError(attempt, error.constraint);
      stats.retries++;
      await sleep(backoffDelay(attempt, settings, random));
    }
  }
}
