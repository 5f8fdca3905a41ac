import type { KeyedLock } from "./keyedLock.js";
import type { Lease } from "./lease.js";
import { LockBatches, type WriteMark } from "./lockBatches.js";

/** A critical section: it runs holding `lease`, and calls `written` as each of its writes commits. */
export type Section<T> = (lease: Lease, written: WriteMark) => Promise<T>;

/** How sections take their lock. */
export interface ExclusiveSettings {
  /**
   * Batch acquisitions (`LockBatches`): this process's sections that want one key while its lock is being acquired
   * share that acquisition, up to this many (1: one each, with the batches' handling of a lock lost while held).
   * Undefined: each section acquires, runs and releases on its own.
   */
  readonly batch?: number;
}

/** A strategy's critical sections under one KeyedLock. */
export interface Exclusive {
  /**
   * Runs `section` holding the key's lock (`shared`: a read lock, never batched), and releases the lock however the
   * section ends. A lock found lost at release fails the section (batched: only if it wrote after the lock ran out).
   */
  run<T>(key: string, section: Section<T>, mode?: "exclusive" | "shared"): Promise<T>;
  /**
   * Runs `section` inside a section that holds `held`, taking the lock again for its holder, as code calling a locked
   * helper does: a reentrant lock grants it, a plain one waits for itself until its wait runs out.
   */
  nested<T>(held: Lease, section: () => Promise<T>): Promise<T>;
  /** The lock's own counters, then, when batching, the batches' (`lockBatches`, `largestLockBatch`). */
  stats(): Readonly<Record<string, unknown>>;
}

const NO_MARK: WriteMark = () => {};

/**
 * The one way a locking strategy holds its lock (async-mutex's `runExclusive` over the keyed seam): whatever the
 * lock — an in-process mutex, Redis, etcd — the sections are taken, run and released here, so that the lock contract
 * suite, which holds every KeyedLock to the same promises, tests what the strategies run.
 */
export function exclusive(lock: KeyedLock, settings: ExclusiveSettings = {}): Exclusive {
  const batches = settings.batch === undefined ? undefined : new LockBatches((key) => lock.acquire(key), settings.batch);
  async function alone<T>(key: string, section: Section<T>, mode: "exclusive" | "shared"): Promise<T> {
    const lease = await lock.acquire(key, mode);
    try {
      return await section(lease, NO_MARK);
    } finally {
      await lease.release();
    }
  }
  return {
    async nested(held, section) {
      const inner = await lock.reenter(held);
      try {
        return await section();
      } finally {
        await inner.release();
      }
    },
    run: (key, section, mode = "exclusive") => (batches && mode === "exclusive" ? batches.run(key, section) : alone(key, section, mode)),
    stats: () => (batches ? { ...lock.stats(), lockBatches: batches.stats.batches, largestLockBatch: batches.stats.largest } : lock.stats()),
  };
}
