import { LockTimeoutError } from "../core/errors.js";
import { holding } from "./shards.js";

/** Counters a mutex keeps about itself. */
export interface MutexStats {
  acquisitions: number;
  /** Acquisitions that had to wait because the mutex was held. */
  contended: number;
  timeouts: number;
  /** The most waiters ever queued at once. */
  longestQueue: number;
}

interface Waiter {
  resolve: (release: () => void) => void;
  timer: NodeJS.Timeout | undefined;
  cancelled: boolean;
}

/**
 * A FIFO async mutex with an optional acquire timeout. The lock is handed straight to the next waiter on release,
 * so nobody can barge in between; a waiter that timed out is cancelled in place and never enters later.
 */
export class Mutex {
  readonly stats: MutexStats = { acquisitions: 0, contended: 0, timeouts: 0, longestQueue: 0 };
  private locked = false;
  private queue: Waiter[] = [];
  private head = 0;
  private waiting = 0;

  constructor(readonly name = "mutex") {}

  get isLocked(): boolean {
    return this.locked;
  }

  /**
   * Resolves with a release function; rejects with `LockTimeoutError` (naming `key`) after `timeoutMs`
   * (no timeout if undefined).
   */
  acquire(timeoutMs?: number, key: string = this.name): Promise<() => void> {
    if (!this.locked) {
      this.locked = true;
      this.stats.acquisitions++;
      return Promise.resolve(this.releaser());
    }
    this.stats.contended++;
    const started = performance.now();
    return new Promise<() => void>((resolve, reject) => {
      const waiter: Waiter = { resolve, timer: undefined, cancelled: false };
      if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
        waiter.timer = setTimeout(() => {
          waiter.cancelled = true;
          this.waiting--;
          this.stats.timeouts++;
          reject(new LockTimeoutError(key, performance.now() - started));
        }, timeoutMs);
      }
      this.queue.push(waiter);
      this.waiting++;
      if (this.waiting > this.stats.longestQueue) this.stats.longestQueue = this.waiting;
    });
  }

  runExclusive<T>(fn: () => Promise<T>, timeoutMs?: number): Promise<T> {
    return holding(this.acquire(timeoutMs), fn);
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.handOver();
    };
  }

  private handOver(): void {
    while (this.head < this.queue.length) {
      const next = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Waiter;
      if (next.cancelled) continue;
      if (next.timer) clearTimeout(next.timer);
      this.waiting--;
      this.stats.acquisitions++;
      this.compact();
      next.resolve(this.releaser());
      return;
    }
    this.compact();
    this.locked = false;
  }

  // Drop the consumed prefix now and then, so the queue does not grow without bound.
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
