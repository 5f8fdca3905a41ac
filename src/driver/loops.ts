import type { RegisterRequest, RegisterResponse } from "../core/types.js";
import { maxOf } from "../stats/extent.js";

/** What every driver measures: a plain registration function (a strategy in this process, or an HTTP client). */
export type Register = (request: RegisterRequest) => Promise<RegisterResponse>;

/**
 * One request's outcome: its index in the workload, its latency in ms, the response or the error, and when it
 * completed (performance.now(), read once by the loop).
 */
export type Outcome = (
  index: number,
  request: RegisterRequest,
  latencyMs: number,
  response: RegisterResponse | undefined,
  error: unknown,
  doneAt: number,
) => void;

/** One k6-style stage: over `durationMs`, the target (rate or concurrency) moves linearly to `target`. */
export interface Stage {
  readonly durationMs: number;
  readonly target: number;
}

/**
 * Stopping a loop early: no request is started once `signal` is aborted; those in flight get `drainMs` to finish.
 * `durationMs`: no request is started that long after the loop's first one (`--duration`).
 */
export interface LoopControl {
  readonly signal?: AbortSignal;
  readonly drainMs?: number;
  readonly durationMs?: number;
}

/** When a loop's first request went out and its last outcome came back (performance.now()), and what it left behind. */
export interface LoopWindow {
  readonly firstSent: number;
  readonly lastDone: number;
  /** Requests still in flight when the loop stopped waiting (an interrupted run); their outcomes are not recorded. */
  readonly abandoned: number;
}

/** What an open-loop phase reports besides the outcomes. */
export interface PacingStats {
  /** Requests sent, per second of the phase. */
  readonly achievedRate: number;
  /** Requests sent more than one inter-arrival interval after their intended start. */
  readonly late: number;
}

const DEFAULT_DRAIN_MS = 1000;

/** Resolves when `work` settles, or `drainMs` after `signal` aborts, whichever is first. */
function untilDoneOrDrained(work: Promise<unknown>, control: LoopControl): Promise<void> {
  const { signal } = control;
  if (!signal) return work.then(() => undefined);
  return new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => (timer = setTimeout(resolve, control.drainMs ?? DEFAULT_DRAIN_MS));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    work
      .then(() => resolve(), reject)
      .finally(() => {
        if (timer) clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
      });
  });
}

/**
 * Lets the event loop turn every `everyMs`: a strategy whose calls all complete synchronously (SQLite in this
 * process) would otherwise run a whole loop as one chain of microtasks, and timers (progress, faults), signals,
 * IPC and the config verifier's answers would wait until the end. Every sender awaits the same gate, so the
 * microtask queue drains and one macrotask turn runs; the pause is one event-loop turn per 10 ms.
 */
class Breather {
  private last = performance.now();
  private gate: Promise<void> | undefined;

  constructor(private readonly everyMs = 10) {}

  /** Undefined when no pause is due at `now` (the caller's clock read); else a promise to await. */
  due(now: number): Promise<void> | undefined {
    if (this.gate) return this.gate;
    if (now - this.last < this.everyMs) return undefined;
    this.gate = new Promise<void>((resolve) =>
      setImmediate(() => {
        this.gate = undefined;
        this.last = performance.now();
        resolve();
      }),
    );
    return this.gate;
  }
}

/** The stages' target at `t` ms after their start (linear within a stage, from 0 before the first); undefined after the last. */
export function stageTarget(stages: readonly Stage[], t: number): number | undefined {
  let from = 0;
  let at = 0;
  for (const s of stages) {
    if (t < at + s.durationMs) return from + ((s.target - from) * (t - at)) / s.durationMs;
    at += s.durationMs;
    from = s.target;
  }
  return undefined;
}

export const stagesLength = (stages: readonly Stage[]): number => stages.reduce((t, s) => t + s.durationMs, 0);

/** Which requests a loop sends: indices [from, to), or every `step`-th of them starting at `from` (a generator thread's share). */
export interface Indices {
  readonly from: number;
  /** Exclusive; Infinity for a run bounded by time. */
  readonly to: number;
  readonly step?: number;
}

/**
 * Fires requests with `concurrency` in flight (a closed loop: each of `concurrency` senders sends its next request
 * when its last one completed) and hands every outcome to `onOutcome`. With `stages`, the number of active senders
 * follows the stages' target over time (k6's ramping VUs), and the loop ends with the last stage.
 */
export async function closedLoop(
  register: Register,
  requestAt: (i: number) => RegisterRequest,
  indices: Indices,
  concurrency: number,
  onOutcome: Outcome,
  control: LoopControl = {},
  stages?: readonly Stage[],
): Promise<LoopWindow> {
  const { signal } = control;
  const step = indices.step ?? 1;
  const { to } = indices;
  let next = indices.from;
  let inFlight = 0;
  let firstSent = NaN;
  let lastDone = NaN;
  let open = true;
  const started = performance.now();
  const deadline = control.durationMs !== undefined ? started + control.durationMs : stages ? started + stagesLength(stages) : Infinity;
  const senders = stages ? Math.max(1, Math.ceil(maxOf(stages.map((s) => s.target)))) : Math.max(1, Math.min(concurrency, Math.ceil((to - next) / step)));
  const breather = new Breather();
  const sender = async (id: number) => {
    while (next < to && !signal?.aborted) {
      const now = performance.now();
      const pause = breather.due(now);
      if (pause) {
        await pause;
        continue;
      }
      if (now >= deadline) return;
      if (stages && id >= Math.round(stageTarget(stages, now - started) ?? 0)) {
        // Not active at this stage: look again shortly.
        await new Promise((resolve) => setTimeout(resolve, 10));
        continue;
      }
      const index = next;
      next += step;
      const request = requestAt(index);
      const sent = performance.now();
      if (Number.isNaN(firstSent)) firstSent = sent;
      inFlight++;
      let response: RegisterResponse | undefined;
      let error: unknown;
      try {
        response = await register(request);
      } catch (e) {
        error = e;
      }
      inFlight--;
      if (!open) return;
      const done = performance.now();
      lastDone = done;
      onOutcome(index, request, done - sent, response, error, done);
    }
  };
  await untilDoneOrDrained(Promise.all(Array.from({ length: senders }, (_, id) => sender(id))), control);
  open = false;
  return { firstSent, lastDone, abandoned: inFlight };
}

/**
 * Fires requests at `rate` per second whatever the responses do (an open loop, as wrk2 does): request k is due at
 * start + k/rate, and its latency is measured from that intended start, so a stalled system is charged for the
 * requests it kept waiting (coordinated omission corrected). At most `maxInFlight` are in flight; a request that has
 * to wait for a slot is sent late and still measured from its intended start. With `stages`, the rate follows the
 * stages' target over time (k6's ramping arrival rate) and the loop ends with the last stage. `phaseMs` shifts this
 * loop's schedule (a generator thread's share of one schedule).
 */
export async function openLoop(
  register: Register,
  requestAt: (i: number) => RegisterRequest,
  indices: Indices,
  rate: number,
  maxInFlight: number,
  onOutcome: Outcome,
  control: LoopControl = {},
  stages?: readonly Stage[],
  phaseMs = 0,
): Promise<LoopWindow & PacingStats> {
  const { signal } = control;
  const step = indices.step ?? 1;
  const { to } = indices;
  const started = performance.now();
  const end = control.durationMs !== undefined ? started + control.durationMs : stages ? started + stagesLength(stages) : Infinity;
  let next = indices.from;
  let due = started + phaseMs;
  let inFlight = 0;
  let late = 0;
  let sentCount = 0;
  let firstSent = NaN;
  let lastSent = started;
  let lastDone = NaN;
  let open = true;
  let wake: (() => void) | undefined;
  const onAbort = () => wake?.();
  signal?.addEventListener("abort", onAbort, { once: true });
  // The interval between this loop's requests at `t`: a thread sending every step-th request sends at rate/step.
  const intervalAt = (t: number): number => {
    const r = stages ? (stageTarget(stages, t - started) ?? 0) : rate;
    return r > 0 ? (1000 * step) / r : Infinity;
  };
  let interval = intervalAt(due);
  // A stage at rate 0 has no due times: move on in 10 ms steps until the rate rises.
  const advance = () => {
    for (;;) {
      interval = intervalAt(due);
      if (interval !== Infinity || due >= end) return;
      due += 10;
    }
  };
  advance();
  const running = new Set<Promise<void>>();
  const breather = new Breather();
  const sending = (async () => {
    while (next < to && !signal?.aborted && due < end) {
      const now = performance.now();
      const pause = breather.due(now);
      if (pause) {
        await pause;
        continue;
      }
      if (due > now + 1) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, Math.max(1, Math.floor(due - now)));
        });
        continue;
      }
      if (inFlight >= maxInFlight) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      if (now - due > interval) late++;
      const index = next;
      next += step;
      const request = requestAt(index);
      const intended = due;
      inFlight++;
      sentCount++;
      if (Number.isNaN(firstSent)) firstSent = now;
      lastSent = now;
      const done = register(request)
        .then(
          (response) => ({ response, error: undefined as unknown }),
          (error: unknown) => ({ response: undefined, error }),
        )
        .then(({ response, error }) => {
          inFlight--;
          running.delete(done);
          const w = wake;
          wake = undefined;
          w?.();
          if (!open) return;
          const at = performance.now();
          lastDone = at;
          onOutcome(index, request, at - intended, response, error, at);
        });
      running.add(done);
      due += interval;
      if (stages) advance();
    }
    await Promise.all(running);
  })();
  await untilDoneOrDrained(sending, control);
  open = false;
  signal?.removeEventListener("abort", onAbort);
  // The rate achieved over the span from the first send to the last (n requests span n − 1 intervals).
  const span = lastSent - firstSent;
  return { firstSent, lastDone, abandoned: inFlight, achievedRate: span > 0 ? ((sentCount - 1) * 1000 * step) / span : 0, late };
}
