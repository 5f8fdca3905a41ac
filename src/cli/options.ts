import { availableParallelism } from "node:os";
import { poolSize } from "../core/ipv4.js";
import { canKillConnections, DEFAULT_STORE_SPEC, describeStoreSpec, isServerStore, isShareable, type StoreSpec } from "../store/registry.js";
import { describeFault } from "../faults/faults.js";
import { describeNemesis, ETCD_MEMBER_NEMESES, INSTANCE_NEMESES, instanceOf, serviceOf, type Nemesis } from "../faults/nemesis.js";
import { DEFAULT_LOCK_SETTINGS } from "../locks/settings.js";
import { findLockService, lockServices } from "../locks/services/registry.js";
import { locationOf, type LockService, type LockServiceLocation } from "../locks/services/service.js";
import { CORE_OPTIONS, FLAG, longFlag, RUN_OPTIONS, SCENARIO_KEYS, SERVE_OPTIONS, type OptionSpec, type OptionValues } from "./optionTable.js";
import type { RunConditions } from "../report/result.js";
import { missingCapability } from "../strategies/capabilities.js";
import { findStrategy } from "../strategies/registry.js";
import { defaultShardCount, DEFAULT_STRATEGY_SETTINGS, lockServiceOf } from "../strategies/strategy.js";
import { DEFAULT_WORKLOAD, type RunConfig } from "../config/run.js";
import { loadScenario, shippedScenarios } from "../workload/scenario.js";
import type { Secrets } from "./secrets.js";
import { describeAuditDb, parseAuditDb, type AuditDb, type AuditQueries } from "../audit/auditDb.js";
import type { ProfileSpec } from "../driver/profile/spec.js";
import { parseAgent, shareOf } from "./agentOptions.js";
import { maskSecrets } from "../core/mask.js";
import { DEFAULT_SERVER_SETTINGS } from "../http/server.js";
import { maxOf } from "../stats/extent.js";
import { foreignSqliteFile } from "../store/sqlite.js";
import { DEFAULT_MAX_ERROR_RATE, DEFAULT_MAX_REGRESSION, LIMITS, lockServiceLocation, parseStrategies } from "./parsers.js";
import type { Threshold } from "../gate/thresholds.js";
import { parseThresholds } from "./shared.js";
import { UsageError } from "./usageError.js";

export { UsageError } from "./usageError.js";

const NO_SECRETS: Secrets = Object.freeze({ projects: [], serverKey: undefined, auditToken: undefined });

/** Raw option values as commander hands them over (strings), or as a scenario file holds them. */
export type RawOptions = Readonly<Record<string, unknown>>;

/** Scenario files name options as the long flags do (`db-latency`); map them to option keys. */
function scenarioKey(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
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
 * `--nemesis` values (parsed by the table's parser) checked against the run: a nemesis the run cannot apply is a usage error that
 * names why, before anything starts.
 */
function checkNemeses(nemeses: readonly Nemesis[], run: NemesisContext): void {
  for (const n of nemeses) {
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
  }
}

/**
 * Load-generator threads by default: against a target, one per core (measured against a fixed-answer nginx on this
 * 2-core machine, 2 threads beat 3 in each of 6 alternating pairs, by 4–38%: a third thread only takes turns with the
 * others and with a server on the same machine); half the cores when regbench's own server shares this machine with
 * them. At most 8.
 */
function defaultWorkers(target: boolean): number {
  const cores = availableParallelism();
  return Math.max(1, Math.min(8, target ? cores : Math.floor(cores / 2)));
}

/** `run`'s options: the table's rows that shape a run, the core's and run's own. */
const RUN_TABLE = [...CORE_OPTIONS, ...RUN_OPTIONS];
type RunKey = (typeof RUN_TABLE)[number]["key"];
type RunValues = OptionValues<typeof RUN_TABLE>;

/** The options' values from every source, merged, before any is parsed. */
interface MergedOptions {
  /** Each option's value: the command line's, else the scenario file's. */
  readonly values: Readonly<Record<string, unknown>>;
  /** The options given on the command line (a scenario file's are overridden by them). */
  readonly onCommandLine: ReadonlySet<string>;
  readonly scenario?: { readonly name: string; readonly thresholds: readonly string[] };
}

/**
 * Merges the sources of a run's options: the scenario file's (its keys checked against the table), then the command
 * line's over them. The environment's part (secrets, the agent's index) is resolved beforehand, by secrets.ts and
 * agentOptions.ts; defaults come after parsing, some depending on other options (see resolve).
 */
function mergeSources(cli: RawOptions): MergedOptions {
  const values: Record<string, unknown> = {};
  let scenario: MergedOptions["scenario"];
  if (cli.scenario !== undefined) {
    const file = loadScenario(String(cli.scenario));
    if (typeof file === "string")
      throw new UsageError("--scenario", `cannot be used: ${file}`, `Pass a scenario file or one of the shipped names: ${shippedScenarios().join(", ")}.`);
    scenario = { name: file.name, thresholds: file.thresholds ?? [] };
    for (const [name, value] of Object.entries(file.options)) {
      const key = scenarioKey(name);
      if (!SCENARIO_KEYS.has(key))
        throw new UsageError(
          "--scenario",
          `file ${JSON.stringify(file.name)} sets an unknown option ${JSON.stringify(name)}`,
          `Use the long flag names of the workload's options: ${[...SCENARIO_KEYS].map((k) => FLAG[k]!.split(" ")[0]!.replace(/^--/, "")).join(", ")} (secrets, outputs and gates stay on the command line; a scenario's gates go under "thresholds").`,
        );
      values[key] = value;
    }
  }
  const onCommandLine = new Set<string>();
  for (const [key, value] of Object.entries(cli))
    if (value !== undefined && key !== "scenario") {
      values[key] = value;
      onCommandLine.add(key);
    }
  return { values, onCommandLine, ...(scenario ? { scenario } : {}) };
}

/**
 * Parses each given option of `table` whose target is under one of `targets` through its own parser (a bad value
 * throws UsageError naming its flag); an option not given is absent.
 */
function parseOptions<S extends readonly OptionSpec[]>(table: S, values: Readonly<Record<string, unknown>>, targets: readonly string[]): OptionValues<S> {
  const parsed: Record<string, unknown> = {};
  for (const spec of table) {
    const value = values[spec.key];
    if (value === undefined || !targets.some((t) => spec.target.startsWith(`${t}.`))) continue;
    parsed[spec.key] = spec.parse(value, longFlag(spec));
  }
  return parsed as OptionValues<S>;
}

/** A run's options parsed, with their defaults: what the cross-field rules check and the config is built from. */
interface RunDraft {
  readonly values: RunValues;
  /** Given by a flag or the scenario file. */
  readonly given: (key: RunKey) => boolean;
  /** Given on the command line. */
  readonly onCommandLine: (key: RunKey) => boolean;
  readonly secrets: Secrets;
  readonly target: string | undefined;
  readonly mode: "in-process" | "http";
  readonly strategies: readonly string[];
  readonly selection: "explicit" | "all";
  readonly requests: number;
  readonly concurrency: number;
  readonly warmup: number;
  readonly durationMs: number | undefined;
  readonly stages: RunValues["stages"];
  readonly systems: number;
  readonly projects: number;
  readonly store: StoreSpec;
  readonly instances: number;
  readonly runs: number;
}

/** The parsed values with their defaults (some depend on other options: --mode on --target, --workers too). */
function resolve(values: RunValues, merged: MergedOptions, secrets: Secrets): RunDraft {
  const given = (key: RunKey) => merged.values[key] !== undefined;
  const target = values.target;
  return {
    values,
    given,
    onCommandLine: (key) => merged.onCommandLine.has(key),
    secrets,
    target,
    mode: values.mode ?? (target !== undefined ? "http" : "in-process"),
    strategies: target !== undefined ? ["target"] : (values.strategy?.names ?? parseStrategies("all")),
    selection: values.strategy?.selection ?? "all",
    requests: values.requests ?? DEFAULT_WORKLOAD.requests,
    concurrency: values.concurrency ?? DEFAULT_WORKLOAD.concurrency,
    warmup: values.warmup && "count" in values.warmup ? values.warmup.count : DEFAULT_WORKLOAD.warmup,
    durationMs: values.duration,
    stages: values.stages,
    systems: values.systems ?? DEFAULT_WORKLOAD.systems,
    projects: values.projects ?? DEFAULT_WORKLOAD.projects,
    store: values.store ?? DEFAULT_STORE_SPEC,
    instances: values.instances ?? 1,
    runs: values.runs ?? 1,
  };
}

/** A cross-field rule: a mistake that would make the run meaningless rather than merely slow, named, run in order. */
type Rule = (run: RunDraft) => void;

function warmupAndRequestsFitInMemory(run: RunDraft): void {
  if (run.warmup + run.requests > LIMITS.requests.max)
    throw new UsageError(
      "--warmup",
      `and -n add up to ${run.warmup + run.requests}, more than ${LIMITS.requests.max}: ${LIMITS.requests.why}`,
      "Send fewer requests, or bound the run by --duration instead.",
    );
}

function requestsOrDuration(run: RunDraft): void {
  if (run.durationMs !== undefined && run.onCommandLine("requests"))
    throw new UsageError(
      "--duration",
      "cannot be combined with -n: a run is bounded by requests or by time",
      "Drop -n to run for --duration, or drop --duration to send -n requests.",
    );
}

function stagesDecideTheLength(run: RunDraft): void {
  if (run.stages && (run.durationMs !== undefined || run.onCommandLine("requests")))
    throw new UsageError(
      "--stages",
      "cannot be combined with -n or --duration: the stages decide how long the run lasts",
      "Drop -n and --duration, or drop --stages.",
    );
}

function rateStagesOrRate(run: RunDraft): void {
  if (run.stages?.of === "rate" && run.given("rate"))
    throw new UsageError(
      "--stages",
      "with rates (N/s) cannot be combined with --rate: the stages give the rate",
      "Drop --rate, or give the stages as concurrencies (30s:200).",
    );
}

function storeFileIsRegbenchs(run: RunDraft): void {
  const spec = run.store;
  const foreign = spec.kind === "sqlite" && "path" in spec && spec.path !== undefined ? foreignSqliteFile(spec.path) : undefined;
  if (foreign)
    throw new UsageError(
      run.onCommandLine("store") ? "--store" : "--scenario",
      `names a file regbench will not write into: ${foreign}`,
      "Name a new file (or an earlier regbench store) with sqlite:PATH, or leave --store out for a temporary one.",
    );
}

function poolAndIsolationNeedAServerStore(run: RunDraft): void {
  if (isServerStore(run.store)) return;
  for (const key of ["pool", "isolation"] as const) {
    if (run.given(key))
      throw new UsageError(
        FLAG[key]!,
        `applies to database servers only (--store postgres://… or mysql://…), not ${describeStoreSpec(run.store)}`,
        `Drop ${FLAG[key]}, or use a postgres:// or mysql:// store.`,
      );
  }
}

function keepStoreHasSomethingToKeep(run: RunDraft): void {
  if (run.values.keepStore === true && run.store.kind === "memory")
    throw new UsageError(
      "--keep-store",
      "has nothing to keep in the memory store",
      "Use --store sqlite (kept as regbench-PREFIX.db in this folder), sqlite:PATH, or a database server.",
    );
}

/** A strategy named in --strategy that needs a capability the store lacks (under `all` it is skipped, with a note). */
function namedStrategiesFitTheStore(run: RunDraft): void {
  if (run.selection !== "explicit" || run.given("target")) return;
  for (const name of run.strategies) {
    const definition = findStrategy(name);
    const missing = definition && missingCapability(definition, run.store);
    if (missing) throw new UsageError("--store", `cannot run ${name}: ${missing}`, `Use a store that has it, or leave ${name} out of --strategy.`);
  }
}

function targetRunsItsOwnStrategy(run: RunDraft): void {
  if (run.target !== undefined && run.given("strategy"))
    throw new UsageError(
      "--strategy",
      "cannot be combined with --target: the target runs its own strategy",
      "Drop --strategy, or drop --target to let regbench start its own server per strategy.",
    );
}

function targetNeedsHttpMode(run: RunDraft): void {
  if (run.target !== undefined && run.mode !== "http") throw new UsageError("--mode", "must be http with --target", "Drop --mode, or use --mode http.");
}

/**
 * Secrets (projects, keys, the audit token) come resolved from the command line, --secrets-file or the environment;
 * given on the command line without a target they are a mistake, from the environment they are ignored.
 */
function targetOptionsNeedATarget(run: RunDraft): void {
  for (const key of ["project", "serverKey", "auditToken", "secretsFile", "profile", "auditDb"] as const) {
    if (run.given(key) && run.target === undefined)
      throw new UsageError(
        FLAG[key]!,
        "only applies with --target",
        `Drop ${FLAG[key]}: without a target, regbench starts its own servers with their own secrets.`,
      );
  }
}

function targetNeedsAProject(run: RunDraft): void {
  if (run.target !== undefined && run.secrets.projects.length === 0)
    throw new UsageError(
      "--target",
      "needs at least one project the target knows",
      "Pass --secrets-file FILE (regbench serve prints one), REGBENCH_PROJECTS=ID:KEY in the environment, or --project ID:KEY.",
    );
}

function serverKeyIsAnAesKey(run: RunDraft): void {
  const serverKey = run.target !== undefined ? run.secrets.serverKey : undefined;
  if (serverKey !== undefined && !/^[0-9a-fA-F]{64}$/.test(serverKey))
    throw new UsageError(
      "--server-key",
      "must be 64 hex digits (a 256-bit AES key)",
      "Pass the key the target was started with, or leave it out to check IPs only.",
    );
}

function serverKeyOpensSealedConfigs(run: RunDraft): void {
  const profile = run.values.profile;
  if (run.target !== undefined && run.secrets.serverKey !== undefined && profile && profile.config.check !== "sealed")
    throw new UsageError(
      "--server-key",
      `opens sealed configs, but the profile's config check is ${profile.config.check}`,
      "Drop --server-key, or set config.check: sealed in the profile.",
    );
}

function auditDbIsReadWithTheProfilesQueries(run: RunDraft): void {
  const auditDbText = run.target !== undefined ? run.secrets.auditDb : undefined;
  if (auditDbText !== undefined) auditDbOf(auditDbText, run.secrets.auditDbPassword, run.values.profile);
}

/**
 * `--audit-db` as `run` and `merge` take it: the URL (its password filled in from the environment or the secrets
 * file when it has none) and the profile's queries that list a run's rows; exit 2 when either is missing or wrong.
 */
export function auditDbOf(text: string, password: string | undefined, profile: ProfileSpec | undefined): { db: AuditDb; queries: AuditQueries } {
  const parsed = parseAuditDb(text, password);
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
      "Add audit.systems and audit.machines to the profile (README: Your own service) and pass it with --profile, or drop --audit-db.",
    );
  return { db: parsed, queries: profile.audit };
}

function timeoutIsForHttpRuns(run: RunDraft): void {
  if (run.given("timeout") && run.mode !== "http")
    throw new UsageError(
      "--timeout",
      "applies to HTTP runs only",
      "Add --mode http or --target, or drop --timeout (in-process registrations wait for their locks with --lock-timeout).",
    );
}

function faultsNotIntoATarget(run: RunDraft): void {
  if (run.target !== undefined && (run.values.fault?.length ?? 0) > 0)
    throw new UsageError(
      "--fault",
      "cannot be injected into a --target: regbench does not control that server",
      "Drop --fault, or use --mode http, which starts regbench's own server per strategy and injects the faults there.",
    );
}

function workersAreForHttpRuns(run: RunDraft): void {
  if (run.given("workers") && run.mode !== "http")
    throw new UsageError(
      "--workers",
      "needs --mode http or --target",
      "In-process runs measure the strategy in one thread, as a service instance runs it; generator threads send HTTP requests.",
    );
}

function instancesAreRegbenchsServers(run: RunDraft): void {
  if (run.instances > 1 && run.mode !== "http") throw new UsageError("--instances", "needs --mode http", "Add --mode http: instances are server processes.");
  if (run.instances > 1 && run.target !== undefined)
    throw new UsageError("--instances", "cannot be combined with --target", "Start the target with regbench serve --instances N instead.");
}

function httpServersShareTheStore(run: RunDraft): void {
  if (run.mode === "http" && run.target === undefined && !isShareable(run.store))
    throw new UsageError(
      "--store",
      `${describeStoreSpec(run.store)} cannot be opened by the server, which runs in another process`,
      "Use --store sqlite (a temporary file), sqlite:PATH, or a postgres:// or mysql:// server.",
    );
}

/** A lock service's flag as given (flag or scenario), parsed; undefined for its default. */
function lockServiceGiven(values: RunValues, service: LockService | undefined): LockServiceLocation | undefined {
  return service && ((values as Record<string, unknown>)[service.flag] as LockServiceLocation | undefined);
}

function nemesesFitTheRun(run: RunDraft): void {
  const etcd = lockServiceGiven(run.values, findLockService("etcd"));
  checkNemeses(run.values.nemesis ?? [], {
    mode: run.mode,
    target: run.target,
    instances: run.instances,
    redisAuto: lockServiceGiven(run.values, findLockService("redis"))?.urls === "auto",
    usesRedis: run.strategies.some((name) => lockServiceOf(findStrategy(name)) === "redis"),
    usesEtcd: run.strategies.some((name) => lockServiceOf(findStrategy(name)) === "etcd"),
    etcdAutoMembers: etcd?.urls === "auto" ? etcd.autoMembers : 0,
    store: run.store,
    durationMs: run.durationMs,
  });
}

function everyProjectHasASystem(run: RunDraft): void {
  if (run.projects > run.systems)
    throw new UsageError(
      "--projects",
      `(${run.projects}) is more than --systems (${run.systems}): a project without a system gets no registrations`,
      `Use --systems ${run.projects} or more, or fewer projects.`,
    );
}

function poolHoldsEveryRegistration(run: RunDraft): void {
  const cidr = run.values.cidr;
  const text = cidr?.text ?? DEFAULT_WORKLOAD.cidr;
  const capacity = cidr ? poolSize(cidr) : defaultPoolSize();
  const perProject = run.durationMs !== undefined || run.stages ? 0 : Math.ceil((run.warmup + run.requests) / run.projects);
  if (perProject > capacity)
    throw new UsageError(
      "--cidr",
      `${text} holds ${capacity} devices, but a project may receive up to ${perProject} registrations`,
      `Use a larger pool, such as --cidr 10.0.0.0/8, or fewer requests.`,
    );
}

function defaultPoolSize(): number {
  return poolSize(CORE_OPTIONS[0].parse(DEFAULT_WORKLOAD.cidr, "--cidr"));
}

function agentsDriveOneTarget(run: RunDraft): void {
  parseAgent(run.values.run, run.values.agent, run.target);
}

function startAtIsForAgents(run: RunDraft): void {
  if (run.values.startAt !== undefined && run.target === undefined)
    throw new UsageError("--start-at", "applies to agents driving a --target", "Add --target URL, or drop --start-at.");
}

function agentsSendOnce(run: RunDraft): void {
  if (run.values.run !== undefined && run.runs > 1)
    throw new UsageError(
      "--runs",
      "cannot be combined with --run: an agent sends its share of one run once",
      "Drop --runs, and repeat the run with another --run ID.",
    );
}

function agentsEachHaveAConnection(run: RunDraft): void {
  const agent = parseAgent(run.values.run, run.values.agent, run.target);
  if (agent && run.concurrency < agent.of)
    throw new UsageError(
      "--concurrency (-c)",
      `(${run.concurrency}) is less than the ${agent.of} agents: each needs a connection of its own`,
      `Use -c ${agent.of} or more (the total over every agent).`,
    );
  if (agent && run.durationMs === undefined && !run.stages && run.requests < agent.of)
    throw new UsageError(
      "--requests (-n)",
      `(${run.requests}) is less than the ${agent.of} agents`,
      `Use -n ${agent.of} or more (the total over every agent).`,
    );
}

/** The cross-field rules of `run`, in the order they are checked: the first broken one is the error. */
const RUN_RULES: readonly Rule[] = [
  warmupAndRequestsFitInMemory,
  requestsOrDuration,
  stagesDecideTheLength,
  rateStagesOrRate,
  storeFileIsRegbenchs,
  poolAndIsolationNeedAServerStore,
  keepStoreHasSomethingToKeep,
  namedStrategiesFitTheStore,
  targetRunsItsOwnStrategy,
  targetNeedsHttpMode,
  targetOptionsNeedATarget,
  targetNeedsAProject,
  serverKeyIsAnAesKey,
  serverKeyOpensSealedConfigs,
  auditDbIsReadWithTheProfilesQueries,
  timeoutIsForHttpRuns,
  faultsNotIntoATarget,
  workersAreForHttpRuns,
  instancesAreRegbenchsServers,
  httpServersShareTheStore,
  nemesesFitTheRun,
  everyProjectHasASystem,
  poolHoldsEveryRegistration,
  agentsDriveOneTarget,
  startAtIsForAgents,
  agentsSendOnce,
  agentsEachHaveAConnection,
];

/**
 * Turns flags (and a scenario file under them) into one validated, frozen `RunConfig`: the sources merged (defaults,
 * then the scenario's options, then flags given on the command line), each option parsed by its row of the table,
 * then the cross-field rules in order. Throws `UsageError` before anything runs.
 */
export function buildRunConfig(cli: RawOptions, secrets: Secrets = NO_SECRETS): RunConfig {
  const merged = mergeSources(cli);
  const run = resolve(parseOptions(RUN_TABLE, merged.values, ["run"]), merged, secrets);
  for (const rule of RUN_RULES) rule(run);
  return assemble(run, merged);
}

/** The config from a draft that passed every rule: defaults filled in, an agent's share taken. */
function assemble(run: RunDraft, merged: MergedOptions): RunConfig {
  const v = run.values;
  const { target, requests, concurrency, warmup } = run;
  const rate = v.rate;
  const stagesParsed = run.stages;
  const lockTimeoutMs = v.lockTimeout ?? DEFAULT_STRATEGY_SETTINGS.lockTimeoutMs;
  // Where each lock service is: its flag's value, or its defaults through the same parser.
  const locations: Record<string, LockServiceLocation> = {};
  for (const service of lockServices()) {
    const given = lockServiceGiven(v, service);
    locations[service.name] = given ?? lockServiceLocation(service.name)(service.defaultUrls.join(","), `--${service.flag}`);
  }
  const nemeses = v.nemesis ?? [];
  const auditDbText = target !== undefined ? run.secrets.auditDb : undefined;
  const auditDbParsed = auditDbText !== undefined ? parseAuditDb(auditDbText, run.secrets.auditDbPassword) : undefined;
  const auditDb = typeof auditDbParsed === "string" ? undefined : auditDbParsed;
  const profile = target !== undefined ? v.profile : undefined;
  const agentOf = parseAgent(v.run, v.agent, target);
  const part = (total: number) => (agentOf ? shareOf(total, agentOf.index, agentOf.of) : total);
  const stages = stagesParsed?.stages.map((s) => ({
    durationMs: s.durationMs,
    target: stagesParsed.of === "rate" ? s.target / (agentOf?.of ?? 1) : part(s.target),
  }));
  const warmupMs = v.warmup && "ms" in v.warmup ? v.warmup.ms : undefined;
  const durationMs = run.durationMs;
  return Object.freeze({
    strategies: Object.freeze([...run.strategies]),
    selection: run.selection,
    mode: run.mode,
    http: Object.freeze({
      workers: v.workers ?? defaultWorkers(target !== undefined),
      target: target?.replace(/\/+$/, ""),
      projects: Object.freeze(target !== undefined ? run.secrets.projects : []),
      serverKey: target !== undefined ? run.secrets.serverKey : undefined,
      instances: run.instances,
      serverWarmup: v.serverWarmup ?? true,
      timeoutMs: v.timeout ?? 10_000,
      auditToken: target !== undefined ? run.secrets.auditToken : undefined,
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
      ...(v.startAt !== undefined ? { startAt: v.startAt } : {}),
    }),
    scenario: merged.scenario?.name,
    ...(merged.scenario?.thresholds.length ? { scenarioThresholds: Object.freeze([...merged.scenario.thresholds]) } : {}),
    workload: Object.freeze({
      requests: part(requests),
      concurrency: stagesParsed?.of === "concurrency" ? Math.max(1, maxOf(stagesParsed.stages.map((s) => s.target))) : part(concurrency),
      warmup: part(warmup),
      systems: run.systems,
      projects: run.projects,
      resend: v.resend ?? DEFAULT_WORKLOAD.resend,
      dbLatencyMs: v.dbLatency ?? DEFAULT_WORKLOAD.dbLatencyMs,
      seed: v.seed ?? Math.floor(Math.random() * 2 ** 31),
      cidr: v.cidr?.text ?? DEFAULT_WORKLOAD.cidr,
      ...(rate !== undefined ? { rate: rate / (agentOf?.of ?? 1) } : {}),
      ...(warmupMs !== undefined ? { warmupMs } : {}),
      ...(durationMs !== undefined ? { durationMs } : {}),
      ...(stagesParsed ? { stages: Object.freeze(stages!), stagesOf: stagesParsed.of } : {}),
    }),
    strategy: Object.freeze({
      lockKey: v.lockKey,
      lockTimeoutMs,
      shards: v.shards ?? defaultShardCount(),
      retries: v.retries ?? DEFAULT_STRATEGY_SETTINGS.retry.maxAttempts,
      lockNesting: v.lockNesting ?? false,
    }),
    store: Object.freeze(run.store),
    storeOptions: Object.freeze({ keep: v.keepStore ?? false, pool: v.pool, isolation: v.isolation }),
    locks: Object.freeze({
      ttlMs: v.lockTtl ?? DEFAULT_LOCK_SETTINGS.ttlMs,
      waitMs: v.lockWait ?? lockTimeoutMs,
      watchdog: v.watchdog ?? true,
      batch: v.lockBatch ?? DEFAULT_LOCK_SETTINGS.batch,
    }),
    lockServices: Object.freeze(locations),
    faults: Object.freeze(v.fault ?? []),
    ...(nemeses.length ? { nemeses: Object.freeze(nemeses) } : {}),
    runs: run.runs,
  });
}

/** How a run's report is judged and shown (`--max-error-rate`, `--percentiles`, `--wide`, `--json`). */
export interface ReportOptions {
  /** A correct strategy failing more than this share of registrations is ⚠. */
  readonly maxErrorRate: number;
  /** The table's latency columns; undefined: the table's own. */
  readonly percentiles: readonly number[] | undefined;
  /** Every column on a terminal, however wide. */
  readonly wide: boolean;
  /** Exactly one JSON document on stdout. */
  readonly json: boolean;
}

/** What makes a run exit 99 (`--threshold`, `--fail-on-violations`, `--fail-on-verdict`, `--baseline`). */
export interface GateOptions {
  /** The scenario file's thresholds that apply to the run, then the command line's. */
  readonly thresholds: readonly Threshold[];
  readonly failOnVerdict: "warn" | "fail" | undefined;
  /** The saved baseline to compare with (a path, read when the run starts). */
  readonly baseline: string | undefined;
  /** How much worse than the baseline is a regression, a fraction. */
  readonly maxRegression: number;
}

/** `run`'s report options, each parsed by its row of the table (command line only: a scenario file sets none). */
export function buildReportOptions(cli: RawOptions): ReportOptions {
  const v = parseOptions(RUN_TABLE, cli, ["report"]);
  return Object.freeze({
    maxErrorRate: v.maxErrorRate ?? DEFAULT_MAX_ERROR_RATE,
    percentiles: v.percentiles,
    wide: v.wide ?? false,
    json: Boolean(v.json),
  });
}

/** `run`'s gates, each parsed by its row of the table; the thresholds name the config's strategies. */
export function buildGateOptions(cli: RawOptions, config: Pick<RunConfig, "strategies" | "scenarioThresholds">): GateOptions {
  const thresholds = parseThresholds(cli, config);
  const v = parseOptions(RUN_TABLE, cli, ["gate"]);
  return Object.freeze({
    thresholds: Object.freeze(thresholds),
    failOnVerdict: v.failOnVerdict,
    baseline: v.baseline,
    maxRegression: v.maxRegression ?? DEFAULT_MAX_REGRESSION,
  });
}

/** `regbench serve`'s config: the core's options as a RunConfig of one strategy over HTTP, and the server's own. */
export interface ServeConfig {
  /** The strategy, store, locks and faults the server runs with (built by buildRunConfig, mode http). */
  readonly run: RunConfig;
  readonly strategy: string;
  readonly port: number;
  readonly host: string;
  /** Open connections each instance accepts. */
  readonly maxConnections: number;
  /** A client's request headers must arrive within this. */
  readonly headerTimeoutMs: number;
}

/** serve's table: the core's rows, then its own. */
const SERVE_TABLE = [...CORE_OPTIONS, ...SERVE_OPTIONS];

/** A fault timed from a measured window cannot be injected by serve, which has none. */
function serveInjectsPausesOnly(config: ServeConfig): void {
  const down = config.run.faults.find((f) => f.kind === "lock-service-down");
  if (down)
    throw new UsageError(
      "--fault",
      `${down.name} cannot be injected by serve: it is timed from a measured window, which only run knows`,
      `Use regbench run --mode http --fault ${down.name}:MS, which injects it into its own server; serve injects pause:P:MS.`,
    );
}

/** The cross-field rules of `serve`, in order. */
const SERVE_RULES: readonly ((config: ServeConfig) => void)[] = [serveInjectsPausesOnly];

/**
 * Turns serve's flags into its config, as buildRunConfig does run's: its own options parsed by their rows of the
 * table, the rows that target the run's config handed to buildRunConfig (one strategy, mode http), then SERVE_RULES.
 * Its secrets (projects, keys, the lock namespace) are resolved apart, from the command line, the environment and
 * --secrets-file (secrets.ts).
 */
export function buildServeConfig(cli: RawOptions): ServeConfig {
  const v = parseOptions(SERVE_TABLE, cli, ["serve"]);
  const strategy = v.strategy ?? "atomic";
  const forRun: Record<string, unknown> = {};
  for (const spec of SERVE_TABLE) if (spec.target.startsWith("run.") && cli[spec.key] !== undefined) forRun[spec.key] = cli[spec.key];
  const config: ServeConfig = Object.freeze({
    run: buildRunConfig({ ...forRun, strategy, mode: "http" }),
    strategy,
    port: v.port ?? 8080,
    host: v.host ?? "127.0.0.1",
    maxConnections: v.maxConnections ?? DEFAULT_SERVER_SETTINGS.maxConnections,
    headerTimeoutMs: v.headerTimeout ?? DEFAULT_SERVER_SETTINGS.headerTimeoutMs,
  });
  for (const rule of SERVE_RULES) rule(config);
  return config;
}

/** The config as it appears in the report: plain values, the store described. */
export function describeConfig(config: RunConfig): RunConditions {
  // The lock services the run's strategies lock in, each shown under its name.
  const used = lockServices().filter((service) => config.strategies.some((name) => lockServiceOf(findStrategy(name)) === service.name));
  const where = Object.fromEntries(used.map((service) => [service.name, maskSecrets(service.show(locationOf(config.lockServices, service)))]));
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
    ...where,
    ...(used.length > 0
      ? { lockTtlMs: config.locks.ttlMs, lockWaitMs: config.locks.waitMs, watchdog: config.locks.watchdog, lockBatch: config.locks.batch }
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
