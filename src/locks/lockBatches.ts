import type { Lease } from "./lease.js";

/** Called by a critical section as each of its writes commits. */
export type WriteMark = () => void;

interface Member {
  readonly fn: (lease: Lease, written: WriteMark) => Promise<unknown>;
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
 * is overtaken exactly as a single holder would be. Results are handed out after the release: when the release
 * fails (the lock was found lost, or Redis did not answer), a section whose writes all committed while the lock was
 * still valid keeps its result — those rows were written under the lock — and one that wrote after the validity ran
 * out fails (its rows may stand beside another holder's; the audit counts them as unacknowledged).
 */
export class LockBatches {
  private readonly forming = new Map<string, Batch>();
  readonly stats = { batches: 0, largest: 0 };

  constructor(
    private readonly acquire: (key: string) => Promise<Lease>,
    private readonly maxBatch: number,
  ) {}

  run<T>(key: string, fn: (lease: Lease, written: WriteMark) => Promise<T>): Promise<T> {
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
    // When each section's last write committed (undefined: it wrote nothing, e.g. it found its row).
    const outcomes: { ok: boolean; value: unknown; lastWrite: number | undefined }[] = [];
    for (const member of batch.members) {
      let lastWrite: number | undefined;
      const written = () => void (lastWrite = performance.now());
      try {
        const value = await member.fn(lease, written);
        outcomes.push({ ok: true, value, lastWrite });
      } catch (error) {
        outcomes.push({ ok: false, value: error, lastWrite });
      }
    }
    let releaseError: unknown;
    try {
      await lease.release();
    } catch (error) {
      releaseError = error;
    }
    // A section whose writes committed while the lock was still valid was protected even if the lock was lost (or
    // could not be released) later; one that wrote after may have written beside another holder, and fails.
    const validUntil = lease.validUntil();
    batch.members.forEach((member, i) => {
      const outcome = outcomes[i]!;
      if (!outcome.ok) member.reject(outcome.value);
      else if (releaseError === undefined || outcome.lastWrite === undefined || outcome.lastWrite <= validUntil) member.resolve(outcome.value);
      else member.reject(releaseError);
    });
  }

  private close(key: string, batch: Batch): void {
    if (this.forming.get(key) === batch) this.forming.delete(key);
  }
}
