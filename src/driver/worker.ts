/**
 * Entry point of the process that measures one strategy: the parent forks it, sends the run config and the
 * strategy's name, and receives events and one result. One process per strategy keeps one strategy's heap, JIT
 * state and peak RSS out of the next one's figures.
 */
import { errorKind, toError } from "../core/errors.js";
import { findStrategy } from "../strategies/registry.js";
import type { RunConfig } from "../workload/config.js";
import { runStrategy } from "./inProcess.js";
import type { WorkerMessage, WorkerRequest } from "./protocol.js";

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, undefined, undefined, () => resolve()));
}

process.once("message", async (raw: unknown) => {
  const { config, strategy } = raw as WorkerRequest;
  try {
    const definition = findStrategy(strategy);
    if (!definition) throw new Error(`unknown strategy ${strategy}`);
    const result = await runStrategy(definition, config as RunConfig, { onEvent: (event) => void send({ type: "event", event }) });
    await send({ type: "result", result });
  } catch (error) {
    const e = toError(error);
    await send({ type: "error", kind: errorKind(error), message: e.message });
  }
  process.disconnect();
});
