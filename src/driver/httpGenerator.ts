import { Worker } from "node:worker_threads";
import type { WorkloadConfig } from "../config/run.js";
import { Workload } from "../workload/generator.js";
import { httpRegistration, type HttpClientSettings } from "./httpClient.js";
import { rawHttpRegistration } from "./rawHttp.js";
import type { LoopControl, LoopWindow, PacingStats } from "./loops.js";
import { measureWindow, sharePart, type Share } from "./measure.js";
import { SharedSchedule } from "./schedule.js";
import { achievedRate } from "./loops.js";
import { compileProfile } from "./profile/compile.js";
import { regbenchProfile, type ProfileSpec } from "./profile/spec.js";
import type { RecentFigures, RunEvent } from "../model/events.js";
import { Recorder, type RecorderData } from "./recorder.js";
import { maxOf, minOf } from "../stats/extent.js";

/** What one generator thread is given. */
export interface GeneratorSpec {
  readonly url: string;
  readonly client: HttpClientSettings;
  readonly workload: WorkloadConfig;
  readonly prefix: string;
  /** The agents of one run share its systems: their systemUUIDs start with the run's ID (undefined: `prefix`). */
  readonly systemPrefix?: string;
  readonly projects: readonly { readonly id: string; readonly key: string }[];
  readonly serverKey: string | undefined;
  readonly share: Share;
  readonly progressEveryMs: number;
  /** How a registration is sent and its answer read; undefined: regbench's own API. */
  readonly profile?: ProfileSpec;
}

/** Generator thread → parent. */
export type GeneratorMessage =
  | { readonly type: "event"; readonly event: RunEvent }
  | { readonly type: "done"; readonly data: RecorderData; readonly pacing?: PacingStats; readonly sent: number }
  | { readonly type: "failed"; readonly message: string };

export interface Generated {
  readonly recorder: Recorder;
  readonly window: LoopWindow;
  readonly pacing?: PacingStats;
}

/**
 * Sends the run's HTTP requests from `workers` threads (worker_threads; no more than `-c`), each with its own
 * keep-alive pool and its exact part of `-c`, all taking the next request from one shared schedule (SharedSchedule:
 * one counter, one start for the open loop's due times), and merges what they measured exactly: tallies add, HDR
 * histograms add, timelines and acknowledgements merge. One thread runs in this one. The threads start (load their
 * modules, compile the profile) while `ready` settles, and send nothing before it resolves: its rejection is thrown.
 */
export async function generateHttp(
  spec: Omit<GeneratorSpec, "share">,
  workers: number,
  control: LoopControl,
  emit: (event: RunEvent) => void,
  onMeasureStart: () => void,
  ready?: Promise<unknown>,
): Promise<Generated> {
  // -c below the thread count: only that many threads, one connection each.
  workers = Math.max(1, Math.min(workers, spec.workload.concurrency));
  if (workers <= 1) {
    await ready;
    return generateHere({ ...spec, share: { index: 0, of: 1 } }, control, emit, onMeasureStart);
  }
  const recorder = new Recorder(spec.serverKey ? Buffer.from(spec.serverKey, "hex") : undefined);
  const latest = new Map<number, Extract<RunEvent, { type: "progress" }>>();
  let measuring = false;
  const shared = SharedSchedule.buffer();
  const threads = Array.from({ length: workers }, (_, index) => {
    const share = { index, of: workers, shared };
    return new Worker(new URL("./httpGeneratorThread.js", import.meta.url), {
      workerData: {
        ...spec,
        share,
        client: { ...spec.client, connections: sharePart(spec.client.connections, share) },
      } satisfies GeneratorSpec,
    });
  });
  const onAbort = () => threads.forEach((t) => t.postMessage("stop"));
  control.signal?.addEventListener("abort", onAbort, { once: true });
  if (control.signal?.aborted) onAbort();
  try {
    const finished = Promise.all(
      threads.map(
        (thread, index) =>
          new Promise<Extract<GeneratorMessage, { type: "done" }>>((resolve, reject) => {
            thread.on("message", (m: GeneratorMessage) => {
              if (m.type === "event") {
                if (m.event.type === "progress") {
                  latest.set(index, m.event);
                  if (latest.size === workers) emit(sumProgress([...latest.values()]));
                } else if (index === 0) {
                  if (m.event.type === "phase" && m.event.phase === "measure" && !measuring) {
                    measuring = true;
                    onMeasureStart();
                  }
                  emit(m.event);
                }
              } else if (m.type === "done") {
                resolve(m);
              } else {
                reject(new Error(`a load-generator thread failed: ${m.message}`));
              }
            });
            thread.once("error", reject);
            thread.once("exit", (code) => reject(new Error(`a load-generator thread exited (${code}) before reporting`)));
          }),
      ),
    );
    // Threads stopped because `ready` failed end with that failure, not theirs.
    finished.catch(() => {});
    await ready;
    for (const t of threads) t.postMessage("go");
    const outcomes = await finished;
    const window = recorder.mergeAll(outcomes.map((o) => o.data));
    // One schedule: the rate achieved by all threads together, from the earliest rate origin of any (its first send,
    // or its due time when that send was late) to the last send (the threads send both as epoch ms).
    const paced = outcomes.filter((o) => o.pacing);
    const sentCount = paced.reduce((t, o) => t + o.pacing!.sentCount, 0);
    const sending = paced.filter((o) => o.pacing!.sentCount > 0).map((o) => o.pacing!);
    const fromEpoch = minOf(sending.map((p) => p.rateFrom));
    const lastEpoch = maxOf(sending.map((p) => p.lastSent));
    const pacing = paced.length
      ? {
          achievedRate: achievedRate(sentCount, fromEpoch, lastEpoch),
          late: paced.reduce((t, o) => t + o.pacing!.late, 0),
          sentCount,
          rateFrom: fromEpoch,
          lastSent: lastEpoch,
        }
      : undefined;
    return {
      recorder,
      window,
      ...(pacing ? { pacing } : {}),
    };
  } finally {
    control.signal?.removeEventListener("abort", onAbort);
    await Promise.all(threads.map((t) => t.terminate()));
  }
}

/** The threads' progress as one: counts and TPS add, the worst p99 stands for all. */
function sumProgress(parts: readonly Extract<RunEvent, { type: "progress" }>[]): Extract<RunEvent, { type: "progress" }> {
  const recent: RecentFigures = {
    tps: parts.reduce((t, p) => t + p.recent.tps, 0),
    errors: parts.reduce((t, p) => t + p.recent.errors, 0),
    p99Ms: parts.reduce<number | null>((m, p) => (p.recent.p99Ms === null ? m : Math.max(m ?? 0, p.recent.p99Ms)), null),
  };
  const first = parts[0]!;
  return {
    type: "progress",
    done: parts.reduce((t, p) => t + p.done, 0),
    total: first.total,
    elapsedS: maxOf(parts.map((p) => p.elapsedS)),
    ...(first.durationS !== undefined ? { durationS: first.durationS } : {}),
    failed: parts.reduce((t, p) => t + p.failed, 0),
    recent,
  };
}

/** One generator's work: its pool, its share of the schedule, its recorder. */
export async function generateHere(
  spec: GeneratorSpec,
  control: LoopControl,
  emit: (event: RunEvent) => void,
  onMeasureStart: () => void,
): Promise<Generated & { sent: number }> {
  const workload = new Workload(spec.workload, spec.prefix, spec.projects, spec.systemPrefix);
  // Plain http: the hand-written client (twice undici's pace for these exchanges); https: undici.
  // The profile's templates are compiled here, once per thread.
  const profile = compileProfile(spec.profile ?? regbenchProfile(), spec.url, spec.prefix);
  const client = spec.url.startsWith("http:") ? rawHttpRegistration(spec.url, spec.client, profile) : httpRegistration(spec.url, spec.client, profile);
  const recorder = new Recorder(spec.serverKey ? Buffer.from(spec.serverKey, "hex") : undefined);
  try {
    const driver = client.send ? { send: client.send } : client.register;
    const { window, pacing, sent } = await measureWindow(driver, (i) => workload.request(i), spec.workload, recorder, {
      emit,
      progressEveryMs: spec.progressEveryMs,
      control,
      share: spec.share,
      onMeasureStart,
    });
    return { recorder, window, sent, ...(pacing ? { pacing } : {}) };
  } finally {
    await client.destroy();
  }
}
