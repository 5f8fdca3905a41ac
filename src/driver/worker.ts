/**
 * Entry point of the process that measures one strategy: the parent forks it, sends the run config and the
 * strategy's name, and receives events and one result. One process per strategy keeps one strategy's heap, JIT
 * state and peak RSS out of the next one's figures. "stop" (or SIGTERM/SIGHUP) interrupts the measurement: the
 * result then holds what was measured. A worker whose parent has gone stops, cleans up and exits within 2 s.
 */
import { errorKind, toError } from "../core/errors.js";
import { onParentGone } from "../process/children.js";
import { removeIfEmpty } from "../store/tempDir.js";
import { findStrategy } from "../strategies/registry.js";
import { runStrategy } from "./inProcess.js";
import type { WorkerMessage, WorkerRequest } from "./protocol.js";

const interrupt = new AbortController();
let orphaned = false;

function send(message: WorkerMessage): Promise<void> {
  if (!process.connected) return Promise.resolve();
  return new Promise((resolve) => process.send!(message, undefined, undefined, () => resolve()));
}

async function run(request: Extract<WorkerRequest, { type: "run" }>): Promise<void> {
  try {
    const definition = findStrategy(request.strategy);
    if (!definition) throw new Error(`unknown strategy ${request.strategy}`);
    const result = await runStrategy(
      definition,
      request.config,
      { onEvent: (event) => void send({ type: "event", event }), signal: interrupt.signal, drainMs: orphaned ? 200 : 1000 },
      request.place,
    );
    await send({ type: "result", result });
  } catch (error) {
    await send({ type: "error", kind: errorKind(error), message: toError(error).message });
  }
  // The parent removes the run's temporary folder; an orphan cleans it up itself (its own store is already gone).
  if (orphaned && request.place.tempDir) removeIfEmpty(request.place.tempDir);
  if (process.connected) process.disconnect();
  process.exit(0);
}

process.on("message", (m: WorkerRequest) => {
  if (m.type === "run") void run(m);
  else if (m.type === "stop") interrupt.abort();
});
onParentGone(() => {
  orphaned = true;
  interrupt.abort();
  // run() exits once the strategy has closed and its store is removed; onParentGone's timer bounds the wait.
  return new Promise<void>(() => {});
});
// Ctrl-C reaches the whole foreground group: the parent decides when the measurement stops.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => interrupt.abort());
process.on("SIGHUP", () => interrupt.abort());
