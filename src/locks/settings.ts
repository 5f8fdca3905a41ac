/**
 * How every distributed lock behaves, whichever service it lives in (Redis, etcd…): one record, set by `--lock-ttl`,
 * `--lock-wait`, `--no-watchdog` and `--lock-batch`. A service reads what applies to it (etcd rounds the TTL up to
 * whole seconds: its lease's unit).
 */
export interface LockSettings {
  /** How long a lock lives unless extended. */
  readonly ttlMs: number;
  /** How long an acquisition waits for a held lock; 0 fails at once. */
  readonly waitMs: number;
  /** Extend the lock while held (Redis: the watchdog; etcd: the lease keep-alive). */
  readonly watchdog: boolean;
  /** How many registrations of one process may share one lock acquisition (1: one acquisition each). */
  readonly batch: number;
}

export const DEFAULT_LOCK_SETTINGS: LockSettings = Object.freeze({ ttlMs: 10_000, waitMs: 30_000, watchdog: true, batch: 64 });
