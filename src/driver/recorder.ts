import { AckLog } from "../audit/ackLog.js";
import { rates, type StrategyResult, type Tally } from "../report/result.js";
import { decodeHistogram as decodeHistogramData, encodeHistogram, newLatencyHistogram, recordMs, summarise } from "../stats/histogram.js";
import { noiseFromSamples } from "../stats/noise.js";
import { Timeline, type TimelineData } from "../stats/timeline.js";
import type { Histogram } from "hdr-histogram-js";
import type { LoopWindow, Outcome } from "./loops.js";

import type { RunEvent } from "../model/events.js";

/** The kind a failure is counted under: the core's error kinds, the HTTP client's, else `internal`. */
export function outcomeKind(error: unknown): string {
  const kind = (error as { kind?: unknown } | null | undefined)?.kind;
  return typeof kind === "string" ? kind : "internal";
}

/** The figures of a measured window that every driver reports alike. */
export type MeasuredFigures = Pick<
  StrategyResult,
  | "requests"
  | "succeeded"
  | "failed"
  | "errorRate"
  | "durationMs"
  | "tps"
  | "errors"
  | "latencyMs"
  | "serviceLatencyMs"
  | "serviceHistogram"
  | "histogram"
  | "noise"
  | "startedAt"
  | "endedAt"
  | "timeline"
>;

/** What one generator thread measured, as it travels to the recorder that merges it. */
export interface RecorderData {
  readonly tally: Tally;
  readonly histogram: string;
  /** The open loop's service times (from each send), when it ran one. */
  readonly serviceHistogram?: string;
  readonly timeline: TimelineData;
  readonly acks: ReturnType<AckLog["toData"]>;
  /** The thread's window on the wall clock (epoch ms): threads each have their own performance.now(). */
  readonly firstSentEpoch: number;
  readonly lastDoneEpoch: number;
  readonly abandoned: number;
}

/**
 * The one place a measured window is recorded: the tally, the HDR histogram of successful latencies in µs, the
 * per-second timeline, and the acknowledgements the audit checks (compact: see AckLog). Drivers hand `record` to a
 * loop and ask for the figures at the end; a new metric is added here once. Memory is bounded by the run's length
 * in seconds, not by its requests, apart from ~10 bytes per acknowledgement.
 */
export class Recorder {
  private readonly histogram: Histogram = newLatencyHistogram();
  private readonly tally: Tally = { succeeded: 0, failed: 0, errors: {} };
  private readonly timeline = new Timeline();
  /** The open loop's latencies from each send (the service time); undefined in a closed loop, where they are `histogram`'s. */
  private service: Histogram | undefined;
  /** The timeline's one origin: the first request sent of the measured window. */
  private windowStart = NaN;
  /** Every acknowledged registration (warmup included), for the audit. */
  readonly acks: AckLog;

  /**
   * `openKey`: the server key that opens the configs the answers carry (checked off this thread as the run goes);
   * undefined when it is not known.
   */
  constructor(openKey: Buffer | undefined) {
    this.acks = new AckLog(openKey);
  }

  /**
   * The measured window's first request is being sent at `at`: the timeline counts from there (the loops call it,
   * through LoopControl.onFirstSend). Every outcome completes after it, so no bucket falls before the origin.
   */
  readonly begin = (at: number): void => {
    if (!Number.isNaN(this.windowStart)) return;
    this.windowStart = at;
    this.timeline.reset(at);
  };

  /** The window is an open loop: its service times (from each send) are kept beside the latencies from the due times. */
  measureService(): void {
    this.service ??= newLatencyHistogram();
  }

  /** Records one measured outcome; the loops call it. */
  readonly record: Outcome = (index, request, latencyMs, response, error, now, sentAt) => {
    // Called without begin() (a caller of its own), the origin is the first outcome's send; the timeline moves its
    // start back if an earlier-sent request completes later.
    if (Number.isNaN(this.windowStart)) this.begin(sentAt);
    if (response) {
      recordMs(this.histogram, latencyMs);
      if (this.service) recordMs(this.service, now - sentAt);
      this.timeline.success(now, latencyMs);
      this.tally.succeeded++;
      this.acks.add(index, request.machineId, response);
    } else {
      this.tally.failed++;
      this.timeline.failure(now);
      const kind = outcomeKind(error);
      this.tally.errors[kind] = (this.tally.errors[kind] ?? 0) + 1;
    }
  };

  /** An outcome outside the measured window (warmup): only its acknowledgement is kept, for the audit. */
  readonly unmeasured: Outcome = (index, request, _latencyMs, response) => {
    if (response) this.acks.add(index, request.machineId, response);
  };

  /** Outcomes recorded so far. */
  get done(): number {
    return this.tally.succeeded + this.tally.failed;
  }

  /** Adds what a generator thread measured. */
  merge(data: RecorderData): void {
    this.tally.succeeded += data.tally.succeeded;
    this.tally.failed += data.tally.failed;
    for (const [kind, n] of Object.entries(data.tally.errors)) this.tally.errors[kind] = (this.tally.errors[kind] ?? 0) + n;
    if (data.tally.succeeded > 0) this.histogram.add(decodeHistogramData(data.histogram));
    if (data.serviceHistogram !== undefined) {
      this.measureService();
      if (data.tally.succeeded > 0) this.service!.add(decodeHistogramData(data.serviceHistogram));
    }
    this.timeline.merge(data.timeline);
    this.acks.merge(data.acks);
  }

  /**
   * Adds what every generator thread measured, and returns their window as one (this thread's clock): from the first
   * request any of them sent to the last outcome. The merged timeline has a single thread's origin, the first send.
   */
  mergeAll(parts: readonly RecorderData[]): LoopWindow {
    let firstSent = Infinity;
    let lastDone = -Infinity;
    let abandoned = 0;
    for (const d of parts) {
      // A thread that sent nothing has NaN bounds, which min and max would spread: skipped.
      if (Number.isFinite(d.firstSentEpoch)) firstSent = Math.min(firstSent, d.firstSentEpoch - performance.timeOrigin);
      if (Number.isFinite(d.lastDoneEpoch)) lastDone = Math.max(lastDone, d.lastDoneEpoch - performance.timeOrigin);
      abandoned += d.abandoned;
    }
    if (Number.isFinite(firstSent)) this.begin(firstSent);
    for (const d of parts) this.merge(d);
    return { firstSent: Number.isFinite(firstSent) ? firstSent : NaN, lastDone: Number.isFinite(lastDone) ? lastDone : NaN, abandoned };
  }

  /** The recorder as plain data (a generator thread sends it to its parent); the acknowledgements must be finished. */
  toData(window: LoopWindow): RecorderData {
    return {
      tally: this.tally,
      histogram: encodeHistogram(this.histogram),
      ...(this.service ? { serviceHistogram: encodeHistogram(this.service) } : {}),
      timeline: this.timeline.toData(),
      acks: this.acks.toData(),
      firstSentEpoch: performance.timeOrigin + window.firstSent,
      lastDoneEpoch: performance.timeOrigin + window.lastDone,
      abandoned: window.abandoned,
    };
  }

  /** The live figures: done so far, and the last second's TPS, errors and p99. */
  progress(total: number | undefined, durationS?: number): Extract<RunEvent, { type: "progress" }> {
    const now = performance.now();
    const started = Number.isNaN(this.windowStart) ? now : this.windowStart;
    return {
      type: "progress",
      done: this.done,
      total,
      elapsedS: (now - started) / 1000,
      ...(durationS !== undefined ? { durationS } : {}),
      failed: this.tally.failed,
      recent: this.timeline.recent(now),
    };
  }

  /** Emits progress every `everyMs` until the returned function is called. */
  reportProgress(emit: (event: RunEvent) => void, total: number | undefined, everyMs = 100, durationS?: number): () => void {
    const timer = setInterval(() => emit(this.progress(total, durationS)), everyMs);
    return () => clearInterval(timer);
  }

  /**
   * The window's figures: counts and rates over the span from the first request sent to the last outcome, latency
   * from the histogram, the per-second timeline, the noise from ten time slices, and the window on the wall clock
   * (so that results of several load generators can be merged).
   */
  figures(window: LoopWindow): MeasuredFigures {
    const sent = Number.isFinite(window.firstSent);
    const durationMs = sent && Number.isFinite(window.lastDone) ? Math.max(0, window.lastDone - window.firstSent) : 0;
    const startedAt = sent ? performance.timeOrigin + window.firstSent : Date.now();
    const slices = sent ? this.timeline.slices(window.firstSent, window.firstSent + durationMs) : { tps: [], p99: [] };
    return {
      ...rates(this.tally, durationMs),
      latencyMs: summarise(this.histogram),
      ...(this.service ? { serviceLatencyMs: summarise(this.service), serviceHistogram: encodeHistogram(this.service) } : {}),
      histogram: encodeHistogram(this.histogram),
      noise: noiseFromSamples(slices.tps, slices.p99, "slices"),
      startedAt,
      endedAt: startedAt + durationMs,
      timeline: sent ? this.timeline.points(window.firstSent, window.firstSent + durationMs) : [],
    };
  }
}
