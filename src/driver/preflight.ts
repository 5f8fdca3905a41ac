import { findLockService, lockServices } from "../locks/services/registry.js";
import { locationOf, type LockService, type ThrowawayCluster } from "../locks/services/service.js";
import type { ErrorKind } from "../core/errors.js";
import { missingCapability } from "../strategies/capabilities.js";
import { findStrategy } from "../strategies/registry.js";
import { lockServiceOf, type StrategyDefinition } from "../strategies/strategy.js";
import type { RunConfig } from "../config/run.js";
import type { EtcdClusterTarget } from "./nemeses.js";

/** What a pre-flight decided: the config with concrete URLs, what was skipped and why, what to stop after. */
export interface Preflight {
  readonly config: RunConfig;
  readonly skipped: readonly { readonly strategy: string; readonly reason: string }[];
  readonly notes: readonly string[];
  /** Set when a strategy that was asked for by name cannot run; `kind` is what the failure is counted as. */
  readonly unavailable?: { readonly strategy: string; readonly message: string; readonly kind: ErrorKind };
  /** By service: restarts the (first) server regbench started for the run (the restart:redis nemesis). */
  readonly restarts?: Readonly<Record<string, () => Promise<void>>>;
  /** By service: the cluster regbench started for the run, whose members the member nemeses kill or stop by PID. */
  readonly clusters?: Readonly<Record<string, EtcdClusterTarget>>;
  stop(): Promise<void>;
}

/**
 * A lock service the strategies `needing` depend on cannot be had: they are skipped with a note when they came from
 * `--strategy all`, else the first of them is reported as unavailable (exit 3).
 */
function serviceMissing(config: RunConfig, needing: readonly string[], message: string, notes: readonly string[], stop: () => Promise<void>): Preflight {
  if (config.selection === "all") {
    return {
      config: { ...config, strategies: config.strategies.filter((s) => !needing.includes(s)) },
      skipped: needing.map((strategy) => ({ strategy, reason: message })),
      notes: [...notes, `skipped ${needing.join(", ")}: ${message}`],
      stop,
    };
  }
  return { config, skipped: [], notes, unavailable: { strategy: needing[0]!, message, kind: "lock-service-unavailable" }, stop };
}

/**
 * Makes sure the strategies of a run that lock in `service` have it before any of them starts, within a few seconds:
 * probes every URL, or starts throwaway servers for `auto`, and either skips those strategies (when they came from
 * `--strategy all`) or reports the first that cannot run.
 */
export async function prepareLockService(
  config: RunConfig,
  service: LockService,
  find: (name: string) => StrategyDefinition | undefined = findStrategy,
): Promise<Preflight> {
  const needing = config.strategies.filter((name) => lockServiceOf(find(name)) === service.name);
  if (needing.length === 0) return { config, skipped: [], notes: [], stop: async () => {} };
  const location = locationOf(config.lockServices, service);
  const prepared = await service.prepare(location, {
    strategies: needing,
    overAllNodes: needing.filter((name) => find(name)!.needs.lockService!.nodes === "all"),
    // restart:redis restarts a server regbench started, never one that was already there.
    ownServer: (config.nemeses ?? []).some((n) => n.kind === `restart-${service.name}`),
  });
  const stop = () => prepared.stop();
  if (prepared.problem !== undefined || prepared.urls === undefined)
    return serviceMissing(config, needing, prepared.problem ?? `no ${service.title}`, prepared.notes, stop);
  return {
    config: { ...config, lockServices: { ...config.lockServices, [service.name]: { ...location, urls: prepared.urls } } },
    skipped: [],
    notes: prepared.notes,
    ...(prepared.restart ? { restarts: { [service.name]: prepared.restart } } : {}),
    ...(prepared.cluster ? { clusters: { [service.name]: clusterTarget(prepared.cluster) } } : {}),
    stop,
  };
}

/** A throwaway cluster as the member nemeses act on it. */
function clusterTarget(cluster: ThrowawayCluster): EtcdClusterTarget {
  return {
    urls: cluster.urls,
    get pids() {
      return cluster.pids;
    },
    dead: new Set<number>(),
    restartMember: (index) => cluster.restartMember(index),
  };
}

/**
 * What the strategies of a run declare they need, checked before any lock service is probed or started: the store
 * capabilities, and a lock service the pre-flight knows (whether it answers is `prepareLockService`'s). Under `--strategy all` a strategy that
 * cannot have them is skipped with a note (as the Redis strategies are without a Redis); asked for by name, the
 * first such strategy is reported as unavailable. Nothing is checked against a `--target`: its store is its own.
 */
export function prepareStrategyNeeds(config: RunConfig, find: (name: string) => StrategyDefinition | undefined = findStrategy): Preflight {
  const stop = async () => {};
  const blocked: { strategy: string; reason: string; kind: ErrorKind }[] = [];
  for (const strategy of config.strategies) {
    const definition = find(strategy);
    if (!definition) continue;
    const service = lockServiceOf(definition);
    if (service !== undefined && !findLockService(service)) {
      blocked.push({ strategy, reason: `it locks in ${JSON.stringify(service)}, a lock service regbench cannot reach`, kind: "internal" });
      continue;
    }
    const missing = config.http.target === undefined ? missingCapability(definition, config.store) : undefined;
    if (missing) blocked.push({ strategy, reason: missing, kind: "store" });
  }
  if (blocked.length === 0) return { config, skipped: [], notes: [], stop };
  if (config.selection !== "all") {
    const first = blocked[0]!;
    return { config, skipped: [], notes: [], unavailable: { strategy: first.strategy, message: first.reason, kind: first.kind }, stop };
  }
  const names = blocked.map((b) => b.strategy);
  return {
    config: { ...config, strategies: config.strategies.filter((s) => !names.includes(s)) },
    skipped: blocked.map(({ strategy, reason }) => ({ strategy, reason })),
    notes: blocked.map(({ strategy, reason }) => `skipped ${strategy}: ${reason}`),
    stop,
  };
}

/**
 * Every pre-flight a run needs (the strategies' declared needs, then each lock service of the registry), one after
 * the other; stops what it started if a later one fails.
 */
export async function prepareLockServices(config: RunConfig, find: (name: string) => StrategyDefinition | undefined = findStrategy): Promise<Preflight> {
  const needs = prepareStrategyNeeds(config, find);
  if (needs.unavailable) return needs;
  let run = needs.config;
  const skipped = [...needs.skipped];
  const notes = [...needs.notes];
  const stops: (() => Promise<void>)[] = [];
  let restarts: Record<string, () => Promise<void>> = {};
  let clusters: Record<string, EtcdClusterTarget> = {};
  const stop = async () => {
    // The last started, the first stopped.
    for (const s of [...stops].reverse()) await s();
  };
  for (const service of lockServices()) {
    const prepared = await prepareLockService(run, service, find);
    stops.push(() => prepared.stop());
    for (const skip of prepared.skipped) skipped.push(skip);
    for (const note of prepared.notes) notes.push(note);
    if (prepared.unavailable) return { config: prepared.config, skipped, notes, unavailable: prepared.unavailable, restarts, clusters, stop };
    restarts = { ...restarts, ...prepared.restarts };
    clusters = { ...clusters, ...prepared.clusters };
    run = prepared.config;
  }
  return { config: run, skipped, notes, restarts, clusters, stop };
}
