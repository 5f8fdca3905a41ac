import { setMaxListeners } from "node:events";
import type { Etcd3, Lease as EtcdLease } from "etcd3";
import { LockBusyError, LockTimeoutError, RegbenchError } from "../core/errors.js";
import { LockLostError, LockServiceUnavailableError } from "./errors.js";
import { createEtcdClient, deleteEtcdKeys } from "../etcd/client.js";
import type { DistributedLock, Lease } from "./lease.js";

/** Settings of an etcd lock; the same knobs as the Redis lock's. */
export interface EtcdLockSettings {
  /** The lease's time to live, rounded up to whole seconds (etcd's unit); the server may grant more. */
  readonly ttlMs: number;
  /** How long an acquisition waits for the holders before it; 0 fails at once. */
  readonly waitMs: number;
  /** Keep the lease alive while the lock is held (etcd's keep-alive: the watchdog). */
  readonly watchdog: boolean;
  /** The lock key's create revision is handed out as the fencing token. */
  readonly fencing: boolean;
}

export interface EtcdLockStats {
  acquired: number;
  /** Acquisitions that found holders before them and watched the one just before for its deletion. */
  waited: number;
  timeouts: number;
  busy: number;
  /** Leases kept alive (keep-alive answers). */
  extensions: number;
  /** Leases found lost while held, or at release. */
  lost: number;
  /** The lease TTL the server granted, in seconds (the largest seen). */
  grantedTtlS: number;
}

/** An abort controller whose signal takes any number of listeners without Node's leak warning (past 10). */
function unlimited(controller: AbortController): AbortController {
  setMaxListeners(0, controller.signal);
  return controller;
}

/** etcd's errors as the core's: a server that does not answer is `lock-service-unavailable` (etcd); ours pass through. */
function unavailable(error: unknown, what: string): never {
  if (error instanceof RegbenchError) throw error;
  throw new LockServiceUnavailableError("etcd", `etcd failed while ${what}: ${((error as Error)?.message ?? String(error)).split("\n")[0]}`, error);
}

/**
 * A lock as etcd's own concurrency mutex makes it: each acquisition is a key under the lock's prefix bound to a lease
 * of its own, created in a transaction only if absent; the holder is the key with the lowest create revision, and a
 * waiter watches the key just before its own for deletion — waiters are served in revision order, with no polling.
 * The lease is kept alive while held (the watchdog); a lease found lost aborts the holder through the lost-lock
 * signal. The key's create revision is the fencing token. etcd3 gives the leases, transactions and watches; the
 * ordering and waiting are written here.
 */
export class EtcdLock implements DistributedLock {
  readonly counters: EtcdLockStats = { acquired: 0, waited: 0, timeouts: 0, busy: 0, extensions: 0, lost: 0, grantedTtlS: 0 };
  readonly reentrant = false;
  readonly quorum = 1;
  private cutOff = false;
  /** Aborted by the etcd-down fault: every wait on etcd ends then (one listener per waiter: no listener limit). */
  private readonly cutSignal = unlimited(new AbortController());
  /** The leases of the locks held now, whose keep-alive the etcd-down fault stops. */
  private readonly held = new Set<EtcdLease>();

  constructor(
    private client: Etcd3,
    private readonly urls: readonly string[],
    private readonly keyPrefix: string,
    readonly settings: EtcdLockSettings,
    /** Delete every key under the prefix at close; false for a lock namespace other servers share. */
    private readonly cleanUp = true,
  ) {}

  get nodes(): number {
    return this.urls.length;
  }

  private prefixOf(key: string): string {
    return `${this.keyPrefix}lock/${key}/`;
  }

  async acquire(key: string): Promise<Lease> {
    if (this.cutOff) throw new LockServiceUnavailableError("etcd", `etcd cannot be reached (etcd-down) while locking ${JSON.stringify(key)}`);
    const started = performance.now();
    const ttlS = Math.max(1, Math.ceil(this.settings.ttlMs / 1000));
    const lease = this.client.lease(ttlS, { autoKeepAlive: this.settings.watchdog });
    lease.on("lost", () => {});
    let leaseId: string;
    let granted: number;
    try {
      leaseId = await lease.grant();
      // The TTL actually granted (a server raises one below its minimum), from a first keep-alive.
      granted = Number((await lease.keepaliveOnce()).TTL);
    } catch (error) {
      lease.release();
      unavailable(error, `granting a lease for ${JSON.stringify(key)}`);
    }
    const grantedAt = performance.now();
    this.counters.grantedTtlS = Math.max(this.counters.grantedTtlS, granted);
    const myKey = `${this.prefixOf(key)}${leaseId}`;
    const giveUp = async (error: Error): Promise<never> => {
      await lease.revoke().catch(() => undefined);
      throw error;
    };
    let myRevision: number;
    try {
      const put = await lease.put(myKey).value("");
      myRevision = Number(put.header.revision);
    } catch (error) {
      return giveUp(
        error instanceof Error
          ? new LockServiceUnavailableError("etcd", `etcd failed while locking ${JSON.stringify(key)}: ${error.message.split("\n")[0]}`, error)
          : new Error(String(error)),
      );
    }
    // Wait until no key under the prefix was created before ours.
    for (let waitedOnce = false; ;) {
      let before;
      try {
        before = await this.client
          .getAll()
          .prefix(this.prefixOf(key))
          .maxCreateRevision(myRevision - 1)
          .sort("Create", "Descend")
          .limit(1)
          .exec();
      } catch (error) {
        return giveUp(new LockServiceUnavailableError("etcd", `etcd failed while locking ${JSON.stringify(key)}`, error));
      }
      const predecessor = before.kvs[0];
      if (!predecessor) break;
      if (this.settings.waitMs === 0) {
        this.counters.busy++;
        return giveUp(new LockBusyError(key));
      }
      if (!waitedOnce) {
        this.counters.waited++;
        waitedOnce = true;
      }
      const left = this.settings.waitMs - (performance.now() - started);
      const deleted =
        left > 0 ? await this.watchDeletion(predecessor.key.toString(), Number(before.header.revision) + 1, left).catch((error: Error) => error) : false;
      if (deleted instanceof Error)
        return giveUp(new LockServiceUnavailableError("etcd", `etcd failed while waiting for the lock on ${JSON.stringify(key)}`, deleted));
      if (!deleted) {
        this.counters.timeouts++;
        return giveUp(new LockTimeoutError(key, performance.now() - started));
      }
    }
    this.counters.acquired++;
    return this.hold(key, myKey, leaseId, lease, myRevision, grantedAt + granted * 1000);
  }

  /**
   * Resolves true once `key` is deleted (watched from `fromRevision`, so a deletion in between is not missed), false
   * after `ms`. The wait bounds the whole of it: etcd3 creates a watch only once its stream is connected, and against
   * an etcd it cannot reach (or after the etcd-down fault closed the client) it keeps reconnecting without end, so the
   * deadline starts before the watch is asked for. A cut ends the wait at once, as an error.
   */
  private async watchDeletion(key: string, fromRevision: number, ms: number): Promise<boolean> {
    // Cut since this acquisition last spoke to etcd: an aborted signal fires no more listeners.
    if (this.cutSignal.signal.aborted) throw new Error("the connection to etcd was cut");
    let timer: NodeJS.Timeout | undefined;
    let onCut: (() => void) | undefined;
    const ended = new Promise<false | Error>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
      onCut = () => resolve(new Error("the connection to etcd was cut"));
      this.cutSignal.signal.addEventListener("abort", onCut, { once: true });
    });
    const creating = this.client.watch().key(key).startRevision(String(fromRevision)).create();
    try {
      const first = await Promise.race([creating, ended]);
      if (first === false || first instanceof Error) {
        // Cancelled whenever it is created, if ever; nobody waits for that.
        creating.then((watcher) => watcher.cancel()).catch(() => undefined);
        if (first instanceof Error) throw first;
        return false;
      }
      const watcher = first;
      try {
        return await new Promise<boolean>((resolve, reject) => {
          watcher.on("delete", () => resolve(true));
          watcher.on("error", (error: Error) => reject(error));
          void ended.then((end) => (end === false ? resolve(false) : reject(end)));
        });
      } finally {
        // Not awaited: the cancellation waits for etcd's answer, which a lost connection never gives.
        watcher.cancel().catch(() => undefined);
      }
    } finally {
      clearTimeout(timer);
      if (onCut) this.cutSignal.signal.removeEventListener("abort", onCut);
    }
  }

  private hold(key: string, myKey: string, leaseId: string, lease: EtcdLease, revision: number, validUntil: number): Lease {
    const controller = new AbortController();
    let until = validUntil;
    let released = false;
    lease.on("keepaliveSucceeded", (res) => {
      this.counters.extensions++;
      until = performance.now() + Number(res.TTL) * 1000;
    });
    let watchdog: NodeJS.Timeout | undefined;
    const lose = () => {
      if (watchdog) clearInterval(watchdog);
      if (released || controller.signal.aborted) return;
      this.counters.lost++;
      controller.abort(new LockLostError(key, "extend"));
    };
    lease.on("lost", lose);
    this.held.add(lease);
    // etcd3 does not always say when its keep-alive stops (a closed connection, say): the holder also gives the lock
    // up as lost once its validity has run out with no keep-alive answered.
    if (this.settings.watchdog) {
      watchdog = setInterval(() => performance.now() >= until && lose(), Math.max(100, this.settings.ttlMs / 3));
      watchdog.unref();
    }
    return {
      key,
      token: leaseId,
      fence: this.settings.fencing ? revision : undefined,
      signal: controller.signal,
      validUntil: () => until,
      release: async () => {
        if (released) return;
        released = true;
        if (watchdog) clearInterval(watchdog);
        this.held.delete(lease);
        let stillOurs: boolean;
        try {
          // Delete our key only if it is still the one we created: an expired lease took it away, and revoking an
          // expired lease does not say so. The deletion fires the next waiter's watch.
          const res = await this.client.if(myKey, "Create", "==", revision).then(this.client.delete().key(myKey)).commit();
          stillOurs = res.succeeded;
        } catch (error) {
          unavailable(error, `releasing the lock on ${JSON.stringify(key)}`);
        } finally {
          await lease.revoke().catch(() => undefined);
        }
        if (!stillOurs) {
          this.counters.lost++;
          throw new LockLostError(key, "release");
        }
      },
    };
  }

  /** A plain lock cannot tell its holder from anyone else: re-entering it waits like any acquisition. */
  reenter(held: Lease): Promise<Lease> {
    return this.acquire(held.key);
  }

  stats(): Readonly<Record<string, unknown>> {
    return { ...this.counters };
  }

  /**
   * The etcd-down fault: the client's connection is closed; every call fails from now on, and no lease is kept alive
   * (etcd3 keeps an open keep-alive stream going for a while after close, which a lost connection would not).
   */
  cut(): void {
    this.cutOff = true;
    this.cutSignal.abort();
    for (const lease of this.held) lease.release();
    this.client.close();
  }

  async close(): Promise<void> {
    // A client cut by the fault is replaced by a fresh one for the clean-up.
    const cleaner = this.cutOff ? createEtcdClient(this.urls) : this.client;
    if (this.cleanUp) await deleteEtcdKeys(cleaner, this.keyPrefix).catch(() => undefined);
    cleaner.close();
    if (cleaner !== this.client) this.client.close();
  }
}

/** An etcd lock over the cluster at `urls`, its keys under `keyPrefix` (deleted at close when `cleanUp`). */
export function etcdLock(urls: readonly string[], keyPrefix: string, settings: EtcdLockSettings, cleanUp = true): EtcdLock {
  return new EtcdLock(createEtcdClient(urls), urls, keyPrefix, settings, cleanUp);
}
