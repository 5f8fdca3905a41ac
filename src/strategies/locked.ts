import type { RegisterRequest } from "../core/types.js";
import { exclusive } from "../locks/exclusive.js";
import { distributedKeyedLock, fencedLock, type KeyedLock } from "../locks/keyedLock.js";
import { findLockService } from "../locks/services/registry.js";
import { newConflictStats, retryOnConflict } from "./retry.js";
import { lockKeyOf, lockServiceSettings, type LockServiceNeed, type StrategyDefinition, type StrategySettings } from "./strategy.js";

/** What distinguishes one distributed-lock strategy from another. */
export interface LockedOptions {
  readonly name: string;
  readonly protects: string;
  readonly exposes: string;
  /** The lock service the lock lives in. */
  readonly lockService: LockServiceNeed;
  /** Have the store refuse writes with a fencing token older than the newest it accepted. */
  readonly fencing: boolean;
  /** Run on tables with the unique constraints, in a transaction, and retry on conflict. */
  readonly constraints: boolean;
  /** A reentrant lock (the holder may take it again), where the service has one. */
  readonly reentrant?: boolean;
}

/**
 * The distributed-lock strategies (Redis, a Redis quorum, reentrant Redis, etcd) share one shape: take the lock
 * (shared by a batch of this process's registrations), run the seed's registration with the lock's abort signal
 * (and fencing token) so that a lost lock stops the writes, release the lock — a lock found gone at release fails the
 * registrations that wrote after it ran out. With a reentrant lock, or `lockNesting`, the system row's creation takes
 * the held lock again, as code calling a locked helper does.
 */
export function lockedStrategy(options: LockedOptions): StrategyDefinition {
  return {
    name: options.name,
    kind: "exclusion",
    guarantee: "global",
    protects: options.protects,
    exposes: options.exposes,
    needs: { lockService: options.lockService },
    // A lock on systemUUID leaves the shared IP pool open (see `sharded` on a fleet); `--lock-key system` gives the seed's.
    defaultLockKey: "project",
    constraints: options.constraints,
    create(service, settings) {
      const lock = serviceLock(options, settings);
      const conflicts = newConflictStats();
      // A fencing lock first advances the store's fence, so that the previous holder's late writes are refused
      // even when they land before this holder's own.
      const fenced = fencedLock(lock, (resource, token) => service.store.advanceFence({ resource, token }));
      const sections = exclusive(fenced, { batch: settings.locks.batch });
      const nesting = lock.promises.reentrant || settings.lockNesting;
      const lockedOnce = (request: RegisterRequest) => {
        const key = lockKeyOf(request, settings.lockKey);
        return sections.run(key, (lease, written) =>
          service.register(request, {
            signal: lease.signal,
            onWritten: written,
            transaction: options.constraints,
            ...(lease.fence !== undefined ? { fence: { resource: key, token: lease.fence } } : {}),
            ...(nesting ? { aroundSystem: <T>(fn: () => Promise<T>) => sections.nested(lease, fn) } : {}),
          }),
        );
      };
      return {
        register: (request) =>
          options.constraints ? retryOnConflict(() => lockedOnce(request), settings.retry, settings.random, conflicts) : lockedOnce(request),
        stats: () => ({
          lockKey: settings.lockKey,
          ...sections.stats(),
          ...(options.constraints ? { conflicts: conflicts.conflicts, conflictRetries: conflicts.retries } : {}),
        }),
        close: () => lock.close(),
        ...(lock.cut ? { cutLockService: () => lock.cut!() } : {}),
      };
    },
  };
}

/** The strategy's lock, made by the lock service it declares (from the registry), in the keyed shape. */
function serviceLock(options: LockedOptions, settings: StrategySettings): KeyedLock {
  const service = findLockService(options.lockService.name);
  if (!service) throw new Error(`${options.name} locks in ${JSON.stringify(options.lockService.name)}, a lock service regbench does not know`);
  return distributedKeyedLock(
    service.createLock(lockServiceSettings(settings, service), settings.locks, {
      nodes: options.lockService.nodes ?? "one",
      fencing: options.fencing,
      reentrant: options.reentrant ?? false,
      random: settings.random,
      cleanUp: !settings.sharedLockKeys,
    }),
  );
}
