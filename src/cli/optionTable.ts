import { Command, Option } from "commander";
import { lockServices } from "../locks/services/registry.js";
import type { LockService, LockServiceLocation } from "../locks/services/service.js";
import { DEFAULT_SERVER_SETTINGS } from "../http/server.js";
import { DEFAULT_MAX_ERROR_RATE } from "../report/verdict.js";
import { DEFAULT_POOL_SIZE } from "../store/registry.js";
import { DEFAULT_STRATEGY_SETTINGS } from "../strategies/strategy.js";
import { DEFAULT_WORKLOAD } from "../config/run.js";
import { shippedScenarios } from "../workload/scenario.js";
import * as P from "./parsers.js";

/**
 * One option of `run` or `serve`: its commander flags, its help, its default as the help shows it (from the same
 * constants the code uses), and whether a scenario file may set it. The commander options, the flag names in error
 * messages, the keys a scenario file may carry and the defaults in `--help` all come from this one table.
 */
export interface OptionSpec<T = unknown> {
  /** commander's attribute name, and the scenario key (camelCase of the long flag). */
  readonly key: string;
  /**
   * Turns the value given — a flag's string, a scenario file's value — into the typed one, or throws
   * UsageError(flag, problem, fix). Checks across options are the named rules of options.ts.
   */
  readonly parse: P.Parser<T>;
  /**
   * Where the parsed value goes: `run.<field>…` in the RunConfig, `report.` / `gate.` in ReportOptions / GateOptions,
   * `serve.` in ServeConfig, `outputs.` in the files planned (outputs.ts), `secrets.` read by secrets.ts.
   */
  readonly target: `${"run" | "report" | "gate" | "serve" | "outputs" | "secrets"}.${string}`;
  readonly flags: string;
  readonly help: string;
  /** The default as `--help` states it; absent for options without one. */
  readonly default?: string;
  readonly choices?: readonly string[];
  /** Repeatable: the values are collected into a list. */
  readonly repeatable?: boolean;
  /** A scenario file may set it (the workload and its conditions; not outputs or gates). */
  readonly scenario: boolean;
  /** How the flag is named in messages when its long name alone is not what users type (`--requests (-n)`). */
  readonly named?: string;
}

/** One row of the table, its key's literal type and its parser's result kept (see OptionValues). */
function option<K extends string, T>(spec: OptionSpec<T> & { readonly key: K }): OptionSpec<T> & { readonly key: K } {
  return Object.freeze(spec);
}

/** The values of a table's options, parsed, each under its key and of its parser's type; absent when not given. */
export type OptionValues<S extends readonly OptionSpec[]> = { -readonly [O in S[number] as O["key"]]?: ReturnType<O["parse"]> };

const W = DEFAULT_WORKLOAD;
const S = DEFAULT_STRATEGY_SETTINGS;
const ms = (n: number) => (n % 1000 === 0 ? `${n / 1000}s` : `${n}ms`);

/**
 * The option that locates a lock service (`--redis <urls>`), as the service describes itself. Its key is left out of
 * the table's typed values (`never`): which services exist is known at run time, and the config reads every one of
 * them through `lockServiceGiven`.
 */
function lockServiceOption(service: LockService): OptionSpec<LockServiceLocation> & { readonly key: never } {
  return option({
    key: service.flag,
    parse: P.lockServiceLocation(service.name),
    target: `run.lockServices.${service.name}`,
    flags: `--${service.flag} <urls>`,
    help: service.optionHelp,
    default: service.defaultUrls.join(","),
    scenario: true,
  }) as OptionSpec<LockServiceLocation> & { readonly key: never };
}

/** Options that shape the core and its strategies, shared by `run` and `serve`. */
export const CORE_OPTIONS = [
  option({
    key: "cidr",
    parse: P.cidr,
    target: "run.workload.cidr",
    flags: "--cidr <net>",
    help: "each project's address pool",
    default: W.cidr,
    scenario: true,
  }),
  option({
    key: "dbLatency",
    parse: P.duration("--db-latency 1"),
    target: "run.workload.dbLatencyMs",
    flags: "--db-latency <duration>",
    help: "simulated round trip before every store call, e.g. 1, 250us or 2ms",
    default: "0",
    scenario: true,
  }),
  option({
    key: "shards",
    parse: P.shards,
    target: "run.strategy.shards",
    flags: "--shards <n>",
    help: "shard count of the sharded locks, a power of two, at most 65536",
    default: `4 per core, 16 to 64: ${S.shards} here`,
    scenario: true,
  }),
  option({
    key: "lockTimeout",
    parse: P.duration("--lock-timeout 5s", false),
    target: "run.strategy.lockTimeoutMs",
    flags: "--lock-timeout <duration>",
    help: "how long a registration waits for a lock",
    default: ms(S.lockTimeoutMs),
    scenario: true,
  }),
  option({
    key: "lockKey",
    parse: P.lockKey,
    target: "run.strategy.lockKey",
    flags: "--lock-key <what>",
    help: "what locks and flights are keyed on",
    default: "system for the local strategies, project for sharded-rw, Redis and etcd",
    choices: ["system", "project"],
    scenario: true,
  }),
  option({
    key: "retries",
    parse: P.integer(1, "--retries 30"),
    target: "run.strategy.retries",
    flags: "--retries <n>",
    help: "attempts in all after unique-constraint conflicts",
    default: String(S.retry.maxAttempts),
    scenario: true,
  }),
  // One flag per lock service (--redis, --etcd), from the services' registry: a new service brings its own.
  ...lockServices().map(lockServiceOption),
  option({
    key: "lockTtl",
    parse: P.duration("--lock-ttl 10s", false),
    target: "run.locks.ttlMs",
    flags: "--lock-ttl <duration>",
    help: "distributed lock time to live (etcd: the lease TTL, whole seconds)",
    default: ms(S.locks.ttlMs),
    scenario: true,
  }),
  option({
    key: "lockWait",
    parse: P.duration("--lock-wait 0 (fail fast) or --lock-wait 5s"),
    target: "run.locks.waitMs",
    flags: "--lock-wait <duration>",
    help: "how long a distributed lock acquisition waits for a held lock; 0 fails fast",
    default: "--lock-timeout",
    scenario: true,
  }),
  option({
    key: "watchdog",
    parse: P.flag,
    target: "run.locks.watchdog",
    flags: "--no-watchdog",
    help: "do not extend distributed locks while held (Redis: the watchdog; etcd: the lease keep-alive)",
    scenario: true,
    named: "--no-watchdog",
  }),
  option({
    key: "lockNesting",
    parse: P.flag,
    target: "run.strategy.lockNesting",
    flags: "--lock-nesting",
    help: "take the held distributed lock again around the system row's creation, as a locked helper does (a plain lock then waits for itself)",
    scenario: true,
  }),
  option({
    key: "lockBatch",
    parse: P.integer(1, "--lock-batch 1 (one acquisition per registration)"),
    target: "run.locks.batch",
    flags: "--lock-batch <n>",
    help: "registrations of one process that may share one distributed lock acquisition; 1 = one each",
    default: String(S.locks.batch),
    scenario: true,
  }),
  option({
    key: "pool",
    parse: P.integer(1, "--pool 16"),
    target: "run.storeOptions.pool",
    flags: "--pool <n>",
    help: "database servers: connections per process; the time waited for one is reported",
    default: String(DEFAULT_POOL_SIZE),
    scenario: true,
  }),
  option({
    key: "isolation",
    parse: P.isolation,
    target: "run.storeOptions.isolation",
    flags: "--isolation <level>",
    help: "database servers: transaction isolation",
    default: "the database's — READ COMMITTED on PostgreSQL, REPEATABLE READ on InnoDB",
    choices: ["read-committed", "repeatable-read", "serializable"],
    scenario: true,
  }),
] as const;

/** How the terminal table is drawn, for every command that draws it (`run`, `report`). */
export const TABLE_OPTIONS = [
  option({
    key: "wide",
    parse: P.isTrue,
    target: "report.wide",
    flags: "--wide",
    help: "on a terminal, every column of the table, however wide (by default columns are left out to fit its width; the files always have them all)",
    scenario: false,
  }),
] as const;

/** `run`'s own options, after the core ones. */
export const RUN_OPTIONS = [
  option({
    key: "strategy",
    parse: P.strategy,
    target: "run.strategies",
    flags: "-s, --strategy <names>",
    help: "strategies to compare: a comma list, all, or list to describe them",
    default: "all",
    scenario: true,
  }),
  option({
    key: "requests",
    parse: P.integer(1, "-n 10000", P.LIMITS.requests),
    target: "run.workload.requests",
    flags: "-n, --requests <n>",
    help: "measured registrations",
    default: String(W.requests),
    scenario: true,
    named: "--requests (-n)",
  }),
  option({
    key: "concurrency",
    parse: P.integer(1, "-c 100", P.LIMITS.concurrency),
    target: "run.workload.concurrency",
    flags: "-c, --concurrency <n>",
    help: "registrations in flight at once (closed loop), or at most (open loop)",
    default: String(W.concurrency),
    scenario: true,
    named: "--concurrency (-c)",
  }),
  option({
    key: "warmup",
    parse: P.warmup,
    target: "run.workload.warmup",
    flags: "--warmup <n|duration>",
    help: "before the measured window, not counted: a count (500) or a time (5s)",
    default: String(W.warmup),
    scenario: true,
  }),
  option({
    key: "duration",
    parse: P.duration("--duration 30s", false),
    target: "run.workload.durationMs",
    flags: "--duration <duration>",
    help: "measure for this long instead of -n requests, e.g. 30s (closed or open loop)",
    scenario: true,
  }),
  option({
    key: "stages",
    parse: P.stages,
    target: "run.workload.stages",
    flags: "--stages <list>",
    help: "k6-style ramps instead of -n: 30s:200,1m:1000,30s:0 ramps the concurrency; 30s:500/s,1m:2000/s the rate",
    scenario: true,
  }),
  option({
    key: "systems",
    parse: P.integer(1, "--systems 100", P.LIMITS.systems),
    target: "run.workload.systems",
    flags: "--systems <k>",
    help: "distinct systemUUIDs the devices share",
    default: `${W.systems}, the seed's case`,
    scenario: true,
  }),
  option({
    key: "projects",
    parse: P.integer(1, "--projects 4", P.LIMITS.projects),
    target: "run.workload.projects",
    flags: "--projects <p>",
    help: "projects the systems spread over",
    default: String(W.projects),
    scenario: true,
  }),
  option({
    key: "resend",
    parse: P.ratio("--resend 0.1"),
    target: "run.workload.resend",
    flags: "--resend <ratio>",
    help: "share of requests that re-send an earlier machineID",
    default: String(W.resend),
    scenario: true,
  }),
  option({
    key: "seed",
    parse: P.integer(0, "--seed 42", P.LIMITS.seed),
    target: "run.workload.seed",
    flags: "--seed <int>",
    help: "seed of the workload's shape: systems, re-sends, field values",
    default: "random, printed",
    scenario: true,
  }),
  option({
    key: "store",
    parse: P.store,
    target: "run.store",
    flags: "--store <spec>",
    help: "sqlite (fresh temporary file), sqlite:PATH (kept), sqlite::memory:, memory, postgres://USER@HOST:PORT/DB or mysql://USER@HOST:PORT/DB (a schema or database per strategy, dropped after)",
    default: "sqlite",
    scenario: true,
  }),
  option({
    key: "keepStore",
    parse: P.flag,
    target: "run.storeOptions.keep",
    flags: "--keep-store",
    help: "keep each strategy's store (its schema, database or file) to count the rows again afterwards",
    scenario: true,
  }),
  option({
    key: "fault",
    parse: P.faults,
    target: "run.faults",
    flags: "--fault <spec>",
    help: "inject a fault, repeatable: pause:P:MS (stall between read and write), redis-down:AT_MS or etcd-down:AT_MS",
    repeatable: true,
    scenario: true,
  }),
  option({
    key: "nemesis",
    parse: P.nemeses,
    target: "run.nemeses",
    flags: "--nemesis <spec>",
    help: "a real fault, repeatable: pause:instance[#N]:3s@2s, kill:instance@2s, restart:instance@2s, restart:redis@2s, kill-connections:store@2s, partition:etcd:3s@2s, latency:redis:200ms:3s@2s, reset:store@2s, kill:etcd-member@2s, pause:etcd-leader:2s@2s (regbench nemeses lists them)",
    repeatable: true,
    scenario: true,
  }),
  option({
    key: "rate",
    parse: P.rate,
    target: "run.workload.rate",
    flags: "--rate <r>",
    help: "open loop: start this many registrations per second, latency from each one's intended start (-c caps those in flight)",
    scenario: true,
  }),
  option({
    key: "mode",
    parse: P.mode,
    target: "run.mode",
    flags: "--mode <mode>",
    help: "in-process, or http: through regbench's own server, one process per strategy",
    default: "in-process",
    choices: ["in-process", "http"],
    scenario: true,
  }),
  option({
    key: "target",
    parse: P.target,
    target: "run.http.target",
    flags: "--target <url>",
    help: "drive an already running server (regbench serve, or any service with the same API) instead",
    scenario: true,
  }),
  option({
    key: "secretsFile",
    parse: P.asText,
    target: "secrets.file",
    flags: "--secrets-file <file>",
    help: "with --target: the secrets file regbench serve printed (projects, server key, audit token)",
    scenario: false,
  }),
  option({
    key: "project",
    parse: P.list,
    target: "run.http.projects",
    flags: "--project <id:key>",
    help: "with --target: a project the target knows, repeatable (or REGBENCH_PROJECTS=ID:KEY,…)",
    repeatable: true,
    scenario: false,
  }),
  option({
    key: "serverKey",
    parse: P.asText,
    target: "run.http.serverKey",
    flags: "--server-key <hex>",
    help: "with --target: the key sealing the target's configs, to check them in the audit (or REGBENCH_SERVER_KEY)",
    scenario: false,
  }),
  option({
    key: "auditToken",
    parse: P.asText,
    target: "run.http.auditToken",
    flags: "--audit-token <token>",
    help: "with --target: the target's audit token, for GET /v1/audit/rows (or REGBENCH_AUDIT_TOKEN)",
    scenario: false,
  }),
  option({
    key: "profile",
    parse: P.profile,
    target: "run.http.profile",
    flags: "--profile <file>",
    help: "with --target: how the target's API is spoken and its answers read: a YAML or JSON request profile (regbench profile init prints one; a path or a name with an extension), or a shipped profile by bare name: regbench",
    default: "regbench",
    scenario: true,
  }),
  option({
    key: "auditDb",
    parse: P.asText,
    target: "run.http.auditDb",
    flags: "--audit-db <url>",
    help: "with --target: audit from the service's own database with the profile's audit queries, read-only: postgres://…, mysql://… or sqlite:PATH (or REGBENCH_AUDIT_DB; password from REGBENCH_AUDIT_DB_PASSWORD or --secrets-file)",
    scenario: false,
  }),
  option({
    key: "run",
    parse: P.asText,
    target: "run.http.agent",
    flags: "--run <id>",
    help: "with --target: the ID of a run several agents share; every ID sent starts with it, and regbench merge audits the run once",
    scenario: false,
  }),
  option({
    key: "agent",
    parse: P.asText,
    target: "run.http.agent",
    flags: "--agent <i/n>",
    help: "with --run: this is agent I of N (0-based); it sends its disjoint share of -n, -c and --rate",
    default: "0/1",
    scenario: false,
  }),
  option({
    key: "agents",
    parse: P.asText,
    target: "run.http.agent",
    flags: "--agents <n>",
    help: "with --run: N agents, this one's index from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job sets it)",
    scenario: false,
  }),
  option({
    key: "startAt",
    parse: P.startAt,
    target: "run.http.startAt",
    flags: "--start-at <time>",
    help: "with --target: start the load at this instant, ISO 8601 (2026-12-01T20:00:00Z) or epoch ms, so agents' windows line up",
    scenario: false,
  }),
  option({
    key: "timeout",
    parse: P.requestTimeout,
    target: "run.http.timeoutMs",
    flags: "--timeout <duration>",
    help: "HTTP runs: a request without a complete answer after this long fails as timeout",
    default: "10s",
    scenario: true,
  }),
  option({
    key: "instances",
    parse: P.integer(1, "--instances 2", P.LIMITS.instances),
    target: "run.http.instances",
    flags: "--instances <m>",
    help: "with --mode http: server processes sharing one store on one port",
    default: "1",
    scenario: true,
  }),
  option({
    key: "workers",
    parse: P.workers,
    target: "run.http.workers",
    flags: "--workers <n>",
    help: "HTTP runs: load-generator threads, their histograms merged exactly",
    default: "the cores with --target, half the cores with --mode http",
    scenario: true,
  }),
  option({
    key: "serverWarmup",
    parse: P.notFalse,
    target: "run.http.serverWarmup",
    flags: "--no-server-warmup",
    help: "with --mode http: measure cold servers (by default each warms its code paths on a scratch store first)",
    scenario: true,
    named: "--no-server-warmup",
  }),
  option({
    key: "scenario",
    parse: P.asText,
    target: "run.scenario",
    flags: "--scenario <file>",
    help: `a scenario file, or a shipped name (regbench scenarios): ${shippedScenarios().join(", ")}; flags override it`,
    scenario: false,
  }),
  option({
    key: "runs",
    parse: P.integer(1, "--runs 3"),
    target: "run.runs",
    flags: "--runs <r>",
    help: "measure each strategy R times, interleaved; report mean ± standard error",
    default: "1",
    scenario: true,
  }),
  option({ key: "save", parse: P.asGiven, target: "outputs.save", flags: "--no-save", help: "do not write the JSON result under results/", scenario: false }),
  option({
    key: "out",
    parse: P.asText,
    target: "outputs.dir",
    flags: "--out <dir>",
    help: "where the JSON result is saved",
    default: "results/",
    scenario: false,
  }),
  option({
    key: "exportMarkdown",
    parse: P.asText,
    target: "outputs.markdown",
    flags: "--export-markdown <file>",
    help: "also write a Markdown report with Mermaid charts; when FILE is $GITHUB_STEP_SUMMARY it is appended to, not replaced",
    scenario: false,
  }),
  option({
    key: "summary",
    parse: P.asGiven,
    target: "outputs.summary",
    flags: "--summary",
    help: "GitHub Actions: append the Markdown report to the job summary ($GITHUB_STEP_SUMMARY), within its 1 MiB",
    scenario: false,
  }),
  option({
    key: "exportJson",
    parse: P.asText,
    target: "outputs.json",
    flags: "--export-json <file>",
    help: "also write the JSON document to a file",
    scenario: false,
  }),
  option({
    key: "exportHtml",
    parse: P.asText,
    target: "outputs.html",
    flags: "--export-html <file>",
    help: "also write a self-contained HTML report: table, TPS bars, timeline, latency distribution",
    scenario: false,
  }),
  option({
    key: "exportCsv",
    parse: P.asText,
    target: "outputs.csv",
    flags: "--export-csv <file>",
    help: "also write one CSV row per strategy",
    scenario: false,
  }),
  option({
    key: "threshold",
    parse: P.list,
    target: "gate.thresholds",
    flags: "--threshold <expr>",
    help: "a CI gate, repeatable: [strategy:]metric op value, e.g. p99<50ms, p99.9<200ms, tps>=1000, violations==0; a miss exits 99 (a scenario file's thresholds are added)",
    repeatable: true,
    scenario: false,
  }),
  option({
    key: "failOnViolations",
    parse: P.asGiven,
    target: "gate.thresholds",
    flags: "--fail-on-violations",
    help: "shorthand for --threshold violations==0 on every strategy",
    scenario: false,
  }),
  option({
    key: "maxErrorRate",
    parse: P.maxErrorRate,
    target: "report.maxErrorRate",
    flags: "--max-error-rate <share>",
    help: "a correct strategy failing more registrations than this is ⚠, not ✓",
    default: `${DEFAULT_MAX_ERROR_RATE * 100}%`,
    scenario: false,
  }),
  option({
    key: "failOnVerdict",
    parse: P.failOnVerdict,
    target: "gate.failOnVerdict",
    flags: "--fail-on-verdict <level>",
    help: "exit 99 when a strategy is ✗ (fail), or ⚠ / ? / ✗ (warn)",
    choices: ["warn", "fail"],
    scenario: false,
  }),
  option({
    key: "percentiles",
    parse: P.percentiles,
    target: "report.percentiles",
    flags: "--percentiles <list>",
    help: "the table's latency columns",
    default: "50,95,99,99.9",
    scenario: false,
  }),
  ...TABLE_OPTIONS,
  option({
    key: "saveBaseline",
    parse: P.asText,
    target: "outputs.baseline",
    flags: "--save-baseline <file>",
    help: "save this run as a baseline",
    scenario: false,
  }),
  option({
    key: "baseline",
    parse: P.asText,
    target: "gate.baseline",
    flags: "--baseline <file>",
    help: "compare TPS and p99 with a saved baseline of the same workload; a regression exits 99",
    scenario: false,
  }),
  option({
    key: "maxRegression",
    parse: P.maxRegression,
    target: "gate.maxRegression",
    flags: "--max-regression <pct>",
    help: "how much worse than the baseline counts as a regression",
    default: "10%",
    scenario: false,
  }),
  option({
    key: "json",
    parse: P.asGiven,
    target: "report.json",
    flags: "--json",
    help: "print exactly one JSON document on stdout and nothing else there",
    scenario: false,
  }),
] as const;

/** `serve`'s own options, after the core ones. */
export const SERVE_OPTIONS = [
  option({
    key: "strategy",
    parse: P.serveStrategy,
    target: "serve.strategy",
    flags: "-s, --strategy <name>",
    help: "the strategy the server runs",
    default: "atomic",
    scenario: false,
  }),
  option({
    key: "port",
    parse: P.port,
    target: "serve.port",
    flags: "--port <n>",
    help: "port to listen on; 0 picks a free one",
    default: "8080",
    scenario: false,
  }),
  option({
    key: "host",
    parse: P.asText,
    target: "serve.host",
    flags: "--host <addr>",
    help: "address to listen on",
    default: "127.0.0.1, loopback only",
    scenario: false,
  }),
  option({
    key: "instances",
    parse: P.integer(1, "--instances 2", P.LIMITS.instances),
    target: "run.http.instances",
    flags: "--instances <m>",
    help: "server processes sharing one store on one port (node cluster)",
    default: "1",
    scenario: false,
  }),
  option({
    key: "store",
    parse: P.store,
    target: "run.store",
    flags: "--store <spec>",
    help: "sqlite (temporary file, removed at exit), sqlite:PATH, postgres://… or mysql://… (tables in schema regbench, or ?schema=NAME)",
    default: "sqlite",
    scenario: false,
  }),
  option({
    key: "secretsFile",
    parse: P.asText,
    target: "secrets.file",
    flags: "--secrets-file <file>",
    help: "JSON with projects, serverKey, auditToken; read if it exists, else the generated secrets are written there",
    default: "a temporary file, removed at exit",
    scenario: false,
  }),
  option({
    key: "project",
    parse: P.list,
    target: "secrets.projects",
    flags: "--project <id:key>",
    help: "a project the server accepts registrations for, repeatable; keeps the key on the command line (prefer REGBENCH_PROJECTS or --secrets-file)",
    default: "one generated",
    repeatable: true,
    scenario: false,
  }),
  option({
    key: "serverKey",
    parse: P.asText,
    target: "secrets.serverKey",
    flags: "--server-key <hex>",
    help: "the AES-256 key sealing configs, 64 hex digits (prefer REGBENCH_SERVER_KEY or --secrets-file)",
    default: "generated",
    scenario: false,
  }),
  option({
    key: "auditToken",
    parse: P.asText,
    target: "secrets.auditToken",
    flags: "--audit-token <token>",
    help: "the bearer token of GET /v1/audit/rows (prefer REGBENCH_AUDIT_TOKEN or --secrets-file)",
    default: "generated",
    scenario: false,
  }),
  option({
    key: "maxConnections",
    parse: P.maxConnections,
    target: "serve.maxConnections",
    flags: "--max-connections <n>",
    help: "open connections each instance accepts; beyond, the oldest without a request in progress is closed, or the new one gets 503 with Retry-After",
    default: String(DEFAULT_SERVER_SETTINGS.maxConnections),
    scenario: false,
  }),
  option({
    key: "lockNamespace",
    parse: P.asText,
    target: "secrets.lockNamespace",
    flags: "--lock-namespace <name>",
    help: "where the Redis and etcd lock keys go: every server on one store must share it (or REGBENCH_LOCK_NAMESPACE, or lockNamespace in --secrets-file)",
    default: "derived from the store (host, port, database, schema; a SQLite file's path), so servers on one store agree",
    scenario: false,
  }),
  option({
    key: "headerTimeout",
    parse: P.headerTimeout,
    target: "serve.headerTimeoutMs",
    flags: "--header-timeout <duration>",
    help: "a client must send its request headers within this, or get 408 and be closed (slow clients cannot hold connections)",
    default: ms(DEFAULT_SERVER_SETTINGS.headerTimeoutMs),
    scenario: false,
  }),
  option({
    key: "fault",
    parse: P.faults,
    target: "run.faults",
    flags: "--fault <spec>",
    help: "inject pause:P:MS into the server's registrations, repeatable",
    repeatable: true,
    scenario: false,
  }),
  option({
    key: "serverWarmup",
    parse: P.notFalse,
    target: "run.http.serverWarmup",
    flags: "--no-server-warmup",
    help: "take traffic cold (by default the server warms its code paths on a scratch store before listening)",
    scenario: false,
    named: "--no-server-warmup",
  }),
] as const;

/** A row of `run`'s table, for a command that takes the same option (its flags, parser and name in messages). */
function runOption(key: (typeof RUN_OPTIONS)[number]["key"]): OptionSpec {
  return RUN_OPTIONS.find((o) => o.key === key)!;
}

/** `merge`'s audit from the service's own database: `run`'s `--audit-db` and `--profile`, as a merge reads them. */
export const MERGE_AUDIT_OPTIONS: readonly OptionSpec[] = [
  {
    ...runOption("auditDb"),
    help: "audit the merged run once from the service's own database with the profile's audit queries, read-only, before trying --target: postgres://…, mysql://… or sqlite:PATH (or REGBENCH_AUDIT_DB; password from REGBENCH_AUDIT_DB_PASSWORD or --secrets-file)",
  },
  {
    ...runOption("profile"),
    help: "with --audit-db: the request profile whose audit.systems and audit.machines queries list the run's rows (the agents' --profile)",
    default: undefined,
  },
];

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** Adds the options to a commander command, each help line ending with its default. */
export function addOptions(command: Command, specs: readonly OptionSpec[]): Command {
  for (const spec of specs) {
    const option = new Option(spec.flags, spec.default !== undefined ? `${spec.help} (default: ${spec.default})` : spec.help);
    if (spec.choices) option.choices(spec.choices as string[]);
    if (spec.repeatable) option.argParser(collect);
    command.addOption(option);
  }
  return command;
}

/** The long flag of an option, for messages: `--lock-timeout`, `--requests (-n)`. */
export function longFlag(spec: OptionSpec): string {
  return spec.named ?? /--[a-z0-9-]+/.exec(spec.flags)![0];
}

/** The flag of every option key of `run`, for messages. */
export const FLAG: Readonly<Record<string, string>> = Object.freeze(Object.fromEntries([...CORE_OPTIONS, ...RUN_OPTIONS].map((s) => [s.key, longFlag(s)])));

/** The keys a scenario file may set under `options`, by their scenario spelling (`db-latency`) → option key. */
export const SCENARIO_KEYS: ReadonlySet<string> = new Set([...CORE_OPTIONS, ...RUN_OPTIONS].filter((s) => s.scenario).map((s) => s.key));
