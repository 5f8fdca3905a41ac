import type { InstanceDeath, NemesisWindow } from "../faults/nemesis.js";
import type { StrategyVerdict } from "./verdict.js";
import type { TimelinePoint } from "../stats/timeline.js";
import type { AuditResult } from "../audit/audit.js";
import type { LatencySummary } from "../stats/histogram.js";
import type { Noise } from "../stats/noise.js";
import type { Environment } from "./environment.js";

/** One strategy's measured outcome, as it appears in `--json` (schemaVersion 1). Null means unknown. */
export interface StrategyResult {
  readonly strategy: string;
  /**
   * `completed`, or `interrupted`: the run was stopped (a signal) part-way and these are the figures of what was
   * measured until then. Results of older versions carry no state and read as completed.
   */
  readonly state: "completed" | "interrupted";
  readonly requests: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly errorRate: number;
  /** The measured window, warmup excluded. */
  readonly durationMs: number;
  /** Successful registrations per second over the measured window. */
  readonly tps: number;
  /**
   * Over successful registrations; null when none succeeded. With --rate it counts from each request's due time
   * (coordinated omission corrected, as wrk2), and `serviceLatencyMs` from its send (as oha and autocannon report).
   */
  readonly latencyMs: LatencySummary | null;
  /** With --rate only: latency from each request's send (the service time); null when none succeeded. */
  readonly serviceLatencyMs?: LatencySummary | null;
  /** With --rate only: the service times' histogram (µs, as `histogram`), so that runs and generators merge exactly. */
  readonly serviceHistogram?: string;
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
  /** Wall-clock bounds of the measured window (epoch ms), so results of several load generators can be merged. */
  readonly startedAt: number;
  readonly endedAt: number;
  /** How many times the strategy was measured (`--runs`); TPS is then their mean. */
  readonly runs?: number;
  readonly perRun?: readonly { readonly tps: number; readonly p99: number | null; readonly durationMs: number }[];
  /** Standard errors of TPS and p99, from the runs or from time slices of a single run. */
  readonly noise?: Noise;
  /** The run prefix every ID of this result carries (for audits and merges). */
  readonly run?: string;
  /** Set by `--run ID --agent I/N`: this result is agent I's share of run ID, which `regbench merge` completes. */
  readonly agent?: { readonly run: string; readonly index: number; readonly of: number };
  /**
   * What happened each second of the measured window: successes, failures, p50/p99 of the successes (within 4%).
   * Absent in results of older versions.
   */
  readonly timeline?: readonly TimelinePoint[];
  /** With --rate: the rate asked for, the rate achieved, and how many requests started late. */
  readonly pacing?: { readonly targetRate: number; readonly achievedRate: number; readonly late: number };
  /** What a reader must know about this result (an audit that could not be taken, say). */
  readonly notes: readonly string[];
  /** `--nemesis`: when each struck, from the start of the measured window, and what it did. */
  readonly nemeses?: readonly NemesisWindow[];
  /** Server instances that died during the run (killed by a nemesis or not): never a silent ✓. */
  readonly instanceDeaths?: readonly InstanceDeath[];
  /** pass / warn / fail / unknown (see StrategyVerdict), as of the report's `maxErrorRate`. */
  readonly verdict?: StrategyVerdict;
  /** TPS relative to the fastest passing strategy of the report; null when none passes. */
  readonly relativeTps?: number | null;
}

/** A threshold's outcome as reports carry it. */
export interface ThresholdLine {
  readonly expression: string;
  readonly strategy: string;
  readonly passed: boolean;
  readonly measured: number | null;
  readonly detail: string;
}

export interface RunReport {
  readonly tool: "regbench";
  readonly schemaVersion: 1;
  readonly config: RunConditions;
  readonly results: readonly StrategyResult[];
  /** Strategies that were asked for through `all` but could not run, and why. */
  readonly skipped: readonly { readonly strategy: string; readonly reason: string }[];
  /** Strategies that started but could not be measured (their process died, their server exited), and why. */
  readonly failed?: readonly { readonly strategy: string; readonly reason: string }[];
  /** Set when a signal stopped the run; `results` hold what was measured until then. */
  readonly interrupted?: { readonly signal: string };
  /** Conditions a reader must know: throwaway servers, degenerate quorums. */
  readonly notes: readonly string[];
  /** The machine and the regbench that measured. */
  readonly environment?: Environment;
  /** `--threshold` outcomes, when any were given. */
  readonly thresholds?: readonly ThresholdLine[];
}

/** The counts of one measured window, from which a result's rates are derived. */
export interface Tally {
  succeeded: number;
  failed: number;
  errors: Record<string, number>;
}

/** The figures every driver derives the same way from its tally and window. */
export function rates(
  tally: Tally,
  durationMs: number,
): Pick<StrategyResult, "requests" | "succeeded" | "failed" | "errorRate" | "durationMs" | "tps" | "errors"> {
  const requests = tally.succeeded + tally.failed;
  return {
    requests,
    succeeded: tally.succeeded,
    failed: tally.failed,
    errorRate: requests === 0 ? 0 : tally.failed / requests,
    durationMs,
    tps: durationMs > 0 ? (tally.succeeded * 1000) / durationMs : 0,
    errors: tally.errors,
  };
}

/**
 * The conditions a report was measured under, as `describeConfig` records them in the JSON's `config`: every
 * exporter reads them through this one type. Reports of older versions may lack the later fields; unknown keys are
 * kept (a newer report read by an older regbench).
 */
export interface RunConditions {
  readonly mode?: string;
  readonly target?: string;
  /** The request profile the target was spoken to with (`--profile`). */
  readonly profile?: string;
  /** The database the audit read, its password masked (`--audit-db`). */
  readonly auditDb?: string;
  readonly instances?: number;
  readonly workers?: number;
  readonly scenario?: string | null;
  readonly strategies?: readonly string[];
  /** Null for a run bounded by time (`--duration`, `--stages`). */
  readonly requests?: number | null;
  readonly concurrency?: number;
  readonly rate?: number;
  readonly durationMs?: number;
  readonly stages?: readonly { readonly durationMs: number; readonly target: number }[];
  readonly stagesOf?: "concurrency" | "rate";
  readonly warmup?: number;
  readonly warmupMs?: number;
  readonly systems?: number;
  readonly projects?: number;
  readonly resend?: number;
  readonly dbLatencyMs?: number;
  readonly seed?: number;
  readonly cidr?: string;
  readonly lockKey?: string;
  readonly lockNesting?: boolean;
  readonly store?: string;
  readonly redis?: string;
  readonly etcd?: string;
  readonly lockTtlMs?: number;
  readonly lockWaitMs?: number;
  readonly watchdog?: boolean;
  readonly lockBatch?: number;
  readonly faults?: readonly string[];
  readonly runs?: number;
  /** The share of failed registrations a ✓ strategy may have (`--max-error-rate`). */
  readonly maxErrorRate?: number;
  readonly [key: string]: unknown;
}
