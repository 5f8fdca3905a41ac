import type { AuditResult } from "../audit/audit.js";
import type { LatencySummary } from "../stats/histogram.js";

/** One strategy's measured outcome, as it appears in `--json` (schemaVersion 1). Null means unknown. */
export interface StrategyResult {
  readonly strategy: string;
  readonly requests: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly errorRate: number;
  /** The measured window, warmup excluded. */
  readonly durationMs: number;
  /** Successful registrations per second over the measured window. */
  readonly tps: number;
  /** Over successful registrations; null when none succeeded. */
  readonly latencyMs: LatencySummary | null;
  /** Failures by kind: the core's error kinds, and over HTTP also `http-<status>`, `timeout`, `connection-error`. */
  readonly errors: Readonly<Record<string, number>>;
  /** Null when the rows could not be read. */
  readonly audit: AuditResult | null;
  readonly memory: { readonly peakRssMb: number | null };
  /** Latency of successful registrations in microseconds, HdrHistogram compressed base64. */
  readonly histogram: string;
  /** What the strategy counted about itself: conflicts, retries, coalesced calls, shard counters. */
  readonly strategyStats: Readonly<Record<string, unknown>>;
  /** Where the rows are (a kept file is worth inspecting with sqlite3). */
  readonly store: string;
  /** Requests that re-sent an earlier machineID (warmup included). */
  readonly resends: number;
  /** With --rate: the rate asked for, the rate achieved, and how many requests started late. */
  readonly pacing?: { readonly targetRate: number; readonly achievedRate: number; readonly late: number };
  /** What a reader must know about this result (an audit that could not be taken, say). */
  readonly notes: readonly string[];
}

export interface RunReport {
  readonly tool: "regbench";
  readonly schemaVersion: 1;
  readonly config: Readonly<Record<string, unknown>>;
  readonly results: readonly StrategyResult[];
  /** Strategies that were asked for through `all` but could not run, and why. */
  readonly skipped: readonly { readonly strategy: string; readonly reason: string }[];
  /** Conditions a reader must know: throwaway servers, degenerate quorums. */
  readonly notes: readonly string[];
}
