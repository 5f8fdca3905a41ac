import { auditRun, type Acknowledgement, type AuditResult } from "../audit/audit.js";
import { open, newServerKey } from "../core/crypto.js";
import { errorKind } from "../core/errors.js";
import { defaultServiceSettings, RegistrationService } from "../core/registration.js";
import type { RegisterRequest, RegisterResponse } from "../core/types.js";
import { rates, type StrategyResult, type Tally } from "../report/result.js";
import { encodeHistogram, newLatencyHistogram, recordMs, summarise } from "../stats/histogram.js";
import { pauseHook } from "../faults/faults.js";
import { noiseFromSamples, Timeline, type Noise } from "../stats/noise.js";
import { openStore } from "../store/open.js";
import type { Store } from "../store/store.js";
import { DEFAULT_STRATEGY_SETTINGS, type Strategy, type StrategyDefinition, type StrategySettings } from "../strategies/strategy.js";
import type { RunConfig } from "../workload/config.js";
import { Workload } from "../workload/generator.js";
import { mulberry32 } from "../workload/prng.js";

/** What a run tells its subscribers; the driver itself never prints. */
export type RunEvent =
  | { readonly type: "phase"; readonly phase: "setup" | "warmup" | "measure" | "audit" }
  | { readonly type: "progress"; readonly done: number; readonly total: number };

export interface RunHooks {
  readonly onEvent?: (event: RunEvent) => void;
  /** How often progress is reported while measuring. */
  readonly progressEveryMs?: number;
}

/** The settings one strategy runs with; Redis keys go under the run's own prefix. */
export function strategySettingsFrom(config: RunConfig, definition: StrategyDefinition, runPrefix: string): StrategySettings {
  const urls = config.redis.urls === "auto" ? DEFAULT_STRATEGY_SETTINGS.redis.urls : config.redis.urls;
  return {
    ...DEFAULT_STRATEGY_SETTINGS,
    lockKey: config.strategy.lockKey ?? definition.defaultLockKey,
    lockTimeoutMs: config.strategy.lockTimeoutMs,
    shards: config.strategy.shards,
    retry: { ...DEFAULT_STRATEGY_SETTINGS.retry, maxAttempts: config.strategy.retries },
    random: mulberry32(config.workload.seed ^ 0x5eed),
    redis: {
      ...DEFAULT_STRATEGY_SETTINGS.redis,
      urls,
      keyPrefix: `regbench:${runPrefix}:`,
      lock: { ...DEFAULT_STRATEGY_SETTINGS.redis.lock, ttlMs: config.redis.ttlMs, waitMs: config.redis.waitMs, watchdog: config.redis.watchdog },
      lockBatch: config.redis.lockBatch,
    },
  };
}

/** A single run's noise, from the spread of its time slices. */
export function noiseOf(timeline: Timeline, start: number, end: number): Noise {
  const slices = timeline.slices(start, end);
  return noiseFromSamples(slices.tps, slices.p99, "slices");
}

/**
 * Fires requests [from, to) through the strategy with `concurrency` in flight (a closed loop: each worker sends
 * its next request when the last one completed) and hands every outcome to `onOutcome`.
 */
async function closedLoop(
  strategy: Strategy,
  workload: Workload,
  from: number,
  to: number,
  concurrency: number,
  onOutcome: (request: RegisterRequest, latencyMs: number, response: RegisterResponse | undefined, error: unknown) => void,
): Promise<void> {
  let next = from;
  const worker = async () => {
    while (next < to) {
      const request = workload.request(next++);
      const started = performance.now();
      try {
        const response = await strategy.register(request);
        onOutcome(request, performance.now() - started, response, undefined);
      } catch (error) {
        onOutcome(request, performance.now() - started, undefined, error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, to - from)) }, worker));
}

/** What an open-loop phase reports besides the outcomes. */
export interface PacingStats {
  /** Requests sent, per second of the phase. */
  readonly achievedRate: number;
  /** Requests sent more than one inter-arrival interval after their intended start. */
  readonly late: number;
}

/**
 * Fires requests [from, to) at `rate` per second whatever the responses do (an open loop, as wrk2 does): request k
 * is due at start + k/rate, and its latency is measured from that intended start, so a stalled system is charged
 * for the requests it kept waiting (coordinated omission corrected). At most `maxInFlight` are in flight; a request
 * that has to wait for a slot is sent late and still measured from its intended start.
 */
export async function openLoop(
  strategy: Strategy,
  workload: Workload,
  from: number,
  to: number,
  rate: number,
  maxInFlight: number,
  onOutcome: (request: RegisterRequest, latencyMs: number, response: RegisterResponse | undefined, error: unknown) => void,
): Promise<PacingStats> {
  const interval = 1000 / rate;
  const started = performance.now();
  let next = from;
  let inFlight = 0;
  let late = 0;
  let lastSent = started;
  let wake: (() => void) | undefined;
  const running = new Set<Promise<void>>();
  while (next < to) {
    const due = started + (next - from) * interval;
    const now = performance.now();
    if (due > now + 1) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.floor(due - now))));
      continue;
    }
    if (inFlight >= maxInFlight) {
      await new Promise<void>((resolve) => (wake = resolve));
      continue;
    }
    if (now - due > interval) late++;
    const request = workload.request(next++);
    inFlight++;
    lastSent = now;
    const done = strategy.register(request).then(
      (response) => onOutcome(request, performance.now() - due, response, undefined),
      (error) => onOutcome(request, performance.now() - due, undefined, error),
    ).finally(() => {
      inFlight--;
      running.delete(done);
      const w = wake;
      wake = undefined;
      w?.();
    });
    running.add(done);
  }
  await Promise.all(running);
  // The rate achieved over the span from the first send to the last (n requests span n − 1 intervals).
  const span = lastSent - started;
  return { achievedRate: span > 0 ? ((to - from - 1) * 1000) / span : 0, late };
}

/**
 * Measures one strategy in this process on a fresh store: creates the run's projects, runs the warmup, measures
 * the requested registrations, then audits the stored rows against every acknowledgement.
 */
export async function runStrategy(definition: StrategyDefinition, config: RunConfig, hooks: RunHooks = {}): Promise<StrategyResult> {
  const emit = hooks.onEvent ?? (() => {});
  const { workload: w } = config;
  emit({ type: "phase", phase: "setup" });
  const opened = openStore(config.store, definition.constraints, w.dbLatencyMs, config.strategies.length > 1 ? definition.name : undefined);
  const { store } = opened;
  try {
    const workload = new Workload(w);
    // Projects are created on the undelayed store: setup is not part of the measurement.
    for (const project of workload.projects) await store.createProject(project);
    const serverKey = newServerKey();
    const pause = config.faults.find((f) => f.kind === "pause");
    const service = new RegistrationService(store, defaultServiceSettings(serverKey, pause && pauseHook(pause, mulberry32(w.seed ^ 0xfa17))));
    const strategy = definition.create(service, strategySettingsFrom(config, definition, workload.prefix));
    try {
      return await measure(definition, config, hooks, { store, workload, serverKey, strategy });
    } finally {
      await strategy.close();
    }
  } finally {
    await opened.dispose();
  }
}

interface Subject {
  readonly store: Store;
  readonly workload: Workload;
  readonly serverKey: Buffer;
  readonly strategy: Strategy;
}

async function measure(definition: StrategyDefinition, config: RunConfig, hooks: RunHooks, subject: Subject): Promise<StrategyResult> {
  const emit = hooks.onEvent ?? (() => {});
  const { workload: w } = config;
  const { store, workload, serverKey, strategy } = subject;
  const acks: Acknowledgement[] = [];
  const acknowledge = (request: RegisterRequest, response: RegisterResponse) => acks.push({ requestMachineId: request.machineId, response });

  if (w.warmup > 0) {
    emit({ type: "phase", phase: "warmup" });
    await closedLoop(strategy, workload, 0, w.warmup, w.concurrency, (request, _ms, response) => {
      if (response) acknowledge(request, response);
    });
  }

  emit({ type: "phase", phase: "measure" });
  const histogram = newLatencyHistogram();
  const tally: Tally = { succeeded: 0, failed: 0, errors: {} };
  const total = w.requests;
  const timer = setInterval(() => emit({ type: "progress", done: tally.succeeded + tally.failed, total }), hooks.progressEveryMs ?? 100);
  const redisDown = config.faults.find((f) => f.kind === "redis-down");
  const cut = redisDown && strategy.cutRedis ? setTimeout(() => strategy.cutRedis!(), redisDown.atMs) : undefined;
  const timeline = new Timeline();
  const startedAt = Date.now();
  const started = performance.now();
  let pacing: PacingStats | undefined;
  try {
    const outcome = (request: RegisterRequest, ms: number, response: RegisterResponse | undefined, error: unknown) => {
      if (response) {
        recordMs(histogram, ms);
        timeline.add(performance.now(), ms);
        tally.succeeded++;
        acknowledge(request, response);
      } else {
        tally.failed++;
        const kind = errorKind(error);
        tally.errors[kind] = (tally.errors[kind] ?? 0) + 1;
      }
    };
    if (w.rate !== undefined) pacing = await openLoop(strategy, workload, w.warmup, w.warmup + w.requests, w.rate, w.concurrency, outcome);
    else await closedLoop(strategy, workload, w.warmup, w.warmup + w.requests, w.concurrency, outcome);
  } finally {
    clearInterval(timer);
    if (cut) clearTimeout(cut);
  }
  const durationMs = performance.now() - started;
  emit({ type: "progress", done: total, total });

  emit({ type: "phase", phase: "audit" });
  const rows = await store.auditRows(workload.prefix);
  const audit: AuditResult = auditRun(rows, acks, (sealed) => open(sealed, serverKey));
  const strategyStats = strategy.stats();
  return {
    strategy: definition.name,
    ...rates(tally, durationMs),
    latencyMs: summarise(histogram),
    audit,
    memory: { peakRssMb: process.resourceUsage().maxRSS / 1024 },
    histogram: encodeHistogram(histogram),
    strategyStats,
    store: store.location,
    resends: workload.resends,
    notes: [],
    startedAt,
    endedAt: startedAt + durationMs,
    run: workload.prefix,
    noise: noiseOf(timeline, started, started + durationMs),
    ...(pacing ? { pacing: { targetRate: w.rate!, achievedRate: pacing.achievedRate, late: pacing.late } } : {}),
  };
}
