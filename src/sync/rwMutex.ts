import { LockTimeoutError } from "../core/errors.js";

/** Counters a read-write mutex keeps about itself. */
export interface RwMutexStats {
  readAcquisitions: number;
  writeAcquisitions: number;
  /** Read acquisitions that waited (a writer held or was queued before them). */
  readContended: number;
  /** Write acquisitions that waited (anyone held). */
  writeContended: number;
  timeouts: number;
}

interface Waiter {
  readonly write: boolean;
  resolve: (release: () => void) => void;
  timer: NodeJS.Timeout | undefined;
  cancelled: boolean;
}

/**
 * A fair async read-write mutex (Go's sync.RWMutex, with acquire timeouts): any number of readers share it, a
 * writer holds it alone. Waiters are served in arrival order — readers queued one after another enter together, and
 * a queued writer holds back readers that come after it, so writers never starve. A waiter that timed out is
 * cancelled in place and never enters later.
 */
export class RwMutex {
  readonly stats: RwMutexStats = { readAcquisitions: 0, writeAcquisitions: 0, readContended: 0, writeContended: 0, timeouts: 0 };
  private readers = 0;
  private writer = false;
  private queue: Waiter[] = [];

  /** Shared: resolves with a release function; rejects with LockTimeoutError (naming `key`) after `timeoutMs`. */
  readLock(timeoutMs?: number, key = "rw"): Promise<() => void> {
    if (!this.writer && this.queue.length === 0) {
      this.readers++;
      this.stats.readAcquisitions++;
      return Promise.resolve(this.releaser(false));
    }
    this.stats.readContended++;
    return this.wait(false, timeoutMs, key);
  }

  /** Exclusive: resolves with a release function; rejects with LockTimeoutError after `timeoutMs`. */
  writeLock(timeoutMs?: number, key = "rw"): Promise<() => void> {
    if (!this.writer && this.readers === 0 && this.queue.length === 0) {
      this.writer = true;
      this.stats.writeAcquisitions++;
      return Promise.resolve(this.releaser(true));
    }
    this.stats.writeContended++;
    return this.wait(true, timeoutMs, key);
  }

  private wait(write: boolean, timeoutMs: number | undefined, key: string): Promise<() => void> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { write, resolve, timer: undefined, cancelled: false };
      if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
        waiter.timer = setTimeout(() => {
          waiter.cancelled = true;
          this.queue = this.queue.filter((w) => w !== waiter);
          this.stats.timeouts++;
          reject(new LockTimeoutError(key, performance.now() - started));
          // A cancelled writer at the head may have been holding readers back.
          this.admit();
        }, timeoutMs);
      }
      this.queue.push(waiter);
    });
  }

  private releaser(write: boolean): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (write) this.writer = false;
      else this.readers--;
      this.admit();
    };
  }

  /** Lets in whoever the queue's head allows: one writer alone, or every reader up to the next writer. */
  private admit(): void {
    while (this.queue.length > 0 && !this.writer) {
      const next = this.queue[0]!;
      if (next.write) {
        if (this.readers > 0) return;
        this.queue.shift();
        if (next.timer) clearTimeout(next.timer);
        this.writer = true;
        this.stats.writeAcquisitions++;
        next.resolve(this.releaser(true));
        return;
      }
      this.queue.shift();
      if (next.timer) clearTimeout(next.timer);
      this.readers++;
      this.stats.readAcquisitions++;
      next.resolve(this.releaser(false));
    }
  }
}
