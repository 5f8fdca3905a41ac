import type { Lease } from "./redisLock.js";
import { LockLostError } from "../core/errors.js";

interface Member {
  readonly fn: (lease: Lease) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

interface Batch {
  readonly members: Member[];
}

/**
 * One lock acquisition per batch of critical sections instead of one per section: the registrations of this
 * process that want the same key while its lock is being acquired join that acquisition and run one after another
 * under it. Every section still runs under the held distributed lock, so exclusion is unchanged; the round trips
 * of acquiring and releasing are paid once per batch. Sections arriving while a batch runs form the next batch,
 * whose leader polls Redis on its own — it is not queued behind the running batch, so a batch whose lock expired
 * is overtaken exactly as a single holder would be. Results are handed out after the release, so that a lock found
 * lost at release fails every section that finished after the lock's validity ran out.
 */
export class LockBatches {
  private readonly forming = new Map<string, Batch>();
  readonly stats = { batches: 0, largest: 0 };

  constructor(
    private readonly acquire: (key: string) => Promise<Lease>,
    private readonly maxBatch: number,
  ) {}

  run<T>(key: string, fn: (lease: Lease) => Promise<T>): Promise<T> {
    let batch = this.forming.get(key);
    if (!batch || batch.members.length >= this.maxBatch) {
      batch = { members: [] };
      this.forming.set(key, batch);
      void this.lead(key, batch);
    }
    const members = batch.members;
    return new Promise<T>((resolve, reject) => members.push({ fn, resolve: resolve as (v: unknown) => void, reject }));
  }

  private async lead(key: string, batch: Batch): Promise<void> {
    let lease: Lease;
    try {
      lease = await this.acquire(key);
    } catch (error) {
      this.close(key, batch);
      for (const m of batch.members) m.reject(error);
      return;
    }
    this.close(key, batch);
    this.stats.batches++;
    this.stats.largest = Math.max(this.stats.largest, batch.members.length);
    const outcomes: { ok: boolean; value: unknown; finished: number }[] = [];
    for (const member of batch.members) {
      try {
        const value = await member.fn(lease);
        outcomes.push({ ok: true, value, finished: performance.now() });
      } catch (error) {
        outcomes.push({ ok: false, value: error, finished: performance.now() });
      }
    }
    let releaseError: unknown;
    try {
      await lease.release();
    } catch (error) {
      releaseError = error;
    }
    // A section that finished while the lock was still valid was protected even if the lock was lost later;
    // one that finished after may have written beside another holder, and fails.
    const validUntil = lease.validUntil();
    batch.members.forEach((member, i) => {
      const outcome = outcomes[i]!;
      if (!outcome.ok) member.reject(outcome.value);
      else if (releaseError instanceof LockLostError && outcome.finished <= validUntil) member.resolve(outcome.value);
      else if (releaseError !== undefined) member.reject(releaseError);
      else member.resolve(outcome.value);
    });
  }

  private close(key: string, batch: Batch): void {
    if (this.forming.get(key) === batch) this.forming.delete(key);
  }
}
