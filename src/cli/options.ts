import { availableParallelism } from "node:os";
import { parseCidr, poolSize } from "../core/ipv4.js";
import {
  canKillConnections,
  DEFAULT_STORE_SPEC,
  describeStoreSpec,
  isServerStore,
  isShareable,
  ISOLATIONS,
  parseStoreSpec,
  type Isolation,
  type StoreSpec,
} from "../store/registry.js";
import { describeFault, parseFault, type Fault } from "../faults/faults.js";
import { describeNemesis, ETCD_MEMBER_NEMESES, INSTANCE_NEMESES, instanceOf, parseNemesis, serviceOf, type Nemesis } from "../faults/nemesis.js";
import { DEFAULT_REDIS_LOCK_SETTINGS } from "../locks/redisLock.js";
import { checkEtcdUrl } from "../etcd/client.js";
import { FLAG, SCENARIO_KEYS } from "./optionTable.js";
import type { RunConditions } from "../report/result.js";
import { checkRedisUrl } from "../redis/client.js";
import { missingCapability } from "../strategies/capabilities.js";
import { findStrategy, strategyNames } from "../strategies/registry.js";
import { defaultShardCount, DEFAULT_STRATEGY_SETTINGS, lockServiceOf, type LockKeyMode } from "../strategies/strategy.js";
import { nextPowerOfTwo } from "../sync/fnv.js";
import { DEFAULT_WORKLOAD, type RunConfig } from "../config/run.js";
import { loadScenario, shippedScenarios } from "../workload/scenario.js";
import type { Secrets } from "./secrets.js";
import { loadProfile, ProfileError, shippedProfiles, type ProfileSpec } from "../driver/profile/spec.js";
import { describeAuditDb, parseAuditDb, type AuditDb } from "../audit/auditDb.js";
import { parseAgent, parseStartAt, shareOf } from "./agentOptions.js";
import { maskSecrets } from "../core/mask.js";
import { maxOf } from "../stats/extent.js";
import { foreignSqliteFile } from "../store/sqlite.js";

const NO_SECRETS: Secrets = Object.freeze({ projects: [], serverKey: undefined, auditToken: undefined });

/** A flag or scenario value that cannot be used: exit 2, the flag named, the fix given. */
export class UsageError extends Error {
  constructor(
    readonly flag: string,
    problem: string,
    readonly fix: string,
  ) {
    super(`${flag} ${problem}. ${fix}`);
  }
}

/** Raw option values as commander hands them over (strings), or as a scenario file holds them. */
export type RawOptions = Readonly<Record<string, unknown>>;

/** Scenario files name options as the long flags do (`db-latency`); map them to option keys. */
function scenarioKey(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function text(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * Upper bounds of the numeric options, each with its reason: beyond it a value would exhaust memory, overflow a
 * 32-bit field, or overflow node's timers. Checked as safe integers, never through 32-bit operators.
 */
export const LIMITS = Object.freeze({
  /** -n plus a --warmup count: the run keeps ~13 bytes per request (its source, its acknowledgement). */
  requests: { max: 100_000_000, why: "the run keeps about 13 bytes per request; 100,000,000 is about 1.3 GB" },
  /** -c and a --stages concurrency: one sender each, and over HTTP one connection each. */
  concurrency: { max: 100_000, why: "each is a sender in memory and, over HTTP, a connection" },
  /** Systems are picked by a 32-bit hash. */
  systems: { max: 2 ** 32 - 1, why: "systems are picked by a 32-bit hash" },
  /** Each project is created in the store, with its own key, before the run. */
  projects: { max: 10_000, why: "each project is created in the store, with its key, before the run" },
  /** The workload's PRNG takes 32 bits: a larger seed would repeat a smaller one's workload. */
  seed: { max: 2 ** 32 - 1, why: "the workload's generator takes a 32-bit seed" },
  /** Every shard's lock is allocated up front, and a shard is picked by a 32-bit hash. */
  shards: { max: 65_536, why: "every shard's lock is allocated up front" },
  /** A server process each. */
  instances: { max: 64, why: "each is a server process" },
  /** node's timers hold 32-bit milliseconds: a longer delay fires at once. */
  durationMs: { max: 2 ** 31 - 1, why: "node's timers hold at most 2^31 − 1 ms (24.8 days); a longer one fires at once" },
});

function integer(key: string, value: unknown, min: number, example: string, max = Number.MAX_SAFE_INTEGER, why = ""): number {
  const s = String(value).trim().replace(/_/g, "");
  const n = /^[+-]?\d+(e\d+)?$/i.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new UsageError(FLAG[key] ?? key, `must be a whole number ≥ ${min} (got ${text(value)})`, `For example: ${example}.`);
  }
  if (n > max) throw new UsageError(FLAG[key] ?? key, `must be at most ${max} (got ${text(value)}): ${why}`, `For example: ${example}.`);
  return n;
}

function ratio(key: string, value: unknown, example: string): number {
  const n = Number(value);
  if (String(value).trim() === "" || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new UsageError(FLAG[key] ?? key, `must be a ratio between 0 and 1 (got ${text(value)})`, `For example: ${example}.`);
  }
  return n;
}

/** What decides whether a run can apply a nemesis. */
interface NemesisContext {
  readonly mode: string;
  readonly target: string | undefined;
  readonly instances: number;
  readonly redisAuto: boolean;
  readonly usesRedis: boolean;
  readonly usesEtcd: boolean;
  /** Members of the throwaway etcd of `--etcd auto[:N]`; 0 when `--etcd` names servers. */
  readonly etcdAutoMembers: number;
  readonly store: StoreSpec;
  readonly durationMs: number | undefined;
}

/**
 * `--nemesis` values, parsed and checked against the run: a nemesis the run cannot apply is a usage error that
 * names why, before anything starts.
 */
function parseNemeses(values: readonly string[], run: NemesisContext): Nemesis[] {
  const nemeses: Nemesis[] = [];
  for (const value of values) {
    const n = parseNemesis(value, parseDurationMs);
    if (typeof n === "string")
      throw new UsageError("--nemesis", `is not understood: ${n}`, "For example: --nemesis pause:instance:3s@2s (regbench nemeses lists the kinds).");
    const cannot = (problem: string, fix: string) => new UsageError("--nemesis", `${n.spec} ${problem}`, fix);
    if (run.target !== undefined)
      throw cannot(
        "cannot be applied to a --target: regbench does not control that server",
        "Drop --nemesis, or use --mode http, which starts regbench's own server.",
      );
    if (INSTANCE_NEMESES.includes(n.kind)) {
      if (run.mode !== "http")
        throw cannot("needs server instances, and an in-process run has none", "Add --mode http: regbench then starts its own server instances.");
      const needed = n.kind === "pause-instance" ? 1 : 2;
      if (run.instances < needed)
        throw cannot(
          "would end the only instance: the server would be gone, not degraded",
          "Add --instances 2 (or more), so that the others go on while one dies.",
        );
      const which = instanceOf(n);
      if (which !== undefined && which > run.instances)
        throw cannot(`names instance #${which}, but the run has ${run.instances}`, `Use #1 to #${run.instances}, or raise --instances.`);
    }
    if (n.kind === "restart-redis") {
      if (!run.usesRedis) throw cannot("needs a Redis strategy to disturb", "Add a Redis strategy (redis, redis-fenced, redis-db…), or drop this nemesis.");
      if (!run.redisAuto)
        throw cannot(
          "needs a Redis that regbench starts itself: it never restarts a server it did not start",
          "Use --redis auto (a redis-server on the PATH is then started for the run, and restarted by the nemesis).",
        );
    }
    const service = serviceOf(n);
    if (service !== undefined) {
      if (run.mode !== "http")
        throw cannot(
          "needs server instances whose connections regbench can put a proxy in: an in-process run has none",
          "Add --mode http: regbench then starts its own server instances and puts a fault proxy between them and the service.",
        );
      if (service === "redis" && !run.usesRedis)
        throw cannot(
          "needs a strategy that uses Redis: no strategy of the run connects to it",
          "Add a Redis strategy (redis, redis-fenced, redis-db…), or drop this nemesis.",
        );
      if (service === "etcd" && !run.usesEtcd)
        throw cannot(
          "needs a strategy that uses etcd: no strategy of the run connects to it",
          "Add an etcd strategy (etcd, etcd-fenced), or drop this nemesis.",
        );
      if (service === "store" && !isServerStore(run.store))
        throw cannot(
          `needs a database server: ${describeStoreSpec(run.store)} is opened in the instances' own processes, with no connection to disturb`,
          "Use --store postgres://… or --store mysql://….",
        );
    }
    if (ETCD_MEMBER_NEMESES.includes(n.kind)) {
      if (!run.usesEtcd) throw cannot("needs an etcd strategy to disturb", "Add an etcd strategy (etcd, etcd-fenced), or drop this nemesis.");
      if (run.etcdAutoMembers < 3)
        throw cannot(
          run.etcdAutoMembers === 0
            ? "needs an etcd cluster that regbench starts itself: it never kills or stops a server it did not start"
            : "needs a cluster of three members or more: one member killed or frozen is the whole of etcd, not a member lost",
          "Use --etcd auto:3 (three throwaway members on loopback, an etcd on the PATH).",
        );
      if (n.kind === "kill-etcd-member" && n.member !== undefined && n.member > run.etcdAutoMembers)
        throw cannot(`names etcd member #${n.member}, but the cluster has ${run.etcdAutoMembers}`, `Use #1 to #${run.etcdAutoMembers}, or no #N: the leader.`);
    }
    if (n.kind === "kill-connections-store" && !canKillConnections(run.store.kind))
      throw cannot(`needs a database server: ${describeStoreSpec(run.store)} has no connections to end`, "Use --store postgres://… or --store mysql://….");
    if (run.durationMs !== undefined && n.atMs >= run.durationMs)
      throw cannot(`strikes at ${n.atMs} ms, after the ${run.durationMs} ms measured window`, "Use an @ time within --duration, or a longer --duration.");
    nemeses.push(n);
  }
  return nemeses;
}

/** Milliseconds from `250` (ms), `250us` / `250µs`, `250ms`, `1.5s`, `2m`. */
export function parseDurationMs(value: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(us|µs|ms|s|m)?$/.exec(value.trim());
  if (!match) return undefined;
  const n = Number(match[1]);
  switch (match[2]) {
    case "us":
    case "µs":
      return n / 1000;
    case "s":
      return n * 1000;
    case "m":
      return n * 60_000;
    default:
      return n;
  }
}

function duration(key: string, value: unknown, example: string, allowZero = true): number {
  const ms = parseDurationMs(String(value));
  if (ms === undefined || (!allowZero && ms === 0)) {
    throw new UsageError(
      FLAG[key] ?? key,
      `must be a duration such as 250us, 250ms, 1.5s, 2m or a number of milliseconds${allowZero ? "" : " above 0"} (got ${text(value)})`,
      `For example: ${example}.`,
    );
  }
  if (ms > LIMITS.durationMs.max)
    throw new UsageError(
      FLAG[key] ?? key,
      `must be at most ${LIMITS.durationMs.max} ms (got ${text(value)}): ${LIMITS.durationMs.why}`,
      `For example: ${example}.`,
    );
  return ms;
}

/**
 * Load-generator threads by default: against a target, one more than the cores (a generator thread waits on the
 * network about a third of the time: measured against a fixed-answer nginx on 2 cores, 1/2/3 threads gave
 * 62k/65k/71k requests/s); half the cores when regbench's own server shares this machine with them. At most 8.
 */
export function defaultWorkers(target: boolean): number {
  const cores = availableParallelism();
  return Math.max(1, Math.min(8, target ? cores + 1 : Math.floor(cores / 2)));
}

/** `--stages 30s:200,1m:1000,30s:0` (concurrencies) or `30s:500/s,…` (rates). */
function parseStages(value: unknown): { stages: { durationMs: number; target: number }[]; of: "concurrency" | "rate" } {
  const fix = "For example: --stages 30s:200,1m:1000,30s:0 (ramping the concurrency) or --stages 30s:500/s,1m:2000/s (ramping the rate).";
  const parts = String(value)
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new UsageError("--stages", "is empty", fix);
  const stages: { durationMs: number; target: number }[] = [];
  const kinds = new Set<string>();
  for (const part of parts) {
    const m = /^([^:]+):(\d+(?:\.\d+)?)(\/s)?$/.exec(part);
    const ms = m ? parseDurationMs(m[1]!) : undefined;
    if (!m || ms === undefined || ms <= 0) throw new UsageError("--stages", `has a stage that is not DURATION:TARGET (got ${JSON.stringify(part)})`, fix);
    if (ms > LIMITS.durationMs.max)
      throw new UsageError("--stages", `has a stage longer than ${LIMITS.durationMs.max} ms (got ${JSON.stringify(part)}): ${LIMITS.durationMs.why}`, fix);
    kinds.add(m[3] ? "rate" : "concurrency");
    const target = Number(m[2]);
    if (!m[3] && !Number.isInteger(target)) throw new UsageError("--stages", `has a concurrency that is not a whole number (got ${JSON.stringify(part)})`, fix);
    if (!m[3] && target > LIMITS.concurrency.max)
      throw new UsageError("--stages", `has a concurrency above ${LIMITS.concurrency.max} (got ${JSON.stringify(part)}): ${LIMITS.concurrency.why}`, fix);
    if (m[3] && !Number.isFinite(target)) throw new UsageError("--stages", `has a rate that is not a finite number (got ${JSON.stringify(part)})`, fix);
    stages.push({ durationMs: ms, target });
  }
  if (kinds.size > 1) throw new UsageError("--stages", "mixes concurrencies and rates", `${fix} Every stage is one or the other.`);
  if (stages.every((s) => s.target === 0)) throw new UsageError("--stages", "never sends: every target is 0", fix);
  return { stages, of: kinds.has("rate") ? "rate" : "concurrency" };
}

/** Expands `--strategy` (a comma list, `all`) against the registry. */
export function parseStrategies(value: unknown): string[] {
  const known = strategyNames();
  const names = String(value)
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new UsageError("--strategy", "is empty", `Name one or more of ${known.join(", ")}, or all.`);
  const out: string[] = [];
  for (const name of names) {
    if (name === "all") for (const k of known) out.push(k);
    else if (known.includes(name)) out.push(name);
    else
      throw new UsageError(
        "--strategy",
        `names an unknown strategy ${JSON.stringify(name)}`,
        `Known strategies: ${known.join(", ")} (or all); \`regbench strategies\` describes them.`,
      );
  }
  return [...new Set(out)];
}

/**
 * Turns flags (and a scenario file under them) into one validated, frozen `RunConfig`. Precedence: defaults,
 * then the scenario's options, then flags given on the command line. Throws `UsageError` before anything runs.
 */
export function buildRunConfig(cli: RawOptions, secrets: Secrets = NO_SECRETS): RunConfig {
  let scenario: string | undefined;
  let scenarioThresholds: readonly string[] = [];
  const merged: Record<string, unknown> = {};
  if (cli.scenario !== undefined) {
    const file = loadScenario(String(cli.scenario));
    if (typeof file === "string")
      throw new UsageError("--scenario", `cannot be used: ${file}`, `Pass a scenario file or one of the shipped names: ${shippedScenarios().join(", ")}.`);
    scenario = file.name;
    scenarioThresholds = file.thresholds ?? [];
    for (const [name, value] of Object.entries(file.options)) {
      const key = scenarioKey(name);
      if (!SCENARIO_KEYS.has(key))
        throw new UsageError(
          "--scenario",
          `file ${JSON.stringify(file.name)} sets an unknown option ${JSON.stringify(name)}`,
          `Use the long flag names of the workload's options: ${[...SCENARIO_KEYS].map((k) => FLAG[k]!.split(" ")[0]!.replace(/^--/, "")).join(", ")} (secrets, outputs and gates stay on the command line; a scenario's gates go under "thresholds").`,
        );
      merged[key] = value;
    }
  }
  for (const [key, value] of Object.entries(cli)) if (value !== undefined && key !== "scenario") merged[key] = value;
  const get = (key: string) => merged[key];
  const has = (key: string) => merged[key] !== undefined;

  const strategies = has("target") ? ["target"] : parseStrategies(has("strategy") ? get("strategy") : "all");
  const selection =
    !has("strategy") ||
    String(get("strategy"))
      .split(",")
      .some((s) => s.trim() === "all")
      ? ("all" as const)
      : ("explicit" as const);
  const requests = has("requests") ? integer("requests", get("requests"), 1, "-n 10000", LIMITS.requests.max, LIMITS.requests.why) : DEFAULT_WORKLOAD.requests;
  const concurrency = has("concurrency")
    ? integer("concurrency", get("concurrency"), 1, "-c 100", LIMITS.concurrency.max, LIMITS.concurrency.why)
    : DEFAULT_WORKLOAD.concurrency;
  let rate: number | undefined;
  if (has("rate")) {
    rate = Number(get("rate"));
    if (!Number.isFinite(rate) || rate <= 0 || String(get("rate")).trim() === "")
      throw new UsageError("--rate", `must be a number of requests per second above 0 (got ${text(get("rate"))})`, "For example: --rate 2000.");
  }
  // --warmup is a count of registrations, or a time (any duration with a unit).
  let warmup: number = DEFAULT_WORKLOAD.warmup;
  let warmupMs: number | undefined;
  if (has("warmup")) {
    if (/^\s*\d+\s*$/.test(String(get("warmup")))) warmup = integer("warmup", get("warmup"), 0, "--warmup 500", LIMITS.requests.max, LIMITS.requests.why);
    else warmupMs = duration("warmup", get("warmup"), "--warmup 500 (registrations) or --warmup 5s", false);
  }
  if (warmup + requests > LIMITS.requests.max)
    throw new UsageError(
      "--warmup",
      `and -n add up to ${warmup + requests}, more than ${LIMITS.requests.max}: ${LIMITS.requests.why}`,
      "Send fewer requests, or bound the run by --duration instead.",
    );
  const durationMs = has("duration") ? duration("duration", get("duration"), "--duration 30s", false) : undefined;
  if (durationMs !== undefined && has("requests") && cli.requests !== undefined) {
    throw new UsageError(
      "--duration",
      "cannot be combined with -n: a run is bounded by requests or by time",
      "Drop -n to run for --duration, or drop --duration to send -n requests.",
    );
  }
  const stagesParsed = has("stages") ? parseStages(get("stages")) : undefined;
  if (stagesParsed && (durationMs !== undefined || (has("requests") && cli.requests !== undefined))) {
    throw new UsageError(
      "--stages",
      "cannot be combined with -n or --duration: the stages decide how long the run lasts",
      "Drop -n and --duration, or drop --stages.",
    );
  }
  if (stagesParsed?.of === "rate" && has("rate"))
    throw new UsageError(
      "--stages",
      "with rates (N/s) cannot be combined with --rate: the stages give the rate",
      "Drop --rate, or give the stages as concurrencies (30s:200).",
    );
  const systems = has("systems") ? integer("systems", get("systems"), 1, "--systems 100", LIMITS.systems.max, LIMITS.systems.why) : DEFAULT_WORKLOAD.systems;
  const projects = has("projects")
    ? integer("projects", get("projects"), 1, "--projects 4", LIMITS.projects.max, LIMITS.projects.why)
    : DEFAULT_WORKLOAD.projects;
  const resend = has("resend") ? ratio("resend", get("resend"), "--resend 0.1") : DEFAULT_WORKLOAD.resend;
  const dbLatencyMs = has("dbLatency") ? duration("dbLatency", get("dbLatency"), "--db-latency 1") : DEFAULT_WORKLOAD.dbLatencyMs;
  const seed = has("seed") ? integer("seed", get("seed"), 0, "--seed 42", LIMITS.seed.max, LIMITS.seed.why) : Math.floor(Math.random() * 2 ** 31);
  const cidrText = has("cidr") ? String(get("cidr")) : DEFAULT_WORKLOAD.cidr;
  const cidr = parseCidr(cidrText);
  if (!cidr)
    throw new UsageError(
      "--cidr",
      `is not an IPv4 network with a prefix from /1 to /29 (got ${JSON.stringify(cidrText)})`,
      "For example: --cidr 10.0.0.0/12 (the address must be the network's first).",
    );
  const storeSpec: StoreSpec | string = has("store") ? parseStoreSpec(String(get("store"))) : DEFAULT_STORE_SPEC;
  if (typeof storeSpec === "string")
    throw new UsageError(
      "--store",
      `is not understood (got ${JSON.stringify(get("store"))}): ${storeSpec}`,
      "For example: --store sqlite, --store postgres://postgres@127.0.0.1:5432/test or --store mysql://root@127.0.0.1:3306/test.",
    );
  const foreign = storeSpec.kind === "sqlite" && "path" in storeSpec && storeSpec.path !== undefined ? foreignSqliteFile(storeSpec.path) : undefined;
  if (foreign)
    throw new UsageError(
      cli.store !== undefined ? "--store" : "--scenario",
      `names a file regbench will not write into: ${foreign}`,
      "Name a new file (or an earlier regbench store) with sqlite:PATH, or leave --store out for a temporary one.",
    );
  const pool = has("pool") ? integer("pool", get("pool"), 1, "--pool 16") : undefined;
  const isolationText = has("isolation") ? String(get("isolation")) : undefined;
  if (isolationText !== undefined && !ISOLATIONS.includes(isolationText as Isolation)) {
    throw new UsageError(
      "--isolation",
      `must be one of ${ISOLATIONS.join(", ")} (got ${JSON.stringify(isolationText)})`,
      "For example: --isolation serializable; leave it out for the database's default.",
    );
  }
  if (!isServerStore(storeSpec)) {
    for (const key of ["pool", "isolation"] as const) {
      if (has(key))
        throw new UsageError(
          FLAG[key]!,
          `applies to database servers only (--store postgres://… or mysql://…), not ${describeStoreSpec(storeSpec)}`,
          `Drop ${FLAG[key]}, or use a postgres:// or mysql:// store.`,
        );
    }
  }
  const keepStore = has("keepStore") && get("keepStore") !== false && get("keepStore") !== "false";
  if (keepStore && storeSpec.kind === "memory")
    throw new UsageError(
      "--keep-store",
      "has nothing to keep in the memory store",
      "Use --store sqlite (kept as regbench-PREFIX.db in this folder), sqlite:PATH, or a database server.",
    );
  // A strategy named in --strategy that needs a capability the store lacks (under `all` it is skipped, with a note).
  if (selection === "explicit" && !has("target")) {
    for (const name of strategies) {
      const definition = findStrategy(name);
      const missing = definition && missingCapability(definition, storeSpec);
      if (missing) throw new UsageError("--store", `cannot run ${name}: ${missing}`, `Use a store that has it, or leave ${name} out of --strategy.`);
    }
  }
  const shards = has("shards") ? integer("shards", get("shards"), 1, "--shards 32", LIMITS.shards.max, LIMITS.shards.why) : defaultShardCount();
  // By arithmetic: 32-bit operators (`n & (n - 1)`) would truncate values above 2^31 and pass 2^32 + 2^k.
  if (nextPowerOfTwo(shards) !== shards)
    throw new UsageError(
      "--shards",
      `must be a power of two (got ${shards})`,
      `Use ${2 ** Math.ceil(Math.log2(shards))} or ${2 ** Math.floor(Math.log2(shards))}.`,
    );
  const lockTimeoutMs = has("lockTimeout") ? duration("lockTimeout", get("lockTimeout"), "--lock-timeout 5s", false) : DEFAULT_STRATEGY_SETTINGS.lockTimeoutMs;
  const lockKeyText = has("lockKey") ? String(get("lockKey")) : undefined;
  if (lockKeyText !== undefined && lockKeyText !== "system" && lockKeyText !== "project")
    throw new UsageError(
      "--lock-key",
      `must be system or project (got ${JSON.stringify(lockKeyText)})`,
      "Use --lock-key system (the seed's) or --lock-key project.",
    );
  const retries = has("retries") ? integer("retries", get("retries"), 1, "--retries 30") : DEFAULT_STRATEGY_SETTINGS.retry.maxAttempts;
  const redisText = has("redis") ? String(get("redis")) : DEFAULT_STRATEGY_SETTINGS.redis.urls.join(",");
  let urls: string[] | "auto" = "auto";
  if (redisText !== "auto") {
    urls = redisText
      .split(",")
      .map((u) => u.trim())
      .filter(Boolean);
    if (urls.length === 0) throw new UsageError("--redis", "is empty", "Pass a URL such as redis://127.0.0.1:6379, a comma list of them, or auto.");
    for (const url of urls) {
      const problem = checkRedisUrl(url);
      if (problem) throw new UsageError("--redis", `has ${problem}`, "Pass URLs such as redis://127.0.0.1:6379 (comma-separated for redlock), or auto.");
    }
  }
  const etcdText = has("etcd") ? String(get("etcd")) : DEFAULT_STRATEGY_SETTINGS.etcd.urls.join(",");
  let etcdUrls: string[] | "auto" = "auto";
  let autoMembers = 1;
  const autoMatch = /^auto(?::(\d+))?$/.exec(etcdText);
  if (autoMatch) {
    autoMembers = autoMatch[1] === undefined ? 1 : Number(autoMatch[1]);
    if (autoMembers !== 1 && autoMembers !== 3 && autoMembers !== 5)
      throw new UsageError(
        "--etcd",
        `auto:${autoMatch[1]} is not a cluster size regbench starts`,
        "Use --etcd auto (one member) or --etcd auto:3 (a three-member cluster).",
      );
  } else {
    etcdUrls = etcdText
      .split(",")
      .map((u) => u.trim())
      .filter(Boolean);
    if (etcdUrls.length === 0)
      throw new UsageError("--etcd", "is empty", "Pass a URL such as http://127.0.0.1:2379, a comma list of a cluster's members, or auto.");
    for (const url of etcdUrls) {
      const problem = checkEtcdUrl(url);
      if (problem)
        throw new UsageError("--etcd", `has ${problem}`, "Pass client URLs such as http://127.0.0.1:2379 (comma-separated for a cluster), auto, or auto:3.");
    }
  }
  const lockNesting = has("lockNesting") && get("lockNesting") !== false && get("lockNesting") !== "false";
  const ttlMs = has("lockTtl") ? duration("lockTtl", get("lockTtl"), "--lock-ttl 10s", false) : DEFAULT_REDIS_LOCK_SETTINGS.ttlMs;
  const waitMs = has("lockWait") ? duration("lockWait", get("lockWait"), "--lock-wait 0 (fail fast) or --lock-wait 5s") : lockTimeoutMs;
  const lockBatch = has("lockBatch")
    ? integer("lockBatch", get("lockBatch"), 1, "--lock-batch 1 (one acquisition per registration)")
    : DEFAULT_STRATEGY_SETTINGS.redis.lockBatch;
  const watchdog = has("watchdog") ? get("watchdog") !== false && get("watchdog") !== "false" : true;
  const faultValues = has("fault") ? ([] as unknown[]).concat(get("fault")) : [];
  const faults: Fault[] = [];
  for (const value of faultValues) {
    const fault = parseFault(String(value));
    if (typeof fault === "string")
      throw new UsageError(
        "--fault",
        `is not understood: ${fault}`,
        "Use --fault pause:0.05:500 (probability, stall in ms), --fault redis-down:2000 or --fault etcd-down:2000 (ms into the run).",
      );
    faults.push(fault);
  }

  const target = has("target") ? String(get("target")) : undefined;
  if (target !== undefined) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(target);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:"))
      throw new UsageError(
        "--target",
        `is not an http:// URL (got ${JSON.stringify(target)})`,
        "For example: --target http://127.0.0.1:8080 (the server's base URL).",
      );
    if (has("strategy"))
      throw new UsageError(
        "--strategy",
        "cannot be combined with --target: the target runs its own strategy",
        "Drop --strategy, or drop --target to let regbench start its own server per strategy.",
      );
  }
  const modeText = has("mode") ? String(get("mode")) : target !== undefined ? "http" : "in-process";
  if (modeText !== "in-process" && modeText !== "http")
    throw new UsageError(
      "--mode",
      `must be in-process or http (got ${JSON.stringify(modeText)})`,
      "Use --mode http to go through regbench's HTTP server, or leave it out.",
    );
  if (target !== undefined && modeText !== "http") throw new UsageError("--mode", "must be http with --target", "Drop --mode, or use --mode http.");
  // Secrets (projects, keys, the audit token) come resolved from the command line, --secrets-file or the
  // environment; given on the command line without a target they are a mistake, from the environment they are ignored.
  for (const key of ["project", "serverKey", "auditToken", "secretsFile", "profile", "auditDb"] as const) {
    if (has(key) && target === undefined)
      throw new UsageError(
        FLAG[key]!,
        "only applies with --target",
        `Drop ${FLAG[key]}: without a target, regbench starts its own servers with their own secrets.`,
      );
  }
  const givenProjects = target !== undefined ? secrets.projects : [];
  if (target !== undefined && givenProjects.length === 0) {
    throw new UsageError(
      "--target",
      "needs at least one project the target knows",
      "Pass --secrets-file FILE (regbench serve prints one), REGBENCH_PROJECTS=ID:KEY in the environment, or --project ID:KEY.",
    );
  }
  const serverKey = target !== undefined ? secrets.serverKey : undefined;
  if (serverKey !== undefined && !/^[0-9a-fA-F]{64}$/.test(serverKey))
    throw new UsageError(
      "--server-key",
      "must be 64 hex digits (a 256-bit AES key)",
      "Pass the key the target was started with, or leave it out to check IPs only.",
    );
  const auditToken = target !== undefined ? secrets.auditToken : undefined;
  let profile: ProfileSpec | undefined;
  if (has("profile")) {
    try {
      profile = loadProfile(String(get("profile")));
    } catch (error) {
      if (!(error instanceof ProfileError)) throw error;
      throw new UsageError(
        "--profile",
        `cannot be used: ${error.message}`,
        `Fix the profile (regbench profile init prints a commented one; regbench profile check tries it), or use a shipped one: ${shippedProfiles().join(", ")}.`,
      );
    }
  }
  if (serverKey !== undefined && profile && profile.config.check !== "sealed")
    throw new UsageError(
      "--server-key",
      `opens sealed configs, but the profile's config check is ${profile.config.check}`,
      "Drop --server-key, or set config.check: sealed in the profile.",
    );
  let auditDb: AuditDb | undefined;
  const auditDbText = target !== undefined ? secrets.auditDb : undefined;
  if (auditDbText !== undefined) {
    const parsed = parseAuditDb(auditDbText, secrets.auditDbPassword);
    if (typeof parsed === "string")
      throw new UsageError(
        "--audit-db",
        parsed,
        "For example: --audit-db postgres://audit@127.0.0.1:5432/devices, mysql://audit@127.0.0.1:3306/devices or sqlite:/var/lib/svc/devices.db.",
      );
    if (!profile?.audit)
      throw new UsageError(
        "--audit-db",
        `needs the queries that list a run's rows, and ${profile ? `the profile ${profile.name}` : "the built-in profile"} has no audit section`,
        "Add audit.systems and audit.machines to the profile (README: Your own service), or drop --audit-db.",
      );
    auditDb = parsed;
  }
  const timeoutMs = has("timeout") ? duration("timeout", get("timeout"), "--timeout 10s", false) : 10_000;
  if (has("timeout") && modeText !== "http")
    throw new UsageError(
      "--timeout",
      "applies to HTTP runs only",
      "Add --mode http or --target, or drop --timeout (in-process registrations wait for their locks with --lock-timeout).",
    );
  if (target !== undefined && faults.length > 0) {
    throw new UsageError(
      "--fault",
      "cannot be injected into a --target: regbench does not control that server",
      "Drop --fault, or use --mode http, which starts regbench's own server per strategy and injects the faults there.",
    );
  }
  const instances = has("instances") ? integer("instances", get("instances"), 1, "--instances 2", LIMITS.instances.max, LIMITS.instances.why) : 1;
  if (has("workers") && modeText !== "http")
    throw new UsageError(
      "--workers",
      "needs --mode http or --target",
      "In-process runs measure the strategy in one thread, as a service instance runs it; generator threads send HTTP requests.",
    );
  const workers = has("workers") ? integer("workers", get("workers"), 1, "--workers 2") : defaultWorkers(target !== undefined);
  if (workers > 64)
    throw new UsageError("--workers", `(${workers}) is more than 64`, "Use at most one generator thread per core: --workers 2 on this machine's cores.");
  if (instances > 1 && modeText !== "http") throw new UsageError("--instances", "needs --mode http", "Add --mode http: instances are server processes.");
  if (instances > 1 && target !== undefined)
    throw new UsageError("--instances", "cannot be combined with --target", "Start the target with regbench serve --instances N instead.");
  if (modeText === "http" && target === undefined && !isShareable(storeSpec)) {
    throw new UsageError(
      "--store",
      `${describeStoreSpec(storeSpec)} cannot be opened by the server, which runs in another process`,
      "Use --store sqlite (a temporary file), sqlite:PATH, or a postgres:// or mysql:// server.",
    );
  }

  const nemeses = parseNemeses(has("nemesis") ? ([] as unknown[]).concat(get("nemesis")).map(String) : [], {
    mode: modeText,
    target,
    instances,
    redisAuto: urls === "auto",
    usesRedis: strategies.some((name) => lockServiceOf(findStrategy(name)) === "redis"),
    usesEtcd: strategies.some((name) => lockServiceOf(findStrategy(name)) === "etcd"),
    etcdAutoMembers: etcdUrls === "auto" ? autoMembers : 0,
    store: storeSpec,
    durationMs,
  });

  // Cross-option checks: each is a mistake that would make the run meaningless rather than merely slow.
  if (projects > systems)
    throw new UsageError(
      "--projects",
      `(${projects}) is more than --systems (${systems}): a project without a system gets no registrations`,
      `Use --systems ${projects} or more, or fewer projects.`,
    );
  const capacity = poolSize(cidr);
  const perProject = durationMs !== undefined || stagesParsed ? 0 : Math.ceil((warmup + requests) / projects);
  if (perProject > capacity)
    throw new UsageError(
      "--cidr",
      `${cidr.text} holds ${capacity} devices, but a project may receive up to ${perProject} registrations`,
      `Use a larger pool, such as --cidr 10.0.0.0/8, or fewer requests.`,
    );

  // Agents of one run: this one sends its share of -n, -c, --rate and the warmup; the totals are kept for the merge.
  const agentOf = parseAgent(get("run"), get("agent"), target);
  const startAt = has("startAt") ? parseStartAt(get("startAt")) : undefined;
  if (startAt !== undefined && target === undefined)
    throw new UsageError("--start-at", "applies to agents driving a --target", "Add --target URL, or drop --start-at.");
  const runs = has("runs") ? integer("runs", get("runs"), 1, "--runs 3") : 1;
  if (agentOf && runs > 1)
    throw new UsageError(
      "--runs",
      "cannot be combined with --run: an agent sends its share of one run once",
      "Drop --runs, and repeat the run with another --run ID.",
    );
  if (agentOf && concurrency < agentOf.of)
    throw new UsageError(
      "--concurrency (-c)",
      `(${concurrency}) is less than the ${agentOf.of} agents: each needs a connection of its own`,
      `Use -c ${agentOf.of} or more (the total over every agent).`,
    );
  if (agentOf && durationMs === undefined && !stagesParsed && requests < agentOf.of)
    throw new UsageError(
      "--requests (-n)",
      `(${requests}) is less than the ${agentOf.of} agents`,
      `Use -n ${agentOf.of} or more (the total over every agent).`,
    );
  const part = (total: number) => (agentOf ? shareOf(total, agentOf.index, agentOf.of) : total);
  const stages = stagesParsed?.stages.map((s) => ({
    durationMs: s.durationMs,
    target: stagesParsed.of === "rate" ? s.target / (agentOf?.of ?? 1) : part(s.target),
  }));

  return Object.freeze({
    strategies: Object.freeze(strategies),
    selection,
    mode: modeText,
    http: Object.freeze({
      workers,
      target: target?.replace(/\/+$/, ""),
      projects: Object.freeze(givenProjects),
      serverKey,
      instances,
      serverWarmup: get("serverWarmup") !== false,
      timeoutMs,
      auditToken,
      ...(profile ? { profile } : {}),
      ...(auditDb ? { auditDb: Object.freeze(auditDb) } : {}),
      ...(agentOf
        ? {
            agent: Object.freeze({
              ...agentOf,
              total: Object.freeze({ requests, concurrency, warmup, ...(rate !== undefined ? { rate } : {}) }),
            }),
          }
        : {}),
      ...(startAt !== undefined ? { startAt } : {}),
    }),
    scenario,
    ...(scenarioThresholds.length ? { scenarioThresholds: Object.freeze([...scenarioThresholds]) } : {}),
    workload: Object.freeze({
      requests: part(requests),
      concurrency: stagesParsed?.of === "concurrency" ? Math.max(1, maxOf(stagesParsed.stages.map((s) => s.target))) : part(concurrency),
      warmup: part(warmup),
      systems,
      projects,
      resend,
      dbLatencyMs,
      seed,
      cidr: cidr.text,
      ...(rate !== undefined ? { rate: rate / (agentOf?.of ?? 1) } : {}),
      ...(warmupMs !== undefined ? { warmupMs } : {}),
      ...(durationMs !== undefined ? { durationMs } : {}),
      ...(stagesParsed ? { stages: Object.freeze(stages!), stagesOf: stagesParsed.of } : {}),
    }),
    strategy: Object.freeze({ lockKey: lockKeyText as LockKeyMode | undefined, lockTimeoutMs, shards, retries, lockNesting }),
    store: Object.freeze(storeSpec),
    storeOptions: Object.freeze({ keep: keepStore, pool, isolation: isolationText as Isolation | undefined }),
    redis: Object.freeze({ urls: urls === "auto" ? urls : Object.freeze(urls), ttlMs, waitMs, watchdog, lockBatch }),
    etcd: Object.freeze({ urls: etcdUrls === "auto" ? etcdUrls : Object.freeze(etcdUrls), autoMembers }),
    faults: Object.freeze(faults),
    ...(nemeses.length ? { nemeses: Object.freeze(nemeses) } : {}),
    runs,
  });
}

/** The config as it appears in the report: plain values, the store described. */
export function describeConfig(config: RunConfig): RunConditions {
  const usesRedis = config.strategies.some((name) => lockServiceOf(findStrategy(name)) === "redis");
  const usesEtcd = config.strategies.some((name) => lockServiceOf(findStrategy(name)) === "etcd");
  const usesLocks = usesRedis || usesEtcd;
  return {
    mode: config.mode,
    ...(config.mode === "http"
      ? {
          target: config.http.target !== undefined ? maskSecrets(config.http.target) : "embedded regbench serve",
          instances: config.http.instances,
          serverWarmup: config.http.target ? null : config.http.serverWarmup,
          timeoutMs: config.http.timeoutMs,
          ...(config.http.target ? { profile: config.http.profile?.name ?? "regbench" } : {}),
          ...(config.http.auditDb ? { auditDb: describeAuditDb(config.http.auditDb) } : {}),
        }
      : {}),
    scenario: config.scenario ?? null,
    strategies: config.strategies,
    ...config.workload,
    ...(config.workload.durationMs !== undefined || config.workload.stages ? { requests: null } : {}),
    // No more generator threads than -c (each needs a connection).
    ...(config.mode === "http" ? { workers: Math.max(1, Math.min(config.http.workers, config.workload.concurrency)) } : {}),
    ...config.strategy,
    lockKey: config.strategy.lockKey ?? "per strategy",
    // Against a --target the rows are in the target's own store, whatever --store says.
    store: maskSecrets(config.http.target ? `the target's own (${config.http.target})` : describeStoreSpec(config.store)),
    ...(isServerStore(config.store) ? { pool: config.storeOptions.pool ?? "default", isolation: config.storeOptions.isolation ?? "database default" } : {}),
    ...(config.storeOptions.keep ? { keepStore: true } : {}),
    ...(usesRedis ? { redis: config.redis.urls === "auto" ? "auto" : maskSecrets(config.redis.urls.join(",")) } : {}),
    ...(usesEtcd
      ? {
          etcd:
            config.etcd.urls === "auto" ? `auto${config.etcd.autoMembers > 1 ? `:${config.etcd.autoMembers}` : ""}` : maskSecrets(config.etcd.urls.join(",")),
        }
      : {}),
    ...(usesLocks
      ? { lockTtlMs: config.redis.ttlMs, lockWaitMs: config.redis.waitMs, watchdog: config.redis.watchdog, lockBatch: config.redis.lockBatch }
      : {}),
    faults: config.faults.map(describeFault),
    ...(config.nemeses?.length ? { nemeses: config.nemeses.map(describeNemesis) } : {}),
    runs: config.runs,
    ...(config.http.agent
      ? { run: config.http.agent.run, agent: `${config.http.agent.index}/${config.http.agent.of}`, runTotal: config.http.agent.total }
      : {}),
    ...(config.http.startAt !== undefined ? { startAt: new Date(config.http.startAt).toISOString() } : {}),
  };
}
