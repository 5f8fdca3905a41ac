import type { RegisterRequest } from "../core/types.js";
import type { WorkloadConfig } from "../config/run.js";
import { WARMUP_BASE } from "../workload/generator.js";
import { closedLoop, openLoop, type Driver, type LoopControl, type LoopWindow, type PacingStats } from "./loops.js";
import type { RunEvent } from "../model/events.js";
import type { Recorder } from "./recorder.js";
import { SharedSchedule } from "./schedule.js";

/**
 * A generator thread's share of the run: thread `index` of `of`, with its exact part of `-c` (the first `c % of`
 * threads one more), taking its requests from the one schedule in `shared` (a SharedSchedule's buffer).
 */
export interface Share {
  readonly index: number;
  readonly of: number;
  readonly shared?: SharedArrayBuffer;
}

export interface MeasureOptions {
  readonly emit?: (event: RunEvent) => void;
  readonly progressEveryMs?: number;
  readonly control?: LoopControl;
  readonly share?: Share;
  /** Called when the measured window starts (a fault timed from its start). */
  readonly onMeasureStart?: () => void;
}

/** A share's exact part of `total` (-c): floor(total / of), one more for the first `total % of` threads; at least 1. */
export function sharePart(total: number, share: Share): number {
  return Math.max(1, Math.floor(total / share.of) + (share.index < total % share.of ? 1 : 0));
}

/**
 * The warmup (a count, or a time), then the measured window: `requests`, or `--duration`, or `--stages`; a closed
 * loop at `concurrency` or an open loop at `rate`. The one path every driver measures through.
 */
export async function measureWindow(
  driver: Driver,
  requestAt: (i: number) => RegisterRequest,
  w: WorkloadConfig,
  recorder: Recorder,
  options: MeasureOptions = {},
): Promise<{ window: LoopWindow; pacing?: PacingStats; sent: number }> {
  const emit = options.emit ?? (() => {});
  const control = options.control ?? {};
  const share = options.share ?? { index: 0, of: 1 };
  const concurrency = sharePart(w.concurrency, share);
  const warmupEnd = w.warmupMs !== undefined ? 0 : w.warmup;
  if (w.warmup > 0 || w.warmupMs !== undefined) {
    emit({ type: "phase", phase: "warmup" });
    if (w.warmupMs !== undefined) {
      // A timed warmup takes indices from the top of the range, so the measured window's indices stay 0, 1, 2…
      await closedLoop(driver, requestAt, { from: WARMUP_BASE + share.index, to: Infinity, step: share.of }, concurrency, recorder.unmeasured, {
        ...control,
        durationMs: w.warmupMs,
      });
    } else {
      await closedLoop(driver, requestAt, { from: share.index, to: w.warmup, step: share.of }, concurrency, recorder.unmeasured, control);
    }
  }
  emit({ type: "phase", phase: "measure" });
  const timed = w.durationMs !== undefined || w.stages !== undefined;
  // The measured window's requests come from the one schedule all threads share (alone: in order).
  const shared = share.shared ? new SharedSchedule(share.shared) : undefined;
  const indices = shared
    ? { from: warmupEnd, to: timed ? Infinity : warmupEnd + w.requests, shared }
    : { from: warmupEnd + share.index, to: timed ? Infinity : warmupEnd + w.requests, step: share.of };
  const total = timed ? undefined : w.requests;
  const durationS = w.durationMs !== undefined ? w.durationMs / 1000 : w.stages ? w.stages.reduce((t, s) => t + s.durationMs, 0) / 1000 : undefined;
  const stopProgress = recorder.reportProgress(emit, total, options.progressEveryMs, durationS);
  const loopControl = { ...control, ...(w.durationMs !== undefined ? { durationMs: w.durationMs } : {}), onFirstSend: recorder.begin };
  options.onMeasureStart?.();
  const before = recorder.done;
  try {
    const rateStages = w.stagesOf === "rate" ? w.stages : undefined;
    const concurrencyStages = w.stagesOf === "concurrency" ? w.stages?.map((s) => ({ durationMs: s.durationMs, target: s.target / share.of })) : undefined;
    if (w.rate !== undefined || rateStages) {
      // Open loop: latency from each request's due time (and the service time from its send), the due times those
      // of the whole rate (or rate stages) from the schedule's one start.
      const rate = w.rate ?? 0;
      recorder.measureService();
      const paced = await openLoop(driver, requestAt, indices, rate, concurrency, recorder.record, loopControl, rateStages);
      return { window: paced, pacing: paced, sent: recorder.done - before };
    }
    const window = await closedLoop(driver, requestAt, indices, concurrency, recorder.record, loopControl, concurrencyStages);
    return { window, sent: recorder.done - before };
  } finally {
    stopProgress();
    emit(recorder.progress(total, durationS));
  }
}
