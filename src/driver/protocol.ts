import type { ErrorKind } from "../core/errors.js";
import type { StrategyResult } from "../report/result.js";
import type { RunConfig } from "../config/run.js";
import type { RunPlace } from "./inProcess.js";
import type { RunEvent } from "../model/events.js";

/** Parent → worker: measure this strategy under this config, in this place; or stop (the run was interrupted). */
export type WorkerRequest =
  { readonly type: "run"; readonly config: RunConfig; readonly strategy: string; readonly place: RunPlace } | { readonly type: "stop" };

/** Worker → parent. */
export type WorkerMessage =
  | { readonly type: "event"; readonly event: RunEvent }
  | { readonly type: "result"; readonly result: StrategyResult }
  | { readonly type: "error"; readonly kind: ErrorKind; readonly message: string };
