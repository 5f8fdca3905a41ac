import type { RegisterRequest } from "../core/types.js";
import type { WorkloadConfig } from "../workload/config.js";
import { WARMUP_BASE } from "../workload/generator.js";
import { closedLoop, openLoop, type LoopControl, type LoopWindow, type PacingStats, type Register } from "./loops.js";
import type { Recorder, RunEvent } from "./recorder.js";

/** A share of one schedule: this loop sends every `of`-th request starting at the `index`-th (a generator thread's). */
export interface Share {
  readonly index: number;
  readonly of: number;
}

export interface MeasureOptions {
  readonly emit?: (event: RunEvent) => void;
  readonly progressEveryMs?: number;
  readonly control?: LoopControl;
  readonly share?: Share;
  /** Called when the measured window starts (a fault timed from its start). */
  readonly onMeasureStart?: () => void;
}

/**
 * The warmup (a count, or a time), then the measured window: `requests`, or `--duration`, or `--stages`; a closed
 * loop at `concurrency` or an open loop at `rate`. The one path every driver measures through.
 */
export async function measureWindow(
  register: Register,
  requestAt: (i: number) => RegisterRequest,
  w: WorkloadConfig,
  recorder: Recorder,
  options: MeasureOptions = {},
): Promise<{ window: LoopWindow; pacing?: PacingStats; sent: number }> {
  const emit = options.emit ?? (() => {});
  const control = options.control ?? {};
  const share = options.share ?? { index: 0, of: 1 };
  // Each share runs its part of the concurrency (at least one sender) and of the rate.
  const part = (total: number) => Math.max(1, Math.floor(total / share.of) + (share.index < total % share.of ? 1 : 0));
  const concurrency = part(w.concurrency);
  const warmupEnd = w.warmupMs !== undefined ? 0 : w.warmup;
  if (w.warmup > 0 || w.warmupMs !== undefined) {
    emit({ type: "phase", phase: "warmup" });
    if (w.warmupMs !== undefined) {
      // A timed warmup takes indices from the top of the range, so the measured window's indices stay 0, 1, 2…
      await closedLoop(register, requestAt, { from: WARMUP_BASE + share.index, to: Infinity, step: share.of }, concurrency, recorder.unmeasured, {
        ...control,
        durationMs: w.warmupMs,
      });
    } else {
      await closedLoop(register, requestAt, { from: share.index, to: w.warmup, step: share.of }, concurrency, recorder.unmeasured, control);
    }
  }
  emit({ type: "phase", phase: "measure" });
  const timed = w.durationMs !== undefined || w.stages !== undefined;
  const indices = { from: warmupEnd + share.index, to: timed ? Infinity : warmupEnd + w.requests, step: share.of };
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
      // Open loop: latency from each request's due time; a share's schedule is offset by its place in the whole one.
      // With rate stages the stages give the rate, and the schedule starts at 0 in every share.
      const rate = w.rate ?? 0;
      recorder.measureService();
      const phaseMs = rateStages ? 0 : (share.index * 1000) / rate;
      const paced = await openLoop(register, requestAt, indices, rate, concurrency, recorder.record, loopControl, rateStages, phaseMs);
      return { window: paced, pacing: paced, sent: recorder.done - before };
    }
    const window = await closedLoop(register, requestAt, indices, concurrency, recorder.record, loopControl, concurrencyStages);
    return { window, sent: recorder.done - before };
  } finally {
    stopProgress();
    emit(recorder.progress(total, durationS));
  }
}
