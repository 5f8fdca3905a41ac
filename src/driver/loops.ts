import type { RegisterRequest, RegisterResponse } from "../core/types.js";
import { realClock, type Clock } from "./clock.js";
import type { SharedSchedule } from "./schedule.js";
import { maxOf } from "../stats/extent.js";

/**
 * Where a driver that holds a request back to write it with the others of its event-loop turn (the HTTP client, as
 * wrk does) says when the request's bytes went out (performance.now()): its latency counts from there, so the
 * client's own batching is not charged to the server. A driver that sends at the call leaves it as it was (NaN).
 */
export interface SendMark {
  at: number;
}

/** What every driver measures: a plain registration function (a strategy in this process, or an HTTP client). */
export type Register = (request: RegisterRequest, mark?: SendMark) => Promise<RegisterResponse>;

/** A request's end: its response, or its error (the response then undefined). */
export type Settle = (response: RegisterResponse | undefined, error: unknown) => void;

/**
 * A registration in callback form: `settle` is called once, with the response or the error. The HTTP client offers
 * it beside its Register, so that its loops make no promise and no await per request.
 */
export type Send = (request: RegisterRequest, mark: SendMark, settle: Settle) => void;

/** What the loops drive: a Register, or a driver's callback form. */
export type Driver = Register | { readonly send: Send };

/** A driver in callback form: its own, or a Register whose promise settles the request. */
function sendOf(driver: Driver): Send {
  if (typeof driver !== "function") return driver.send;
  return (request, mark, settle) =>
    void driver(request, mark).then(
      (response) => settle(response, undefined),
      (error: unknown) => settle(undefined, error),
    );
}

/** When a request went out: the driver's mark when it gave one (never before the call), else the call's time. */
const sentTime = (mark: SendMark, called: number): number => (mark.at >= called ? mark.at : called);

/**
 * One request's outcome: its index in the workload, its latency in ms (from its due time in the open loop, from its
 * send in the closed one), the response or the error, when it completed and when it was sent (performance.now(),
 * read once by the loop, the send from the driver's SendMark when it gave one). `doneAt - sentAt` is the service
 * time.
 */
export type Outcome = (
  index: number,
  request: RegisterRequest,
  latencyMs: number,
  response: RegisterResponse | undefined,
  error: unknown,
  doneAt: number,
  sentAt: number,
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
  /** Told when the loop's first request is sent, before it is (the timeline's one origin). */
  readonly onFirstSend?: (at: number) => void;
  /** The time the loop reads and waits on: the real one unless a test gives a virtual one. */
  readonly clock?: Clock;
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
  /**
   * Requests this loop sent, where its rate counts from and when its last one went out (performance.now()): threads'
   * rates are merged from them. The rate counts from the first request's due time when it went out late (a busy
   * start would otherwise shorten the span and read as faster than the schedule), from its send when that came first
   * (a timer tick early).
   */
  readonly sentCount: number;
  readonly rateFrom: number;
  readonly lastSent: number;
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
  private last: number;
  private gate: Promise<void> | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly everyMs = 10,
  ) {
    this.last = clock.now();
  }

  /** Undefined when no pause is due at `now` (the caller's clock read); else a promise to await. */
  due(now: number): Promise<void> | undefined {
    if (this.gate) return this.gate;
    if (now - this.last < this.everyMs) return undefined;
    this.gate = this.clock.turn().then(() => {
      this.gate = undefined;
      this.last = this.clock.now();
    });
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

/**
 * Which requests a loop sends: indices [from, to), each once. Alone, a loop sends them in order, or every `step`-th
 * starting at `from` (a share of a timed warmup); with `shared`, the next one is taken from the run's one schedule,
 * whichever generator thread asks (see SharedSchedule).
 */
export interface Indices {
  readonly from: number;
  /** Exclusive; Infinity for a run bounded by time. */
  readonly to: number;
  readonly step?: number;
  readonly shared?: SharedSchedule;
}

/** The next index to send, each call; `to` or past it when there is none left. */
function indexSource(indices: Indices): () => number {
  const { from, shared } = indices;
  if (shared) return () => from + shared.take();
  const step = indices.step ?? 1;
  let next = from;
  return () => {
    const i = next;
    next += step;
    return i;
  };
}

/**
 * The open loop's due times: request k (counted from the window's first) is due at start + k/rate, or, with rate
 * stages, when the stages' rate has sent k before it (a stage at rate 0 has no due times: they move on in 10 ms steps
 * until the rate rises). Every thread computes the same times from the same start; asked in increasing k.
 */
export class DueTimes {
  private k = 0;
  private due: number;

  constructor(
    private readonly start: number,
    private readonly rate: number,
    private readonly stages: readonly Stage[] | undefined,
    private readonly end: number,
  ) {
    this.due = start;
    this.skipIdle();
  }

  /** The interval between requests at `t`: Infinity while the rate is 0. */
  intervalAt(t: number): number {
    const r = this.stages ? (stageTarget(this.stages, t - this.start) ?? 0) : this.rate;
    return r > 0 ? 1000 / r : Infinity;
  }

  private skipIdle(): void {
    while (this.intervalAt(this.due) === Infinity && this.due < this.end) this.due += 10;
  }

  /** When request `k` is due (performance.now()); `end` or later when the schedule ends before it. */
  of(k: number): number {
    if (!this.stages) return this.start + (k * 1000) / this.rate;
    if (k < this.k) throw new Error(`due times are asked in order (${k} after ${this.k})`);
    while (this.k < k && this.due < this.end) {
      this.due += this.intervalAt(this.due);
      this.k++;
      this.skipIdle();
    }
    return this.k === k ? this.due : Infinity;
  }
}

/**
 * Fires requests with `concurrency` in flight (a closed loop: each of `concurrency` senders sends its next request
 * when its last one completed) and hands every outcome to `onOutcome`. With `stages`, the number of active senders
 * follows the stages' target over time (k6's ramping VUs), and the loop ends with the last stage.
 */
export async function closedLoop(
  driver: Driver,
  requestAt: (i: number) => RegisterRequest,
  indices: Indices,
  concurrency: number,
  onOutcome: Outcome,
  control: LoopControl = {},
  stages?: readonly Stage[],
): Promise<LoopWindow> {
  const { signal } = control;
  const clock = control.clock ?? realClock;
  const step = indices.step ?? 1;
  const { to } = indices;
  const take = indexSource(indices);
  let exhausted = false;
  let inFlight = 0;
  let firstSent = NaN;
  let lastDone = NaN;
  let open = true;
  const started = clock.now();
  const deadline = control.durationMs !== undefined ? started + control.durationMs : stages ? started + stagesLength(stages) : Infinity;
  const left = indices.shared ? Infinity : Math.ceil((to - indices.from) / step);
  const senders = stages ? Math.max(1, Math.ceil(maxOf(stages.map((s) => s.target)))) : Math.max(1, Math.min(concurrency, left));
  const breather = new Breather(clock);
  const send = sendOf(driver);
  // Each sender is a chain of callbacks, not an async function: its next request goes out from its last one's end.
  const work = new Promise<void>((resolve, reject) => {
    let running = senders;
    const end = () => {
      if (--running === 0) resolve();
    };
    const fail = (error: unknown) => {
      exhausted = true;
      reject(error);
    };
    const sender = (id: number) => {
      const mark: SendMark = { at: NaN };
      let index = 0;
      let request: RegisterRequest | undefined;
      let sent = 0;
      // While a request's own call runs, an end it reaches at once is taken up by the loop below, not by recursion.
      let calling = false;
      let endedInCall = false;
      const settle: Settle = (response, error) => {
        inFlight--;
        if (!open) return end();
        try {
          const done = clock.now();
          lastDone = done;
          const wrote = sentTime(mark, sent);
          onOutcome(index, request!, done - wrote, response, error, done, wrote);
        } catch (e) {
          fail(e);
          return;
        }
        if (calling) endedInCall = true;
        else next();
      };
      const resume = () => next();
      const next = (): void => {
        try {
          while (!exhausted && !signal?.aborted) {
            const now = clock.now();
            const pause = breather.due(now);
            if (pause) {
              pause.then(resume, fail);
              return;
            }
            if (now >= deadline) break;
            if (stages && id >= Math.round(stageTarget(stages, now - started) ?? 0)) {
              // Not active at this stage: look again shortly.
              clock.sleep(10).then(resume, fail);
              return;
            }
            index = take();
            if (index >= to) {
              exhausted = true;
              break;
            }
            request = requestAt(index);
            sent = clock.now();
            if (Number.isNaN(firstSent)) {
              firstSent = sent;
              control.onFirstSend?.(sent);
            }
            inFlight++;
            mark.at = NaN;
            calling = true;
            endedInCall = false;
            try {
              send(request, mark, settle);
            } catch (e) {
              // A driver that throws instead of failing: the error is the request's outcome.
              settle(undefined, e);
            }
            calling = false;
            if (!endedInCall) return;
          }
          end();
        } catch (e) {
          fail(e);
        }
      };
      next();
    };
    for (let id = 0; id < senders; id++) sender(id);
  });
  await untilDoneOrDrained(work, control);
  open = false;
  return { firstSent, lastDone, abandoned: inFlight };
}

/**
 * Fires requests at `rate` per second whatever the responses do (an open loop, as wrk2 does): request k is due at
 * start + k/rate, and its latency is measured from that intended start, so a stalled system is charged for the
 * requests it kept waiting (coordinated omission corrected); the outcome also carries its send, for the service
 * time. At most `maxInFlight` are in flight: an index is taken only when a slot is free, and a request that had to
 * wait for one is sent late and still measured from its due time. With `stages`, the rate follows the stages' target
 * over time (k6's ramping arrival rate) and the loop ends with the last stage. With `indices.shared`, every
 * generator thread sends from one schedule: the same start, the same due times, the next index whoever takes it.
 */
export async function openLoop(
  driver: Driver,
  requestAt: (i: number) => RegisterRequest,
  indices: Indices,
  rate: number,
  maxInFlight: number,
  onOutcome: Outcome,
  control: LoopControl = {},
  stages?: readonly Stage[],
): Promise<LoopWindow & PacingStats> {
  const { signal } = control;
  const clock = control.clock ?? realClock;
  const { to } = indices;
  const now0 = clock.now();
  const started = indices.shared ? indices.shared.start(now0) : now0;
  const end = control.durationMs !== undefined ? started + control.durationMs : stages ? started + stagesLength(stages) : Infinity;
  const dues = new DueTimes(started, rate, stages, end);
  const take = indexSource(indices);
  let inFlight = 0;
  let late = 0;
  let sentCount = 0;
  let firstSent = NaN;
  let firstDue = NaN;
  let lastSent = NaN;
  let lastDone = NaN;
  let open = true;
  let wake: (() => void) | undefined;
  const onAbort = () => wake?.();
  signal?.addEventListener("abort", onAbort, { once: true });
  // An outcome that could not be recorded (a defect) ends the loop with its error.
  let failure: { error: unknown } | undefined;
  let allDone: (() => void) | undefined;
  const breather = new Breather(clock);
  const send = sendOf(driver);
  const sending = (async () => {
    for (;;) {
      if (signal?.aborted || failure) break;
      if (inFlight >= maxInFlight) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      const index = take();
      if (index >= to) break;
      const due = dues.of(index - indices.from);
      if (due >= end) break;
      // Wait for the due time, letting the event loop turn.
      let now = clock.now();
      while (!signal?.aborted) {
        const pause = breather.due(now);
        if (pause) await pause;
        else if (due > now + 1) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            void clock.sleep(Math.max(1, Math.floor(due - now))).then(resolve);
          });
        } else break;
        now = clock.now();
      }
      if (signal?.aborted) break;
      if (now - due > dues.intervalAt(due)) late++;
      const request = requestAt(index);
      inFlight++;
      sentCount++;
      if (Number.isNaN(firstSent)) {
        firstSent = now;
        firstDue = due;
        control.onFirstSend?.(now);
      }
      lastSent = now;
      const mark: SendMark = { at: NaN };
      const settle: Settle = (response, error) => {
        inFlight--;
        const w = wake;
        wake = undefined;
        w?.();
        if (inFlight === 0) allDone?.();
        if (!open) return;
        try {
          const at = clock.now();
          lastDone = at;
          // From the due time; a request sent up to 1 ms before it (timer granularity) from its send.
          const wrote = sentTime(mark, now);
          onOutcome(index, request, at - Math.min(due, wrote), response, error, at, wrote);
        } catch (e) {
          failure ??= { error: e };
          allDone?.();
        }
      };
      try {
        send(request, mark, settle);
      } catch (e) {
        // A driver that throws instead of failing: the error is the request's outcome.
        settle(undefined, e);
      }
    }
    if (!failure && inFlight > 0) await new Promise<void>((resolve) => (allDone = resolve));
    if (failure) throw failure.error;
  })();
  await untilDoneOrDrained(sending, control);
  open = false;
  signal?.removeEventListener("abort", onAbort);
  const rateFrom = Math.min(firstSent, firstDue);
  return { firstSent, lastDone, abandoned: inFlight, achievedRate: achievedRate(sentCount, rateFrom, lastSent), late, sentCount, rateFrom, lastSent };
}

/** Requests per second over the span from the first send to the last (n requests span n − 1 intervals); 0 for fewer than two. */
export function achievedRate(sent: number, firstSent: number, lastSent: number): number {
  const span = lastSent - firstSent;
  return sent > 1 && span > 0 ? ((sent - 1) * 1000) / span : 0;
}
