import type { ErrorKind } from "../core/errors.js";
import type { StrategyResult } from "../report/result.js";
import type { RunConfig } from "../workload/config.js";
import type { RunEvent } from "./inProcess.js";

/** Parent → worker: measure this strategy under this config. */
export interface WorkerRequest {
  readonly config: RunConfig;
  readonly strategy: string;
}

/** Worker → parent. */
export type WorkerMessage =
  | { readonly type: "event"; readonly event: RunEvent }
  | { readonly type: "result"; readonly result: StrategyResult }
  | { readonly type: "error"; readonly kind: ErrorKind; readonly message: string };
