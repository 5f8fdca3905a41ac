import type { StoreSpec } from "../store/open.js";
import type { LockKeyMode } from "../strategies/strategy.js";

/** The load: what is sent, how much of it at once, and what the database costs. */
export interface WorkloadConfig {
  /** Measured registrations. */
  readonly requests: number;
  /** Registrations in flight at once (closed loop). */
  readonly concurrency: number;
  /** Registrations run before the measured window, on the same store, not counted. */
  readonly warmup: number;
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
  readonly lockKey: LockKeyMode;
  readonly lockTimeoutMs: number;
  readonly shards: number;
  /** Attempts in all when retrying after a unique-constraint conflict. */
  readonly retries: number;
}

/** A run, validated once and frozen: every later layer trusts it. */
export interface RunConfig {
  readonly strategies: readonly string[];
  readonly mode: "in-process";
  readonly scenario: string | undefined;
  readonly workload: WorkloadConfig;
  readonly strategy: StrategyOptions;
  readonly store: StoreSpec;
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
