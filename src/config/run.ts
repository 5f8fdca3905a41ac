/*
 * A run's configuration, validated once (src/cli/options.ts builds it from the option table) and frozen: the layers
 * that run it (driver/, strategies/, http/) read it. Types only, and the defaults of the workload; the types it
 * names from store/, faults/, audit/ and driver/profile/ are imported as types.
 */
import type { Isolation, StoreSpec } from "../store/kind.js";
import type { Fault } from "../faults/faults.js";
import type { LockSettings } from "../locks/settings.js";
import type { LockServiceLocation } from "../locks/services/service.js";
import type { Nemesis } from "../faults/nemesis.js";
import type { ProfileSpec } from "../driver/profile/spec.js";
import type { AuditDb } from "../audit/auditDb.js";

/** What locks and flights are keyed on: the seed's systemUUID, or the project. */
export type LockKeyMode = "system" | "project";

/** The load: what is sent, how much of it at once, and what the database costs. */
export interface WorkloadConfig {
  /** Measured registrations. */
  readonly requests: number;
  /** Registrations in flight at once (closed loop), or the most in flight (open loop). */
  readonly concurrency: number;
  /** Open loop: requests started per second, whatever the responses do; undefined for a closed loop. */
  readonly rate?: number;
  /** Registrations run before the measured window, on the same store, not counted. */
  readonly warmup: number;
  /** Or the warmup as a time: registrations (closed loop at `concurrency`) for this long before the window. */
  readonly warmupMs?: number;
  /** The measured window as a time instead of `requests` (closed or open loop). */
  readonly durationMs?: number;
  /** k6-style stages: the concurrency (closed loop) or the rate (`stagesOf` "rate") ramps linearly to each target. */
  readonly stages?: readonly { readonly durationMs: number; readonly target: number }[];
  readonly stagesOf?: "concurrency" | "rate";
  /** Distinct systemUUIDs the devices spread over. */
  readonly systems: number;
  readonly projects: number;
  /** Share of requests that re-send an earlier machineID, as a device retrying after a timeout. */
  readonly resend: number;
  /** Simulated round trip awaited before every store call. */
  readonly dbLatencyMs: number;
  /** Makes the workload's shape reproducible; undefined draws one. */
  readonly seed: number;
  /** Every project's address pool. */
  readonly cidr: string;
}

/** Strategy knobs the CLI exposes. */
export interface StrategyOptions {
  /** Undefined: each strategy's own default (the seed's systemUUID for the local ones, the project for Redis). */
  readonly lockKey: LockKeyMode | undefined;
  readonly lockTimeoutMs: number;
  readonly shards: number;
  /** Attempts in all when retrying after a unique-constraint conflict. */
  readonly retries: number;
  /** Distributed locks are taken again around the system row's creation (see StrategySettings.lockNesting). */
  readonly lockNesting: boolean;
}

/**
 * One agent of a run that several load generators share (`--run ID --agent I/N`): it sends its disjoint share of the
 * run (the workload above is that share); `regbench merge` puts the agents back together and audits once.
 */
export interface AgentOfRun {
  /** The run's ID: machines are `ID-aI-m…`, systems `ID-s…`, shared by the agents. */
  readonly run: string;
  /** 0-based, as JOB_COMPLETION_INDEX is. */
  readonly index: number;
  readonly of: number;
  /** The whole run's figures, of which the workload holds this agent's share. */
  readonly total: { readonly requests: number; readonly concurrency: number; readonly rate?: number; readonly warmup: number };
}

/** How requests reach the core: in this process, or over HTTP to an embedded server or a target. */
export interface HttpOptions {
  /** Load-generator threads sending the HTTP requests (worker_threads), their measurements merged exactly. */
  readonly workers: number;
  /** An already running server to drive; undefined starts regbench's own per strategy. */
  readonly target: string | undefined;
  /** Projects the target knows, with their keys (`--project ID:KEY`). */
  readonly projects: readonly { readonly id: string; readonly key: string }[];
  /** The target's config sealing key, hex, to open the returned configs in the audit. */
  readonly serverKey: string | undefined;
  /** Server processes sharing one store (node cluster, one port). */
  readonly instances: number;
  /** Embedded servers warm their code paths on a scratch store before listening. */
  readonly serverWarmup: boolean;
  /** A request without a complete answer after this long fails as `timeout` (every HTTP path). */
  readonly timeoutMs: number;
  /** The target's audit token (`--audit-token`), for GET /v1/audit/rows. */
  readonly auditToken: string | undefined;
  /** How the target's API is spoken (`--profile`); undefined: regbench's own (the built-in profile). */
  readonly profile?: ProfileSpec;
  /** The service's own database, read for the audit with the profile's queries (`--audit-db`). Holds a password: never shown unmasked. */
  readonly auditDb?: AuditDb;
  /** With --run / --agent: which agent of which run this is. */
  readonly agent?: AgentOfRun;
  /** `--start-at`: the load starts at this wall-clock instant (epoch ms), the same for every agent. */
  readonly startAt?: number;
}

/** How the store is used: kept after the run or not, the connection pool, the isolation level (server stores). */
export interface StoreOptions {
  /** `--keep-store`: the run's schema, database or file stays for anyone to count the rows again. */
  readonly keep: boolean;
  /** Connections per process; undefined: the default. */
  readonly pool: number | undefined;
  /** Undefined: the database's default (READ COMMITTED on PostgreSQL, REPEATABLE READ on InnoDB). */
  readonly isolation: Isolation | undefined;
}

/** A run, validated once and frozen: every later layer trusts it. */
export interface RunConfig {
  readonly strategies: readonly string[];
  /** `all`: strategies whose backend is unreachable are skipped with a note; `explicit`: that is an error. */
  readonly selection: "explicit" | "all";
  readonly mode: "in-process" | "http";
  readonly http: HttpOptions;
  readonly scenario: string | undefined;
  /** The scenario file's thresholds (gates as code); the command line's are added to them. */
  readonly scenarioThresholds?: readonly string[];
  readonly workload: WorkloadConfig;
  readonly strategy: StrategyOptions;
  readonly store: StoreSpec;
  readonly storeOptions: StoreOptions;
  /** Every distributed lock's TTL, wait, watchdog and batching (`--lock-ttl`, `--lock-wait`, `--no-watchdog`, `--lock-batch`). */
  readonly locks: LockSettings;
  /**
   * Where each lock service is, by its name in `locks/services/registry.ts` (`redis`, `etcd`), as its flag gave it:
   * URLs, or `auto`. The pre-flight replaces `auto` by the URLs it found or started.
   */
  readonly lockServices: Readonly<Record<string, LockServiceLocation>>;
  readonly faults: readonly Fault[];
  /** `--nemesis`: real faults on processes, services and connections, timed from the measured window (none if absent). */
  readonly nemeses?: readonly Nemesis[];
  /** Each strategy is measured this many times, interleaved across strategies. */
  readonly runs: number;
}

export const DEFAULT_WORKLOAD: WorkloadConfig = Object.freeze({
  requests: 10_000,
  concurrency: 1000,
  warmup: 0,
  systems: 1,
  projects: 1,
  resend: 0,
  dbLatencyMs: 0,
  seed: 1,
  cidr: "10.0.0.0/12",
});
