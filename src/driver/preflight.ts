import { describeEtcdProblem, probeEtcd, startEtcdHint, type EtcdProblem } from "../etcd/client.js";
import { etcdOnPath, startThrowawayEtcd, type ThrowawayEtcd } from "../etcd/autoServer.js";
import { describeRedisProblem, probeRedis, startRedisHint } from "../redis/client.js";
import { redisServerOnPath, startThrowawayRedis, type ThrowawayRedis } from "../redis/autoServer.js";
import type { ErrorKind } from "../core/errors.js";
import { missingCapability } from "../strategies/capabilities.js";
import { findStrategy } from "../strategies/registry.js";
import { DEFAULT_STRATEGY_SETTINGS, lockServiceOf, type StrategyDefinition } from "../strategies/strategy.js";
import type { RunConfig } from "../config/run.js";
import type { EtcdClusterTarget } from "./nemeses.js";

/** What a pre-flight decided: the config with concrete URLs, what was skipped and why, what to stop after. */
export interface Preflight {
  readonly config: RunConfig;
  readonly skipped: readonly { readonly strategy: string; readonly reason: string }[];
  readonly notes: readonly string[];
  /** Set when a strategy that was asked for by name cannot run; `kind` is what the failure is counted as. */
  readonly unavailable?: { readonly strategy: string; readonly message: string; readonly kind: ErrorKind };
  /** Set when regbench started the run's (first) Redis itself: the restart:redis nemesis restarts it. */
  readonly restartRedis?: () => Promise<void>;
  /** Set when regbench started the run's etcd itself: the etcd member nemeses kill or stop its members by PID. */
  readonly etcdCluster?: EtcdClusterTarget;
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
      notes: [`skipped ${needing.join(", ")}: ${message}`],
      stop,
    };
  }
  return { config, skipped: [], notes, unavailable: { strategy: needing[0]!, message, kind: "redis-unavailable" }, stop };
}

/** Redlock wants independent nodes; this many are started by `--redis auto`. */
const AUTO_REDLOCK_NODES = 3;

/**
 * Makes sure the Redis strategies of a run have a Redis before any of them starts, within a few seconds: probes
 * every URL, starts throwaway servers for `--redis auto`, and either skips the Redis strategies (when they came
 * from `--strategy all`) or reports the first that cannot run.
 */
export async function prepareRedis(config: RunConfig): Promise<Preflight> {
  const needing = config.strategies.filter((name) => lockServiceOf(findStrategy(name)) === "redis");
  const none = { config, skipped: [], notes: [], stop: async () => {} };
  if (needing.length === 0) return none;
  const needAll = needing.some((name) => findStrategy(name)!.needs.lockService!.nodes === "all");
  const notes: string[] = [];
  const servers: ThrowawayRedis[] = [];
  let urls: readonly string[] | undefined;
  let problem: string | undefined;

  if (config.redis.urls === "auto") {
    const url = DEFAULT_STRATEGY_SETTINGS.redis.urls[0]!;
    const down = await probeRedis(url);
    // restart:redis restarts a Redis regbench started, never one that was already there.
    const ownNeeded = (config.nemeses ?? []).some((n) => n.kind === "restart-redis");
    if (ownNeeded && !redisServerOnPath()) {
      problem = `restart:redis needs a redis-server on the PATH to start (and restart) for the run: ${startRedisHint(url)}`;
    } else if (!down && !needAll && !ownNeeded) {
      urls = [url];
      notes.push(`--redis auto: using the Redis that answers on ${url}`);
    } else if (redisServerOnPath()) {
      const count = needAll ? AUTO_REDLOCK_NODES : 1;
      for (let i = 0; i < count; i++) servers.push(await startThrowawayRedis());
      urls = servers.map((s) => s.url);
      notes.push(`--redis auto: started ${count} throwaway redis-server on ${urls.join(", ")}; stopped after the run`);
    } else if (!down) {
      urls = [url];
    } else {
      problem =
        down.kind === "unreachable"
          ? `nothing answers on ${url} (${down.reason}) and there is no redis-server on the PATH to start: ${startRedisHint(url)}`
          : describeRedisProblem(url, down);
    }
  } else {
    const probes = await Promise.all(config.redis.urls.map(async (url) => ({ url, down: await probeRedis(url) })));
    const failed = probes.filter((p) => p.down !== undefined);
    if (failed.length > 0) {
      problem = failed.map((f) => describeRedisProblem(f.url, f.down!)).join("; ");
    } else {
      urls = config.redis.urls;
    }
  }

  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  if (problem !== undefined || urls === undefined) return serviceMissing(config, needing, problem ?? "no Redis", notes, stop);
  if (needing.includes("redlock") && urls.length < 3) {
    notes.push(
      `redlock runs over ${urls.length} node(s), quorum ${Math.floor(urls.length / 2) + 1}: pass three --redis URLs (or --redis auto) for a real quorum`,
    );
  }
  const first = servers[0];
  return { config: { ...config, redis: { ...config.redis, urls } }, skipped: [], notes, ...(first ? { restartRedis: () => first.restart() } : {}), stop };
}

/**
 * Makes sure the etcd strategies of a run have an etcd before any of them starts: probes every URL (3 s), starts a
 * throwaway one (or a cluster, `--etcd auto:3`) for `--etcd auto` when the default URL does not answer, and either
 * skips the etcd strategies (from `--strategy all`) or reports the first that cannot run.
 */
export async function prepareEtcd(config: RunConfig): Promise<Preflight> {
  const needing = config.strategies.filter((name) => lockServiceOf(findStrategy(name)) === "etcd");
  if (needing.length === 0) return { config, skipped: [], notes: [], stop: async () => {} };
  const notes: string[] = [];
  let cluster: ThrowawayEtcd | undefined;
  let urls: readonly string[] | undefined;
  let problem: string | undefined;
  if (config.etcd.urls === "auto") {
    const url = DEFAULT_STRATEGY_SETTINGS.etcd.urls[0]!;
    const down: EtcdProblem | undefined = config.etcd.autoMembers > 1 ? { kind: "unreachable", reason: "a cluster was asked for" } : await probeEtcd(url, 3000);
    if (!down) {
      urls = [url];
      notes.push(`--etcd auto: using the etcd that answers on ${url}`);
    } else if (etcdOnPath()) {
      try {
        cluster = await startThrowawayEtcd(config.etcd.autoMembers);
        urls = cluster.urls;
        notes.push(
          `--etcd auto: started ${cluster.urls.length} throwaway etcd member(s) on ${urls.join(", ")}; stopped, and their data removed, after the run`,
        );
      } catch (error) {
        problem = `could not start a throwaway etcd: ${(error as Error).message}`;
      }
    } else {
      problem =
        down.kind === "unreachable"
          ? `nothing answers on ${url} (${down.reason}) and there is no etcd on the PATH to start: ${startEtcdHint(url)}`
          : describeEtcdProblem(url, down);
    }
  } else {
    const probes = await Promise.all(config.etcd.urls.map(async (url) => ({ url, down: await probeEtcd(url, 3000) })));
    const failed = probes.filter((p) => p.down !== undefined);
    if (failed.length > 0) problem = failed.map((f) => describeEtcdProblem(f.url, f.down!)).join("; ");
    else urls = config.etcd.urls;
  }
  const stop = async () => {
    await cluster?.stop();
  };
  if (problem !== undefined || urls === undefined) return serviceMissing(config, needing, problem ?? "no etcd", notes, stop);
  const started = cluster;
  return {
    config: { ...config, etcd: { ...config.etcd, urls } },
    skipped: [],
    notes,
    ...(started ? { etcdCluster: clusterTarget(started) } : {}),
    stop,
  };
}

/** A throwaway etcd cluster as the member nemeses act on it. */
function clusterTarget(cluster: ThrowawayEtcd): EtcdClusterTarget {
  return {
    urls: cluster.urls,
    get pids() {
      return cluster.pids;
    },
    dead: new Set<number>(),
    restartMember: (index) => cluster.restartMember(index),
  };
}

/** The lock services a pre-flight knows how to probe (or start); a strategy locking in another cannot run. */
const LOCK_SERVICES: readonly string[] = ["redis", "etcd"];

/**
 * What the strategies of a run declare they need, checked before any lock service is probed or started: the store
 * capabilities, and a lock service the pre-flight knows (whether it answers is `prepareRedis`'s and `prepareEtcd`'s). Under `--strategy all` a strategy that
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
    if (service !== undefined && !LOCK_SERVICES.includes(service)) {
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
 * Every pre-flight a run needs (the strategies' declared needs, Redis, etcd), one after the other; stops what it
 * started if a later one fails.
 */
export async function prepareLockServices(config: RunConfig): Promise<Preflight> {
  const needs = prepareStrategyNeeds(config);
  if (needs.unavailable) return needs;
  const redis = await prepareRedis(needs.config);
  if (redis.unavailable) return { ...redis, skipped: [...needs.skipped, ...redis.skipped], notes: [...needs.notes, ...redis.notes] };
  const etcd = await prepareEtcd(redis.config);
  return {
    config: etcd.config,
    skipped: [...needs.skipped, ...redis.skipped, ...etcd.skipped],
    notes: [...needs.notes, ...redis.notes, ...etcd.notes],
    ...(etcd.unavailable ? { unavailable: etcd.unavailable } : {}),
    ...(redis.restartRedis ? { restartRedis: redis.restartRedis } : {}),
    ...(etcd.etcdCluster ? { etcdCluster: etcd.etcdCluster } : {}),
    stop: async () => {
      await etcd.stop();
      await redis.stop();
    },
  };
}
