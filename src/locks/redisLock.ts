import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { LockBusyError, LockTimeoutError } from "../core/errors.js";
import { LockLostError, LockServiceUnavailableError } from "./errors.js";
import { KeyedMutex } from "../sync/keyedMutex.js";
import type { Lease } from "./lease.js";

export type { Lease } from "./lease.js";

/** Settings of a Redis lock; readonly, defaulted once, overridden per run. */
export interface RedisLockSettings {
  /** How long a lock lives unless extended. */
  readonly ttlMs: number;
  /** How long an acquisition waits for a held lock; 0 fails at once ("system is registering, retry later"). */
  readonly waitMs: number;
  /** Retry delays while waiting: exponential with full jitter between these bounds. */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** Clock drift allowance as a share of the TTL (Redlock's), plus 2 ms for Redis's expiry precision. */
  readonly driftFactor: number;
  /** Extend the lock every ttl/3 while held; abort the holder through its signal if that fails. */
  readonly watchdog: boolean;
  /** Take a fencing token (INCR) atomically with the lock. */
  readonly fencing: boolean;
  /**
   * Redisson's reentrant lock: a hash of owner → hold count instead of a string, so that the holder can take the lock
   * again (`reenter`) and must release it as many times. Not combined with fencing.
   */
  readonly reentrant: boolean;
  /**
   * Queue a process's waiters for one key on a local FIFO before Redis, so only one of them polls. Off by default:
   * it makes the process its own lock, hiding what the Redis lock alone does (a stalled holder whose lock expired
   * would still exclude the other registrations of its process).
   */
  readonly localQueue: boolean;
}

export const DEFAULT_REDIS_LOCK_SETTINGS: RedisLockSettings = Object.freeze({
  ttlMs: 10_000,
  waitMs: 30_000,
  retryBaseMs: 1,
  retryMaxMs: 50,
  driftFactor: 0.01,
  watchdog: true,
  fencing: false,
  reentrant: false,
  localQueue: false,
});

export interface RedisLockStats {
  acquired: number;
  /** SET NX attempts that found the lock held (or without a quorum) and were retried. */
  retries: number;
  timeouts: number;
  busy: number;
  extensions: number;
  /** Locks found gone by the watchdog or at release. */
  lost: number;
  /** Nested acquisitions granted to the holder (reentrant locks). */
  reentered: number;
}

// Owner-checked scripts: only the holder of the token may extend or delete.
const RELEASE = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) else return 0 end`;
// The lock and its fencing token in one round trip: the token is only taken by whoever got the lock.
const ACQUIRE_FENCED = `if redis.call("SET", KEYS[1], ARGV[1], "NX", "PX", ARGV[2]) then return redis.call("INCR", KEYS[2]) else return 0 end`;
// The reentrant lock (Redisson's shape): a hash owner → hold count. Acquire creates it, or counts one more hold for
// its owner; release counts one down and deletes it at zero (-1: the owner holds nothing — the lock was lost).
const ACQUIRE_REENTRANT = `if redis.call("EXISTS", KEYS[1]) == 0 then redis.call("HSET", KEYS[1], ARGV[1], 1); redis.call("PEXPIRE", KEYS[1], ARGV[2]); return 1 end
if redis.call("HEXISTS", KEYS[1], ARGV[1]) == 1 then local n = redis.call("HINCRBY", KEYS[1], ARGV[1], 1); redis.call("PEXPIRE", KEYS[1], ARGV[2]); return n end
return 0`;
const RELEASE_REENTRANT = `if redis.call("HEXISTS", KEYS[1], ARGV[1]) == 0 then return -1 end
local n = redis.call("HINCRBY", KEYS[1], ARGV[1], -1)
if n > 0 then redis.call("PEXPIRE", KEYS[1], ARGV[2]); return n end
redis.call("DEL", KEYS[1]); return 0`;
const EXTEND_REENTRANT = `if redis.call("HEXISTS", KEYS[1], ARGV[1]) == 1 then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) else return 0 end`;

type NodeResult = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * A lock over N independent Redis nodes with quorum ⌊N/2⌋+1 — a plain single-node lock when N = 1, Redlock when
 * N ≥ 3. Each acquisition uses a fresh random token; a failed attempt releases whatever partial locks it took.
 * Waiters poll with jittered exponential backoff until `waitMs`; with `localQueue`, the waiters of one process
 * queue on a local FIFO first.
 */
export class RedisLock {
  readonly stats: RedisLockStats = { acquired: 0, retries: 0, timeouts: 0, busy: 0, extensions: 0, lost: 0, reentered: 0 };
  readonly quorum: number;
  private readonly local = new KeyedMutex();

  constructor(
    private readonly nodes: readonly Redis[],
    private readonly keyPrefix: string,
    readonly settings: RedisLockSettings,
    private readonly random: () => number = Math.random,
  ) {
    if (nodes.length === 0) throw new Error("a Redis lock needs at least one node");
    this.quorum = Math.floor(nodes.length / 2) + 1;
  }

  private lockKey(key: string): string {
    return `${this.keyPrefix}lock:${key}`;
  }

  private fenceKey(key: string): string {
    return `${this.keyPrefix}fence:${key}`;
  }

  async acquire(key: string): Promise<Lease> {
    const started = performance.now();
    const { waitMs } = this.settings;
    let releaseLocal: () => void = () => {};
    if (this.settings.localQueue) {
      if (waitMs === 0 && this.local.isBusy(key)) {
        this.stats.busy++;
        throw new LockBusyError(key);
      }
      try {
        releaseLocal = await this.local.acquire(key, waitMs);
      } catch (error) {
        this.stats.timeouts++;
        throw error;
      }
    }
    try {
      for (let attempt = 1; ; attempt++) {
        const lease = await this.attempt(key);
        if (lease) {
          this.stats.acquired++;
          return this.hold(key, lease.token, lease.fence, lease.validUntil, releaseLocal);
        }
        const waited = performance.now() - started;
        if (waitMs === 0) {
          this.stats.busy++;
          throw new LockBusyError(key);
        }
        const delay = this.random() * Math.min(this.settings.retryMaxMs, this.settings.retryBaseMs * 2 ** (attempt - 1));
        if (waited + delay >= waitMs) {
          this.stats.timeouts++;
          throw new LockTimeoutError(key, waited);
        }
        this.stats.retries++;
        await sleep(delay);
      }
    } catch (error) {
      releaseLocal();
      throw error;
    }
  }

  /** One try on every node at once. */
  private async attempt(key: string): Promise<{ token: string; fence: number | undefined; validUntil: number } | undefined> {
    const token = randomBytes(16).toString("hex");
    const { ttlMs, fencing } = this.settings;
    const started = performance.now();
    const { reentrant } = this.settings;
    const results = await this.onNodes((node) =>
      fencing
        ? node.eval(ACQUIRE_FENCED, 2, this.lockKey(key), this.fenceKey(key), token, ttlMs)
        : reentrant
          ? node.eval(ACQUIRE_REENTRANT, 1, this.lockKey(key), token, ttlMs)
          : node.set(this.lockKey(key), token, "PX", ttlMs, "NX"),
    );
    const won = results.filter((r) => r.ok && (fencing || reentrant ? Number(r.value) > 0 : r.value === "OK"));
    const failed = results.filter((r) => !r.ok);
    const elapsed = performance.now() - started;
    const validity = ttlMs - elapsed - (ttlMs * this.settings.driftFactor + 2);
    if (won.length >= this.quorum && validity > 0) {
      const fence = fencing ? Number((won[0] as { value: unknown }).value) : undefined;
      return { token, fence, validUntil: performance.now() + validity };
    }
    // A failed attempt must not leave partial locks behind, including on nodes whose reply was lost.
    if (won.length > 0 || failed.length > 0) await this.onNodes((node) => this.releaseOn(node, key, token));
    if (failed.length > this.nodes.length - this.quorum) {
      const reason = (failed[0] as { error: unknown }).error;
      throw new LockServiceUnavailableError(
        "redis",
        `${failed.length} of ${this.nodes.length} Redis node(s) failed while locking ${JSON.stringify(key)}: ${(reason as Error)?.message ?? String(reason)}`,
        reason,
      );
    }
    return undefined;
  }

  private hold(key: string, token: string, fence: number | undefined, validUntil: number, releaseLocal: () => void): Lease {
    const controller = new AbortController();
    let watchdog: NodeJS.Timeout | undefined;
    let until = validUntil;
    const lose = (when: "extend" | "release") => {
      // A lost lock is not extended any more, whether or not its holder gets round to releasing it.
      if (watchdog) clearInterval(watchdog);
      if (!controller.signal.aborted) {
        this.stats.lost++;
        controller.abort(new LockLostError(key, when));
      }
    };
    if (this.settings.watchdog) {
      const every = Math.max(1, Math.floor(this.settings.ttlMs / 3));
      const extend = async () => {
        const sent = performance.now();
        const results = await this.onNodes((node) =>
          node.eval(this.settings.reentrant ? EXTEND_REENTRANT : EXTEND, 1, this.lockKey(key), token, this.settings.ttlMs),
        );
        const extended = results.filter((r) => r.ok && Number(r.value) === 1).length;
        const gone = results.filter((r) => r.ok && Number(r.value) !== 1).length;
        if (extended >= this.quorum) {
          this.stats.extensions++;
          until = sent + this.settings.ttlMs - (this.settings.ttlMs * this.settings.driftFactor + 2);
        } else if (gone > this.nodes.length - this.quorum || performance.now() >= until) {
          // Gone on too many nodes, or unreachable until its validity ran out: either way no longer ours.
          lose("extend");
        }
      };
      // A failed round is one where no node answered: the lock is lost once its validity has run out.
      watchdog = setInterval(
        () =>
          void extend().catch(() => {
            if (performance.now() >= until) lose("extend");
          }),
        every,
      );
      watchdog.unref();
    }
    let released = false;
    return {
      key,
      token,
      fence,
      signal: controller.signal,
      validUntil: () => until,
      release: async () => {
        if (released) return;
        released = true;
        if (watchdog) clearInterval(watchdog);
        // The delete is on its way to every node before the next local waiter sends its SET on the same
        // connections, and Redis runs one connection's commands in order: hand over without waiting for the reply.
        const pending = this.onNodes((node) => this.releaseOn(node, key, token));
        releaseLocal();
        const results = await pending;
        // Plain: 1 = deleted. Reentrant: the holds left (0 = deleted), -1 = it held nothing.
        const deleted = results.filter((r) => r.ok && (this.settings.reentrant ? Number(r.value) >= 0 : Number(r.value) === 1)).length;
        if (deleted < this.quorum) {
          const failed = results.filter((r) => !r.ok);
          if (failed.length > this.nodes.length - this.quorum) {
            throw new LockServiceUnavailableError(
              "redis",
              `Redis failed while releasing the lock on ${JSON.stringify(key)}`,
              (failed[0] as { error: unknown }).error,
            );
          }
          lose("release");
          throw new LockLostError(key, "release");
        }
      },
    };
  }

  /**
   * Takes the lock `held` holds again, for its holder. Reentrant: one more hold under the same owner, released on
   * its own (the outer hold, its watchdog and its signal go on). Plain: a new acquisition like anyone's, which waits
   * for the holder — itself — until the wait time runs out.
   */
  async reenter(held: Lease): Promise<Lease> {
    if (!this.settings.reentrant) return this.acquire(held.key);
    const key = held.key;
    const results = await this.onNodes((node) => node.eval(ACQUIRE_REENTRANT, 1, this.lockKey(key), held.token, this.settings.ttlMs));
    const won = results.filter((r) => r.ok && Number(r.value) > 1).length;
    if (won < this.quorum) {
      const failed = results.filter((r) => !r.ok);
      if (failed.length > this.nodes.length - this.quorum)
        throw new LockServiceUnavailableError(
          "redis",
          `Redis failed while re-entering the lock on ${JSON.stringify(key)}`,
          (failed[0] as { error: unknown }).error,
        );
      this.stats.lost++;
      throw new LockLostError(key, "extend");
    }
    this.stats.reentered++;
    let released = false;
    return {
      key,
      token: held.token,
      fence: held.fence,
      signal: held.signal,
      validUntil: () => held.validUntil(),
      release: async () => {
        if (released) return;
        released = true;
        const answers = await this.onNodes((node) => this.releaseOn(node, key, held.token));
        if (answers.filter((r) => r.ok && Number(r.value) >= 1).length < this.quorum) throw new LockLostError(key, "release");
      },
    };
  }

  private releaseOn(node: Redis, key: string, token: string): Promise<unknown> {
    return this.settings.reentrant
      ? node.eval(RELEASE_REENTRANT, 1, this.lockKey(key), token, this.settings.ttlMs)
      : node.eval(RELEASE, 1, this.lockKey(key), token);
  }

  private onNodes(command: (node: Redis) => Promise<unknown>): Promise<NodeResult[]> {
    return Promise.all(
      this.nodes.map((node) =>
        command(node).then(
          (value): NodeResult => ({ ok: true, value }),
          (error): NodeResult => ({ ok: false, error }),
        ),
      ),
    );
  }
}
