/**
 * One acquisition of a lock, whatever serves it (Redis, a Redis quorum, etcd): immutable, released once. The one
 * shape every distributed lock hands out, so that lock batching, fencing and the lost-lock signal are written once.
 */
export interface Lease {
  readonly key: string;
  /** Who holds it: a random token per acquisition (the owner a reentrant lock recognises). */
  readonly token: string;
  /** The fencing token taken with the lock (fencing locks only): it only ever grows. */
  readonly fence: number | undefined;
  /** Aborted with LockLostError when the lock is found gone while held. */
  readonly signal: AbortSignal;
  /** Until when (performance.now() time) the lock is known to be held: the validity, moved on by each extension. */
  validUntil(): number;
  /** Releases the lock; rejects with LockLostError if it was already gone. */
  release(): Promise<void>;
}

/** A distributed lock as the strategies use it: keyed acquisitions, counters, and the faults that cut it off. */
export interface DistributedLock {
  acquire(key: string): Promise<Lease>;
  /**
   * Takes the lock `held` holds again, as code calling a locked helper does. A reentrant lock counts the hold and
   * answers at once (one round trip); a plain one cannot tell its holder from anyone else and waits until its wait
   * time runs out.
   */
  reenter(held: Lease): Promise<Lease>;
  /** Whether `reenter` succeeds while the lock is held (a reentrant lock). */
  readonly reentrant: boolean;
  readonly quorum: number;
  readonly nodes: number;
  stats(): Readonly<Record<string, unknown>>;
  /** The fault: cuts the connection to the lock service. */
  cut(): void;
  /** Deletes what the lock left in the service under its prefix and disconnects. */
  close(): Promise<void>;
}
