import { Mutex } from "./mutex.js";

/**
 * One FIFO mutex per key, created on demand and dropped when nobody holds or waits for it, so that any number of
 * keys costs memory only while in use.
 */
export class KeyedMutex {
  private readonly entries = new Map<string, { mutex: Mutex; users: number }>();

  /** Acquires the key's mutex; rejects with LockTimeoutError after `timeoutMs`. */
  async acquire(key: string, timeoutMs?: number): Promise<() => void> {
    let entry = this.entries.get(key);
    if (!entry) this.entries.set(key, (entry = { mutex: new Mutex(key), users: 0 }));
    entry.users++;
    const e = entry;
    const done = () => {
      if (--e.users === 0) this.entries.delete(key);
    };
    try {
      const release = await e.mutex.acquire(timeoutMs, key);
      return () => {
        release();
        done();
      };
    } catch (error) {
      done();
      throw error;
    }
  }

  /** True when the key is held or awaited in this process. */
  isBusy(key: string): boolean {
    return this.entries.has(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
