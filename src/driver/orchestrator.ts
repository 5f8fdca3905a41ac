import { fork } from "node:child_process";
import type { ErrorKind } from "../core/errors.js";
import type { StrategyResult } from "../report/result.js";
import type { RunConfig } from "../workload/config.js";
import type { RunEvent } from "./inProcess.js";
import type { WorkerMessage, WorkerRequest } from "./protocol.js";
import { prepareRedis } from "./redisPreflight.js";
import { runHttp } from "./http.js";
import { aggregateRuns } from "../report/aggregate.js";

/** What the orchestrator tells the CLI: which strategy is running, its events, its result. */
export type OrchestratorEvent =
  | { readonly type: "strategy-start"; readonly strategy: string; readonly index: number; readonly count: number }
  | { readonly type: "strategy-event"; readonly strategy: string; readonly event: RunEvent }
  | { readonly type: "strategy-done"; readonly result: StrategyResult };

/** A strategy could not be run at all (its store would not open, its worker died). */
export class CannotRunError extends Error {
  constructor(readonly strategy: string, readonly reason: ErrorKind | "worker", message: string) {
    super(`${strategy}: ${message}`);
  }
}

const WORKER = new URL("./worker.js", import.meta.url);

/** Measures one strategy in a child process of its own. */
export function runInWorker(config: RunConfig, strategy: string, onEvent: (event: RunEvent) => void): Promise<StrategyResult> {
  return new Promise((resolve, reject) => {
    const child = fork(WORKER, [], { stdio: ["ignore", "ignore", "inherit", "ipc"], serialization: "advanced" });
    let settled = false;
    const settle = (fn: () => void) => {
      if (!settled) {
        settled = true;
        fn();
      }
    };
    child.on("message", (raw) => {
      const message = raw as WorkerMessage;
      if (message.type === "event") onEvent(message.event);
      else if (message.type === "result") settle(() => resolve(message.result));
      else settle(() => reject(new CannotRunError(strategy, message.kind, message.message)));
    });
    child.on("error", (error) => settle(() => reject(new CannotRunError(strategy, "worker", error.message))));
    child.on("exit", (code, signal) =>
      settle(() => reject(new CannotRunError(strategy, "worker", `the measuring process exited (${signal ?? `code ${code}`}) before reporting`))),
    );
    const request: WorkerRequest = { config, strategy };
    child.send(request);
  });
}

/** What a run produced: a result per strategy that ran, the ones skipped and why, notes on the conditions. */
export interface RunOutcome {
  /** The config as run: Redis URLs resolved, skipped strategies removed. */
  readonly config: RunConfig;
  readonly results: readonly StrategyResult[];
  readonly skipped: readonly { readonly strategy: string; readonly reason: string }[];
  readonly notes: readonly string[];
}

/**
 * Runs every strategy of the config one after the other, each in its own process on its own fresh store, after
 * making sure the backends they need answer.
 */
export async function runAll(config: RunConfig, onEvent: (event: OrchestratorEvent) => void = () => {}): Promise<RunOutcome> {
  const preflight = await prepareRedis(config);
  try {
    if (preflight.unavailable) throw new CannotRunError(preflight.unavailable.strategy, "redis-unavailable", preflight.unavailable.message);
    const run = preflight.config;
    const perStrategy = new Map<string, StrategyResult[]>(run.strategies.map((s) => [s, []]));
    const count = run.strategies.length * run.runs;
    // Runs are interleaved (a, b, c, a, b, c…) so that a drift of the machine spreads over every strategy.
    for (let round = 0; round < run.runs; round++) {
      for (const [i, strategy] of run.strategies.entries()) {
        onEvent({ type: "strategy-start", strategy, index: round * run.strategies.length + i, count });
        const forward = (event: RunEvent) => onEvent({ type: "strategy-event", strategy, event });
        // In-process: a worker process per strategy. HTTP: a server process per strategy, the load from this one.
        const result =
          run.mode === "http" ? await runHttp(run, run.http.target ? undefined : strategy, { onEvent: forward }) : await runInWorker(run, strategy, forward);
        perStrategy.get(strategy)!.push(result);
        onEvent({ type: "strategy-done", result });
      }
    }
    const results = run.strategies.map((s) => aggregateRuns(perStrategy.get(s)!));
    return { config: run, results, skipped: preflight.skipped, notes: preflight.notes };
  } finally {
    await preflight.stop();
  }
}

