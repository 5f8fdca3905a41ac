/** A load-generator thread: sends its share of the run's HTTP requests and posts what it measured. */
import { parentPort, workerData } from "node:worker_threads";
import { generateHere, type GeneratorMessage, type GeneratorSpec } from "./httpGenerator.js";

const spec = workerData as GeneratorSpec;
const stop = new AbortController();
const post = (m: GeneratorMessage, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(m, transfer);
// Loaded, the thread waits for "go" (the parent sends it once the target passed its probe), or for "stop".
let go: () => void;
const started = new Promise<void>((resolve) => (go = resolve));
parentPort!.on("message", (m: unknown) => {
  if (m === "go") go();
  if (m === "stop") {
    stop.abort();
    go();
  }
});

try {
  await started;
  const { recorder, window, pacing, sent } = await generateHere(
    spec,
    { signal: stop.signal, drainMs: 1000 },
    (event) => post({ type: "event", event }),
    () => {},
  );
  await recorder.acks.finish();
  const data = recorder.toData(window);
  // Threads each have their own performance.now(): the rate's origin and the last send travel as epoch ms.
  const epochPacing = pacing
    ? { ...pacing, rateFrom: performance.timeOrigin + pacing.rateFrom, lastSent: performance.timeOrigin + pacing.lastSent }
    : undefined;
  post({ type: "done", data, sent, ...(epochPacing ? { pacing: epochPacing } : {}) }, [
    data.acks.index.buffer as ArrayBuffer,
    data.acks.ip.buffer as ArrayBuffer,
    data.acks.flags.buffer as ArrayBuffer,
  ]);
} catch (error) {
  post({ type: "failed", message: (error as Error).message });
}
parentPort!.close();
