import type { RegisterRequest, RegisterResponse } from "../core/types.js";

/** What every driver measures: a plain registration function (a strategy in this process, or an HTTP client). */
export type Register = (request: RegisterRequest) => Promise<RegisterResponse>;

/** One request's outcome: its latency in ms, and the response or the error. */
export type Outcome = (request: RegisterRequest, latencyMs: number, response: RegisterResponse | undefined, error: unknown) => void;

/** Stopping a loop early: no request is started once `signal` is aborted; those in flight get `drainMs` to finish. */
export interface LoopControl {
  readonly signal?: AbortSignal;
  readonly drainMs?: number;
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
    work.then(() => resolve(), reject).finally(() => {
      if (timer) clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    });
  });
}

/**
 * Fires requests [from, to) with `concurrency` in flight (a closed loop: each of `concurrency` senders sends its next
 * request when its last one completed) and hands every outcome to `onOutcome`.
 */
export async function closedLoop(register: Register, requestAt: (i: number) => RegisterRequest, from: number, to: number, concurrency: number, onOutcome: Outcome, control: LoopControl = {}): Promise<LoopWindow> {
  const { signal } = control;
  let next = from;
  let inFlight = 0;
  let firstSent = NaN;
  let lastDone = NaN;
  let open = true;
  const sender = async () => {
    while (next < to && !signal?.aborted) {
      const request = requestAt(next++);
      const started = performance.now();
      if (Number.isNaN(firstSent)) firstSent = started;
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
      onOutcome(request, done - started, response, error);
    }
  };
  await untilDoneOrDrained(Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, to - from)) }, sender)), control);
  open = false;
  return { firstSent, lastDone, abandoned: inFlight };
}

/**
 * Fires requests [from, to) at `rate` per second whatever the responses do (an open loop, as wrk2 does): request k
 * is due at start + k/rate, and its latency is measured from that intended start, so a stalled system is charged
 * for the requests it kept waiting (coordinated omission corrected). At most `maxInFlight` are in flight; a request
 * that has to wait for a slot is sent late and still measured from its intended start.
 */
export async function openLoop(
  register: Register,
  requestAt: (i: number) => RegisterRequest,
  from: number,
  to: number,
  rate: number,
  maxInFlight: number,
  onOutcome: Outcome,
  control: LoopControl = {},
): Promise<LoopWindow & PacingStats> {
  const { signal } = control;
  const interval = 1000 / rate;
  const started = performance.now();
  let next = from;
  let inFlight = 0;
  let late = 0;
  let firstSent = NaN;
  let lastSent = started;
  let lastDone = NaN;
  let open = true;
  let wake: (() => void) | undefined;
  const onAbort = () => wake?.();
  signal?.addEventListener("abort", onAbort, { once: true });
  const running = new Set<Promise<void>>();
  const sending = (async () => {
    while (next < to && !signal?.aborted) {
      const due = started + (next - from) * interval;
      const now = performance.now();
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
      const request = requestAt(next++);
      inFlight++;
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
          onOutcome(request, at - due, response, error);
        });
      running.add(done);
    }
    await Promise.all(running);
  })();
  await untilDoneOrDrained(sending, control);
  open = false;
  signal?.removeEventListener("abort", onAbort);
  const sent = next - from;
  // The rate achieved over the span from the first send to the last (n requests span n − 1 intervals).
  const span = lastSent - firstSent;
  return { firstSent, lastDone, abandoned: inFlight, achievedRate: span > 0 ? ((sent - 1) * 1000) / span : 0, late };
}
