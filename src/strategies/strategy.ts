import { availableParallelism } from "node:os";
import type { RegistrationService } from "../core/registration.js";
import type { RegisterRequest, RegisterResponse } from "../core/types.js";
import { nextPowerOfTwo } from "../sync/fnv.js";
import type { BackoffSettings } from "../sync/backoff.js";
import { DEFAULT_LOCK_SETTINGS, type LockSettings } from "../locks/settings.js";
import type { LockService, LockServiceSettings } from "../locks/services/service.js";

/**
 * What a strategy promises, which the contract suite holds it to:
 * - `none`: nothing;
 * - `per-key`: no violation among registrations that share a lock key, inside one process;
 * - `process`: no violation inside one process;
 * - `global`: no violation across processes sharing the store.
 */
export type Guarantee = "none" | "per-key" | "process" | "global";

/** How strategies differ in kind; the report and `regbench strategies` group by it. */
export type StrategyKind = "none" | "exclusion" | "coalescing" | "optimistic" | "atomic";

/** What a lock protects: one system's registrations (the seed's choice) or one project's address pool. */
export type { LockKeyMode } from "../config/run.js";
import type { LockKeyMode } from "../config/run.js";

/** Settings every strategy reads what it needs from; the CLI fills them, tests override them. */
export interface StrategySettings {
  /** Resolved per strategy: the flag if given, else the strategy's own default. */
  readonly lockKey: LockKeyMode;
  /** How long a registration waits for a lock before `LockTimeoutError`. */
  readonly lockTimeoutMs: number;
  /** Shard count of the sharded mutex (rounded up to a power of two). */
  readonly shards: number;
  /** Retrying after a unique-constraint conflict. */
  readonly retry: BackoffSettings;
  /** Source of jitter, seeded for reproducible runs. */
  readonly random: () => number;
  /** Every distributed lock's TTL, wait, watchdog and batching, whichever service it lives in. */
  readonly locks: LockSettings;
  /**
   * Where each lock service's locks live, by the service's name (`redis`, `etcd`): its URLs and the run's key prefix.
   * A service missing here is at its default URLs (`lockServiceSettings`).
   */
  readonly lockServices: Readonly<Record<string, LockServiceSettings>>;
  /**
   * The registration path nests: the lock a strategy holds is taken again around the system row's creation, as code
   * calling a locked helper does. Reentrant locks nest by design; with this, every distributed lock does.
   */
  readonly lockNesting: boolean;
  /**
   * The lock services' keys are under a lock namespace that other servers share (`regbench serve`): closing leaves
   * them, since another server may hold a lock there now. False: they are this run's own, deleted at close.
   */
  readonly sharedLockKeys: boolean;
}

/** The seed's heuristic: 4 shards per core, between 16 and 64. */
export function defaultShardCount(cores = availableParallelism()): number {
  return nextPowerOfTwo(Math.min(64, Math.max(16, cores * 4)));
}

export const DEFAULT_STRATEGY_SETTINGS: StrategySettings = Object.freeze({
  lockKey: "system",
  lockTimeoutMs: 30_000,
  shards: defaultShardCount(),
  retry: Object.freeze({ maxAttempts: 30, baseDelayMs: 1, maxDelayMs: 50 }),
  random: Math.random,
  locks: DEFAULT_LOCK_SETTINGS,
  lockServices: Object.freeze({}),
  lockNesting: false,
  sharedLockKeys: false,
});

/** Where a strategy's locks live in `service`: as the settings say, else at its default URLs under `regbench` keys. */
export function lockServiceSettings(settings: StrategySettings, service: LockService): LockServiceSettings {
  return settings.lockServices[service.name] ?? { urls: service.defaultUrls, keyPrefix: service.keyPrefix("default") };
}

/** Numbers a strategy reports about itself (conflicts, retries, coalesced calls, per-shard counters…). */
export type StrategyStats = Readonly<Record<string, unknown>>;

/** One instance of a strategy around one registration service, for one run. */
export interface Strategy {
  register(request: RegisterRequest): Promise<RegisterResponse>;
  stats(): StrategyStats;
  /** Releases connections and removes what the strategy left in external systems (Redis keys). */
  close(): Promise<void>;
  /** Cuts the connection to the lock service (the redis-down and etcd-down faults); absent on strategies without one. */
  cutLockService?(): void;
}

/** A lock service a strategy locks in, by the name the pre-flight knows it by (`redis`, `etcd`). */
export interface LockServiceNeed {
  readonly name: string;
  /** Over how many of the service's URLs: the first only, or every one (a quorum of independent nodes). */
  readonly nodes?: "one" | "all";
}

/**
 * What a strategy needs besides a store's reads and writes, declared by name and checked before anything runs: a lock
 * service (probed, or started for `auto`), and store capabilities (`strategies/capabilities.ts`). Where one is missing,
 * `--strategy all` skips the strategy with a note; asked for by name, it cannot run. Nothing here is a closed list:
 * a new need is a new name, and the check that knows it.
 */
export interface StrategyNeeds {
  readonly lockService?: LockServiceNeed;
  readonly storeCapabilities?: readonly string[];
}

/** A registry entry: everything the CLI, the runner and the report need to know about a strategy. */
export interface StrategyDefinition {
  readonly name: string;
  readonly kind: StrategyKind;
  /** What it protects. */
  readonly protects: string;
  /** What it does not. */
  readonly exposes: string;
  readonly guarantee: Guarantee;
  /** What it needs besides the store's reads and writes: nothing (`{}`), a lock service, store capabilities. */
  readonly needs: StrategyNeeds;
  /** The lock key used unless --lock-key says otherwise. */
  readonly defaultLockKey: LockKeyMode;
  /** Whether it runs on tables with the unique constraints. */
  readonly constraints: boolean;
  create(service: RegistrationService, settings: StrategySettings): Strategy;
}

/** The name of the lock service a strategy locks in, undefined for one that needs none. */
export function lockServiceOf(definition: StrategyDefinition | undefined): string | undefined {
  return definition?.needs.lockService?.name;
}

/** The key a lock or a flight is taken on. */
export function lockKeyOf(request: RegisterRequest, mode: LockKeyMode): string {
  return mode === "project" ? `project:${request.projectId}` : `system:${request.projectId}/${request.systemUuid}`;
}
