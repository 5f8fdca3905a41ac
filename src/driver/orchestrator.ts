import { fork } from "node:child_process";
import { childEnv, describeExit, exited, sendTo, stopChild } from "../process/children.js";
import { aggregateRuns } from "../report/aggregate.js";
import type { StrategyResult } from "../report/result.js";
import { placeForRun, probeStore, removeStore } from "../store/registry.js";
import { makeTempDir } from "../store/tempDir.js";
import { findStrategy } from "../strategies/registry.js";
import { lockServiceOf } from "../strategies/strategy.js";
import { findLockService } from "../locks/services/registry.js";
import type { RunConfig } from "../config/run.js";
import { CannotRunError, InterruptedError } from "./errors.js";
import { runHttp } from "./http.js";
import { NemesisRun } from "./nemeses.js";
import { newRunPrefix, runSite, type RunPlace } from "./inProcess.js";
import type { WorkerMessage, WorkerRequest } from "./protocol.js";
import type { RunEvent } from "../model/events.js";
import { prepareLockServices } from "./preflight.js";
import { checkTarget, type TargetCheck } from "./targetProbe.js";

export { CannotRunError, InterruptedError } from "./errors.js";

/** What the orchestrator tells the CLI: which strategy is running, its events, its result or its failure. */
export type OrchestratorEvent =
  | { readonly type: "strategy-start"; readonly strategy: string; readonly index: number; readonly count: number }
  | { readonly type: "strategy-event"; readonly strategy: string; readonly event: RunEvent }
  | { readonly type: "strategy-done"; readonly result: StrategyResult; readonly index: number; readonly count: number }
  | { readonly type: "strategy-failed"; readonly strategy: string; readonly reason: string; readonly index: number; readonly count: number };

const WORKER = new URL("./worker.js", import.meta.url);

/**
 * Measures one strategy in a child process of its own. Interrupted, it asks the child to stop (it then reports what
 * it measured), and stops it by PID if it does not within a few seconds. A child that dies fails the strategy with
 * the reason.
 */
export function runInWorker(
  config: RunConfig,
  strategy: string,
  place: RunPlace,
  onEvent: (event: RunEvent) => void,
  signal?: AbortSignal,
): Promise<StrategyResult> {
  return new Promise((resolve, reject) => {
    const child = fork(WORKER, [], { stdio: ["ignore", "ignore", "inherit", "ipc"], serialization: "advanced", env: childEnv() });
    let settled = false;
    const settle = (fn: () => void) => {
      if (!settled) {
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        fn();
      }
    };
    const send = (message: WorkerRequest) => sendTo(child, message);
    const onAbort = () => void stopChild(child, () => send({ type: "stop" }), { graceMs: 3000, killAfterMs: 1000 });
    child.on("error", () => {}); // a failed send or kill; the exit says what happened
    child.on("message", (message: WorkerMessage) => {
      if (message.type === "event") onEvent(message.event);
      else if (message.type === "result") settle(() => resolve(message.result));
      else settle(() => reject(new CannotRunError(strategy, message.kind, message.message)));
    });
    void exited(child).then(() =>
      settle(() =>
        reject(
          signal?.aborted
            ? new InterruptedError(strategy)
            : new CannotRunError(strategy, "worker", `the measuring process ${describeExit(child.exitCode, child.signalCode)} before reporting`),
        ),
      ),
    );
    signal?.addEventListener("abort", onAbort, { once: true });
    send({ type: "run", config, strategy, place });
    if (signal?.aborted) onAbort();
  });
}

/** What a run produced: a result per strategy measured, the ones skipped or failed and why, notes on the conditions. */
export interface RunOutcome {
  /** The config as run: Redis URLs resolved, skipped strategies removed. */
  readonly config: RunConfig;
  readonly results: readonly StrategyResult[];
  readonly skipped: readonly { readonly strategy: string; readonly reason: string }[];
  readonly failed: readonly { readonly strategy: string; readonly reason: string }[];
  readonly notes: readonly string[];
  /** The run was stopped by its signal; `results` hold what was measured until then. */
  readonly interrupted: boolean;
}

/** The probe's verdict on a target as the run's error: a target that does not answer HTTP, or cannot be reached. */
function unusable(target: string): (check: TargetCheck) => TargetCheck {
  return (check) => {
    if (check.problem?.startsWith("does not answer HTTP")) {
      throw new CannotRunError(
        "target",
        "target",
        `the target at ${target} ${check.problem}: is --target the address of the HTTP service (not its database, Redis or another port)?`,
      );
    }
    if (check.problem) {
      throw new CannotRunError(
        "target",
        "target",
        `cannot reach the target at ${target} (${check.problem}): start the server first (regbench serve prints how to drive it), or check --target`,
      );
    }
    return check;
  };
}

/**
 * Runs every strategy of the config one after the other, each in its own process (or, over HTTP, against its own
 * server process) on its own fresh store, after making sure the backends they need answer. A strategy that fails is
 * reported and the others still run. When `signal` aborts, no further strategy starts, the running one stops and
 * reports what it measured, every child is stopped, and temporary stores and the run's Redis keys are removed.
 */
export async function runAll(config: RunConfig, onEvent: (event: OrchestratorEvent) => void = () => {}, signal?: AbortSignal): Promise<RunOutcome> {
  // The target's probe goes on while the load-generator threads start (it takes up to half a second against a
  // silent target, they take longer): no request is sent before it passes, and the run stops with its reason if not.
  let targetFailure: CannotRunError | undefined;
  const targetCheck = config.http.target
    ? checkTarget(config.http.target, Math.min(3000, config.http.timeoutMs)).then(unusable(config.http.target))
    : undefined;
  targetCheck?.catch((error: CannotRunError) => (targetFailure = error));
  if (!config.http.target) {
    const unreachable = await probeStore(config.store);
    if (unreachable) throw new CannotRunError("store", "store", unreachable);
  }
  const preflight = await prepareLockServices(config);
  const temp = makeTempDir();
  try {
    if (preflight.unavailable) throw new CannotRunError(preflight.unavailable.strategy, preflight.unavailable.kind, preflight.unavailable.message);
    const run = preflight.config;
    const perStrategy = new Map<string, StrategyResult[]>(run.strategies.map((s) => [s, []]));
    const failed = new Map<string, string>();
    const count = run.strategies.length * run.runs;
    // Runs are interleaved (a, b, c, a, b, c…) so that a drift of the machine spreads over every strategy.
    rounds: for (let round = 0; round < run.runs; round++) {
      for (const [i, strategy] of run.strategies.entries()) {
        if (signal?.aborted) break rounds;
        if (failed.has(strategy)) continue;
        const index = round * run.strategies.length + i;
        onEvent({ type: "strategy-start", strategy, index, count });
        const place: RunPlace = { prefix: newRunPrefix(), tempDir: temp.path };
        // The nemeses strike from this process, timed from the measured window's start as the measuring side reports it.
        const nemeses = run.nemeses?.length
          ? new NemesisRun(run.nemeses, {
              store: placeForRun(run.store, { ...runSite(run, strategy, place), tempDir: temp.path }).location,
              ...(preflight.restarts?.["redis"] ? { restartRedis: preflight.restarts["redis"] } : {}),
              ...(preflight.clusters?.["etcd"] ? { etcdCluster: preflight.clusters["etcd"] } : {}),
            })
          : undefined;
        const forward = (event: RunEvent) => {
          if (event.type === "phase" && event.phase === "measure") nemeses?.start(run.workload.durationMs);
          else if (event.type === "phase" && event.phase === "audit") nemeses?.end();
          onEvent({ type: "strategy-event", strategy, event });
        };
        try {
          // In-process: a worker process per strategy. HTTP: a server process per strategy, the load from this one.
          let result =
            run.mode === "http"
              ? await runHttp(
                  run,
                  run.http.target ? undefined : strategy,
                  { onEvent: forward, signal, ...(nemeses ? { nemeses } : {}), ...(targetCheck ? { target: targetCheck } : {}) },
                  place,
                )
              : await runInWorker(run, strategy, place, forward, signal);
          if (nemeses) result = { ...result, nemeses: await nemeses.finish(result.startedAt) };
          perStrategy.get(strategy)!.push(result);
          onEvent({ type: "strategy-done", result, index, count });
        } catch (error) {
          if (error instanceof InterruptedError) break rounds;
          // A target that cannot be load-tested stops the run, as it did before anything started.
          if (targetFailure && error === targetFailure) throw error;
          const reason = error instanceof CannotRunError ? error.message.slice(strategy.length + 2) : ((error as Error)?.message ?? String(error));
          failed.set(strategy, reason);
          onEvent({ type: "strategy-failed", strategy, reason, index, count });
        } finally {
          await nemeses?.finish();
          // Whatever became of the strategy's process, nothing of its run stays behind: its keys, its namespace.
          if (!run.http.target) {
            // (its lock service's keys under the run's prefix: its process may have been killed before it could)
            const service = findLockService(lockServiceOf(findStrategy(strategy)));
            const urls = service ? run.lockServices[service.name]?.urls : undefined;
            if (service && urls !== undefined && urls !== "auto") await service.removeKeys(urls, service.keyPrefix(place.prefix));
            const placement = placeForRun(run.store, { ...runSite(run, strategy, place), tempDir: temp.path });
            if (placement.temporary) await removeStore(placement.location);
          }
        }
      }
    }
    const results = run.strategies.filter((s) => perStrategy.get(s)!.length > 0 && !failed.has(s)).map((s) => aggregateRuns(perStrategy.get(s)!));
    return {
      config: run,
      results,
      skipped: preflight.skipped,
      failed: [...failed].map(([strategy, reason]) => ({ strategy, reason })),
      notes: preflight.notes,
      interrupted: Boolean(signal?.aborted),
    };
  } finally {
    await preflight.stop();
    temp.remove();
  }
}
