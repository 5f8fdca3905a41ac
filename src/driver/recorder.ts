import type { Acknowledgement } from "../audit/audit.js";
import type { RegisterRequest, RegisterResponse } from "../core/types.js";
import { rates, type StrategyResult, type Tally } from "../report/result.js";
import { encodeHistogram, newLatencyHistogram, recordMs, summarise } from "../stats/histogram.js";
import { noiseFromSamples, Timeline } from "../stats/noise.js";
import type { LoopWindow, Outcome } from "./loops.js";

/** What a run tells its subscribers; the drivers never print. */
export type RunEvent =
  | { readonly type: "phase"; readonly phase: "setup" | "warmup" | "measure" | "audit" }
  | { readonly type: "progress"; readonly done: number; readonly total: number };

/** The kind a failure is counted under: the core's error kinds, the HTTP client's, else `internal`. */
export function outcomeKind(error: unknown): string {
  const kind = (error as { kind?: unknown } | null | undefined)?.kind;
  return typeof kind === "string" ? kind : "internal";
}

/** The figures of a measured window that every driver reports alike. */
export type MeasuredFigures = Pick<
  StrategyResult,
  "requests" | "succeeded" | "failed" | "errorRate" | "durationMs" | "tps" | "errors" | "latencyMs" | "histogram" | "noise" | "startedAt" | "endedAt"
>;

/**
 * The one place a measured window is recorded: the tally, the HDR histogram of successful latencies in µs, the
 * timeline for the noise estimate, and the acknowledgements the audit checks. Drivers hand `record` to a loop and
 * ask for the figures at the end; a new metric is added here once.
 */
export class Recorder {
  private readonly histogram = newLatencyHistogram();
  private readonly tally: Tally = { succeeded: 0, failed: 0, errors: {} };
  private readonly timeline = new Timeline();
  /** Every acknowledged registration (warmup included), for the audit. */
  readonly acks: Acknowledgement[] = [];

  /** Records one measured outcome; the loops call it. */
  readonly record: Outcome = (request, latencyMs, response, error) => {
    if (response) {
      recordMs(this.histogram, latencyMs);
      this.timeline.add(performance.now(), latencyMs);
      this.tally.succeeded++;
      this.acknowledge(request, response);
    } else {
      this.tally.failed++;
      const kind = outcomeKind(error);
      this.tally.errors[kind] = (this.tally.errors[kind] ?? 0) + 1;
    }
  };

  /** An outcome outside the measured window (warmup): only its acknowledgement is kept, for the audit. */
  readonly unmeasured: Outcome = (request, _latencyMs, response) => {
    if (response) this.acknowledge(request, response);
  };

  private acknowledge(request: RegisterRequest, response: RegisterResponse): void {
    this.acks.push({ requestMachineId: request.machineId, response });
  }

  /** Outcomes recorded so far. */
  get done(): number {
    return this.tally.succeeded + this.tally.failed;
  }

  /** Emits progress every `everyMs` until the returned function is called. */
  reportProgress(emit: (event: RunEvent) => void, total: number, everyMs = 100): () => void {
    const timer = setInterval(() => emit({ type: "progress", done: this.done, total }), everyMs);
    return () => clearInterval(timer);
  }

  /**
   * The window's figures: counts and rates over the span from the first request sent to the last outcome, latency
   * from the histogram, the noise from ten time slices, and the window on the wall clock (so that results of several
   * load generators can be merged).
   */
  figures(window: LoopWindow): MeasuredFigures {
    const sent = Number.isFinite(window.firstSent);
    const durationMs = sent && Number.isFinite(window.lastDone) ? Math.max(0, window.lastDone - window.firstSent) : 0;
    const startedAt = sent ? Date.now() - (performance.now() - window.firstSent) : Date.now();
    const slices = this.timeline.slices(window.firstSent, window.firstSent + durationMs);
    return {
      ...rates(this.tally, durationMs),
      latencyMs: summarise(this.histogram),
      histogram: encodeHistogram(this.histogram),
      noise: noiseFromSamples(slices.tps, slices.p99, "slices"),
      startedAt,
      endedAt: startedAt + durationMs,
    };
  }
}
