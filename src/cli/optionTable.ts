import { Command, Option } from "commander";
import { DEFAULT_SERVER_SETTINGS } from "../http/server.js";
import { DEFAULT_MAX_ERROR_RATE } from "../report/verdict.js";
import { DEFAULT_POOL_SIZE } from "../store/registry.js";
import { DEFAULT_STRATEGY_SETTINGS } from "../strategies/strategy.js";
import { DEFAULT_WORKLOAD } from "../config/run.js";
import { shippedScenarios } from "../workload/scenario.js";

/**
 * One option of `run` or `serve`: its commander flags, its help, its default as the help shows it (from the same
 * constants the code uses), and whether a scenario file may set it. The commander options, the flag names in error
 * messages, the keys a scenario file may carry and the defaults in `--help` all come from this one table.
 */
export interface OptionSpec {
  /** commander's attribute name, and the scenario key (camelCase of the long flag). */
  readonly key: string;
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

const W = DEFAULT_WORKLOAD;
const S = DEFAULT_STRATEGY_SETTINGS;
const ms = (n: number) => (n % 1000 === 0 ? `${n / 1000}s` : `${n}ms`);

/** Options that shape the core and its strategies, shared by `run` and `serve`. */
export const CORE_OPTIONS: readonly OptionSpec[] = [
  { key: "cidr", flags: "--cidr <net>", help: "each project's address pool", default: W.cidr, scenario: true },
  {
    key: "dbLatency",
    flags: "--db-latency <duration>",
    help: "simulated round trip before every store call, e.g. 1, 250us or 2ms",
    default: "0",
    scenario: true,
  },
  {
    key: "shards",
    flags: "--shards <n>",
    help: "shard count of the sharded locks, a power of two, at most 65536",
    default: `4 per core, 16 to 64: ${S.shards} here`,
    scenario: true,
  },
  { key: "lockTimeout", flags: "--lock-timeout <duration>", help: "how long a registration waits for a lock", default: ms(S.lockTimeoutMs), scenario: true },
  {
    key: "lockKey",
    flags: "--lock-key <what>",
    help: "what locks and flights are keyed on",
    default: "system for the local strategies, project for sharded-rw, Redis and etcd",
    choices: ["system", "project"],
    scenario: true,
  },
  { key: "retries", flags: "--retries <n>", help: "attempts in all after unique-constraint conflicts", default: String(S.retry.maxAttempts), scenario: true },
  {
    key: "redis",
    flags: "--redis <urls>",
    help: "Redis node URL(s), comma-separated (redlock uses all), or auto to start a throwaway redis-server if none answers",
    default: S.redis.urls.join(","),
    scenario: true,
  },
  {
    key: "lockTtl",
    flags: "--lock-ttl <duration>",
    help: "distributed lock time to live (etcd: the lease TTL, whole seconds)",
    default: ms(S.redis.lock.ttlMs),
    scenario: true,
  },
  {
    key: "lockWait",
    flags: "--lock-wait <duration>",
    help: "how long a distributed lock acquisition waits for a held lock; 0 fails fast",
    default: "--lock-timeout",
    scenario: true,
  },
  {
    key: "etcd",
    flags: "--etcd <urls>",
    help: "etcd client URL(s), comma-separated, or auto / auto:3 to start a throwaway member / cluster if none answers",
    default: S.etcd.urls.join(","),
    scenario: true,
  },
  {
    key: "watchdog",
    flags: "--no-watchdog",
    help: "do not extend distributed locks while held (Redis: the watchdog; etcd: the lease keep-alive)",
    scenario: true,
    named: "--no-watchdog",
  },
  {
    key: "lockNesting",
    flags: "--lock-nesting",
    help: "take the held distributed lock again around the system row's creation, as a locked helper does (a plain lock then waits for itself)",
    scenario: true,
  },
  {
    key: "lockBatch",
    flags: "--lock-batch <n>",
    help: "registrations of one process that may share one distributed lock acquisition; 1 = one each",
    default: String(S.redis.lockBatch),
    scenario: true,
  },
  {
    key: "pool",
    flags: "--pool <n>",
    help: "database servers: connections per process; the time waited for one is reported",
    default: String(DEFAULT_POOL_SIZE),
    scenario: true,
  },
  {
    key: "isolation",
    flags: "--isolation <level>",
    help: "database servers: transaction isolation",
    default: "the database's — READ COMMITTED on PostgreSQL, REPEATABLE READ on InnoDB",
    choices: ["read-committed", "repeatable-read", "serializable"],
    scenario: true,
  },
];

/** How the terminal table is drawn, for every command that draws it (`run`, `report`). */
export const TABLE_OPTIONS: readonly OptionSpec[] = [
  {
    key: "wide",
    flags: "--wide",
    help: "on a terminal, every column of the table, however wide (by default columns are left out to fit its width; the files always have them all)",
    scenario: false,
  },
];

/** `run`'s own options, after the core ones. */
export const RUN_OPTIONS: readonly OptionSpec[] = [
  {
    key: "strategy",
    flags: "-s, --strategy <names>",
    help: "strategies to compare: a comma list, all, or list to describe them",
    default: "all",
    scenario: true,
  },
  { key: "requests", flags: "-n, --requests <n>", help: "measured registrations", default: String(W.requests), scenario: true, named: "--requests (-n)" },
  {
    key: "concurrency",
    flags: "-c, --concurrency <n>",
    help: "registrations in flight at once (closed loop), or at most (open loop)",
    default: String(W.concurrency),
    scenario: true,
    named: "--concurrency (-c)",
  },
  {
    key: "warmup",
    flags: "--warmup <n|duration>",
    help: "before the measured window, not counted: a count (500) or a time (5s)",
    default: String(W.warmup),
    scenario: true,
  },
  { key: "duration", flags: "--duration <duration>", help: "measure for this long instead of -n requests, e.g. 30s (closed or open loop)", scenario: true },
  {
    key: "stages",
    flags: "--stages <list>",
    help: "k6-style ramps instead of -n: 30s:200,1m:1000,30s:0 ramps the concurrency; 30s:500/s,1m:2000/s the rate",
    scenario: true,
  },
  { key: "systems", flags: "--systems <k>", help: "distinct systemUUIDs the devices share", default: `${W.systems}, the seed's case`, scenario: true },
  { key: "projects", flags: "--projects <p>", help: "projects the systems spread over", default: String(W.projects), scenario: true },
  { key: "resend", flags: "--resend <ratio>", help: "share of requests that re-send an earlier machineID", default: String(W.resend), scenario: true },
  { key: "seed", flags: "--seed <int>", help: "seed of the workload's shape: systems, re-sends, field values", default: "random, printed", scenario: true },
  {
    key: "store",
    flags: "--store <spec>",
    help: "sqlite (fresh temporary file), sqlite:PATH (kept), sqlite::memory:, memory, postgres://USER@HOST:PORT/DB or mysql://USER@HOST:PORT/DB (a schema or database per strategy, dropped after)",
    default: "sqlite",
    scenario: true,
  },
  {
    key: "keepStore",
    flags: "--keep-store",
    help: "keep each strategy's store (its schema, database or file) to count the rows again afterwards",
    scenario: true,
  },
  {
    key: "fault",
    flags: "--fault <spec>",
    help: "inject a fault, repeatable: pause:P:MS (stall between read and write), redis-down:AT_MS or etcd-down:AT_MS",
    repeatable: true,
    scenario: true,
  },
  {
    key: "nemesis",
    flags: "--nemesis <spec>",
    help: "a real fault, repeatable: pause:instance[#N]:3s@2s, kill:instance@2s, restart:instance@2s, restart:redis@2s, kill-connections:store@2s, partition:etcd:3s@2s, latency:redis:200ms:3s@2s, reset:store@2s, kill:etcd-member@2s, pause:etcd-leader:2s@2s (regbench nemeses lists them)",
    repeatable: true,
    scenario: true,
  },
  {
    key: "rate",
    flags: "--rate <r>",
    help: "open loop: start this many registrations per second, latency from each one's intended start (-c caps those in flight)",
    scenario: true,
  },
  {
    key: "mode",
    flags: "--mode <mode>",
    help: "in-process, or http: through regbench's own server, one process per strategy",
    default: "in-process",
    choices: ["in-process", "http"],
    scenario: true,
  },
  {
    key: "target",
    flags: "--target <url>",
    help: "drive an already running server (regbench serve, or any service with the same API) instead",
    scenario: true,
  },
  {
    key: "secretsFile",
    flags: "--secrets-file <file>",
    help: "with --target: the secrets file regbench serve printed (projects, server key, audit token)",
    scenario: false,
  },
  {
    key: "project",
    flags: "--project <id:key>",
    help: "with --target: a project the target knows, repeatable (or REGBENCH_PROJECTS=ID:KEY,…)",
    repeatable: true,
    scenario: false,
  },
  {
    key: "serverKey",
    flags: "--server-key <hex>",
    help: "with --target: the key sealing the target's configs, to check them in the audit (or REGBENCH_SERVER_KEY)",
    scenario: false,
  },
  {
    key: "auditToken",
    flags: "--audit-token <token>",
    help: "with --target: the target's audit token, for GET /v1/audit/rows (or REGBENCH_AUDIT_TOKEN)",
    scenario: false,
  },
  {
    key: "profile",
    flags: "--profile <file>",
    help: "with --target: how the target's API is spoken and its answers read, a YAML or JSON request profile (regbench profile init prints one), or regbench",
    default: "regbench",
    scenario: true,
  },
  {
    key: "auditDb",
    flags: "--audit-db <url>",
    help: "with --target: audit from the service's own database with the profile's audit queries, read-only: postgres://…, mysql://… or sqlite:PATH (or REGBENCH_AUDIT_DB; password from REGBENCH_AUDIT_DB_PASSWORD or --secrets-file)",
    scenario: false,
  },
  {
    key: "run",
    flags: "--run <id>",
    help: "with --target: the ID of a run several agents share; every ID sent starts with it, and regbench merge audits the run once",
    scenario: false,
  },
  {
    key: "agent",
    flags: "--agent <i/n>",
    help: "with --run: this is agent I of N (0-based); it sends its disjoint share of -n, -c and --rate",
    default: "0/1",
    scenario: false,
  },
  {
    key: "agents",
    flags: "--agents <n>",
    help: "with --run: N agents, this one's index from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job sets it)",
    scenario: false,
  },
  {
    key: "startAt",
    flags: "--start-at <time>",
    help: "with --target: start the load at this instant, ISO 8601 (2026-12-01T20:00:00Z) or epoch ms, so agents' windows line up",
    scenario: false,
  },
  {
    key: "timeout",
    flags: "--timeout <duration>",
    help: "HTTP runs: a request without a complete answer after this long fails as timeout",
    default: "10s",
    scenario: true,
  },
  { key: "instances", flags: "--instances <m>", help: "with --mode http: server processes sharing one store on one port", default: "1", scenario: true },
  {
    key: "workers",
    flags: "--workers <n>",
    help: "HTTP runs: load-generator threads, their histograms merged exactly",
    default: "one more than the cores with --target, half the cores with --mode http",
    scenario: true,
  },
  {
    key: "serverWarmup",
    flags: "--no-server-warmup",
    help: "with --mode http: measure cold servers (by default each warms its code paths on a scratch store first)",
    scenario: true,
    named: "--no-server-warmup",
  },
  {
    key: "scenario",
    flags: "--scenario <file>",
    help: `a scenario file, or a shipped name (regbench scenarios): ${shippedScenarios().join(", ")}; flags override it`,
    scenario: false,
  },
  { key: "runs", flags: "--runs <r>", help: "measure each strategy R times, interleaved; report mean ± standard error", default: "1", scenario: true },
  { key: "save", flags: "--no-save", help: "do not write the JSON result under results/", scenario: false },
  { key: "out", flags: "--out <dir>", help: "where the JSON result is saved", default: "results/", scenario: false },
  {
    key: "exportMarkdown",
    flags: "--export-markdown <file>",
    help: "also write a Markdown report with Mermaid charts; when FILE is $GITHUB_STEP_SUMMARY it is appended to, not replaced",
    scenario: false,
  },
  {
    key: "summary",
    flags: "--summary",
    help: "GitHub Actions: append the Markdown report to the job summary ($GITHUB_STEP_SUMMARY), within its 1 MiB",
    scenario: false,
  },
  { key: "exportJson", flags: "--export-json <file>", help: "also write the JSON document to a file", scenario: false },
  {
    key: "exportHtml",
    flags: "--export-html <file>",
    help: "also write a self-contained HTML report: table, TPS bars, timeline, latency distribution",
    scenario: false,
  },
  { key: "exportCsv", flags: "--export-csv <file>", help: "also write one CSV row per strategy", scenario: false },
  {
    key: "threshold",
    flags: "--threshold <expr>",
    help: "a CI gate, repeatable: [strategy:]metric op value, e.g. p99<50ms, p99.9<200ms, tps>=1000, violations==0; a miss exits 99 (a scenario file's thresholds are added)",
    repeatable: true,
    scenario: false,
  },
  { key: "failOnViolations", flags: "--fail-on-violations", help: "shorthand for --threshold violations==0 on every strategy", scenario: false },
  {
    key: "maxErrorRate",
    flags: "--max-error-rate <share>",
    help: "a correct strategy failing more registrations than this is ⚠, not ✓",
    default: `${DEFAULT_MAX_ERROR_RATE * 100}%`,
    scenario: false,
  },
  {
    key: "failOnVerdict",
    flags: "--fail-on-verdict <level>",
    help: "exit 99 when a strategy is ✗ (fail), or ⚠ / ? / ✗ (warn)",
    choices: ["warn", "fail"],
    scenario: false,
  },
  { key: "percentiles", flags: "--percentiles <list>", help: "the table's latency columns", default: "50,95,99,99.9", scenario: false },
  ...TABLE_OPTIONS,
  { key: "saveBaseline", flags: "--save-baseline <file>", help: "save this run as a baseline", scenario: false },
  {
    key: "baseline",
    flags: "--baseline <file>",
    help: "compare TPS and p99 with a saved baseline of the same workload; a regression exits 99",
    scenario: false,
  },
  { key: "maxRegression", flags: "--max-regression <pct>", help: "how much worse than the baseline counts as a regression", default: "10%", scenario: false },
  { key: "json", flags: "--json", help: "print exactly one JSON document on stdout and nothing else there", scenario: false },
];

/** `serve`'s own options, after the core ones. */
export const SERVE_OPTIONS: readonly OptionSpec[] = [
  { key: "strategy", flags: "-s, --strategy <name>", help: "the strategy the server runs", default: "atomic", scenario: false },
  { key: "port", flags: "--port <n>", help: "port to listen on; 0 picks a free one", default: "8080", scenario: false },
  { key: "host", flags: "--host <addr>", help: "address to listen on", default: "127.0.0.1, loopback only", scenario: false },
  { key: "instances", flags: "--instances <m>", help: "server processes sharing one store on one port (node cluster)", default: "1", scenario: false },
  {
    key: "store",
    flags: "--store <spec>",
    help: "sqlite (temporary file, removed at exit), sqlite:PATH, postgres://… or mysql://… (tables in schema regbench, or ?schema=NAME)",
    default: "sqlite",
    scenario: false,
  },
  {
    key: "secretsFile",
    flags: "--secrets-file <file>",
    help: "JSON with projects, serverKey, auditToken; read if it exists, else the generated secrets are written there",
    default: "a temporary file, removed at exit",
    scenario: false,
  },
  {
    key: "project",
    flags: "--project <id:key>",
    help: "a project the server accepts registrations for, repeatable; keeps the key on the command line (prefer REGBENCH_PROJECTS or --secrets-file)",
    default: "one generated",
    repeatable: true,
    scenario: false,
  },
  {
    key: "serverKey",
    flags: "--server-key <hex>",
    help: "the AES-256 key sealing configs, 64 hex digits (prefer REGBENCH_SERVER_KEY or --secrets-file)",
    default: "generated",
    scenario: false,
  },
  {
    key: "auditToken",
    flags: "--audit-token <token>",
    help: "the bearer token of GET /v1/audit/rows (prefer REGBENCH_AUDIT_TOKEN or --secrets-file)",
    default: "generated",
    scenario: false,
  },
  {
    key: "maxConnections",
    flags: "--max-connections <n>",
    help: "open connections each instance accepts; beyond, the oldest without a request in progress is closed, or the new one gets 503 with Retry-After",
    default: String(DEFAULT_SERVER_SETTINGS.maxConnections),
    scenario: false,
  },
  {
    key: "lockNamespace",
    flags: "--lock-namespace <name>",
    help: "where the Redis and etcd lock keys go: every server on one store must share it (or REGBENCH_LOCK_NAMESPACE, or lockNamespace in --secrets-file)",
    default: "derived from the store (host, port, database, schema; a SQLite file's path), so servers on one store agree",
    scenario: false,
  },
  {
    key: "headerTimeout",
    flags: "--header-timeout <duration>",
    help: "a client must send its request headers within this, or get 408 and be closed (slow clients cannot hold connections)",
    default: ms(DEFAULT_SERVER_SETTINGS.headerTimeoutMs),
    scenario: false,
  },
  { key: "fault", flags: "--fault <spec>", help: "inject pause:P:MS into the server's registrations, repeatable", repeatable: true, scenario: false },
  {
    key: "serverWarmup",
    flags: "--no-server-warmup",
    help: "take traffic cold (by default the server warms its code paths on a scratch store before listening)",
    scenario: false,
    named: "--no-server-warmup",
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
function longFlag(spec: OptionSpec): string {
  return spec.named ?? /--[a-z0-9-]+/.exec(spec.flags)![0];
}

/** The flag of every option key of `run`, for messages. */
export const FLAG: Readonly<Record<string, string>> = Object.freeze(Object.fromEntries([...CORE_OPTIONS, ...RUN_OPTIONS].map((s) => [s.key, longFlag(s)])));

/** The keys a scenario file may set under `options`, by their scenario spelling (`db-latency`) → option key. */
export const SCENARIO_KEYS: ReadonlySet<string> = new Set([...CORE_OPTIONS, ...RUN_OPTIONS].filter((s) => s.scenario).map((s) => s.key));
