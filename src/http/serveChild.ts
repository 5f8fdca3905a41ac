/**
 * The server process of `regbench run --mode http`: forked by the load generator's process, so that the two never
 * share a core's event loop. It receives a ServeSpec over IPC, answers with the URL, cuts Redis on "cut-lock-service",
 * arms the pause nemesis and restarts instances when told, reports its instances' PIDs and deaths, and on "stop"
 * answers with its stats. If its parent goes away it stops, cleans up and exits within two seconds.
 */
import { onParentGone } from "../process/children.js";
import { removeStore } from "../store/registry.js";
import { removeIfEmpty } from "../store/tempDir.js";
import { serve, StartAbortedError, type RunningServer, type ServeSpec, type ServeStats } from "./serve.js";

/** Parent → server process. */
export type ServeChildRequest =
  | { readonly type: "start"; readonly spec: ServeSpec }
  | { readonly type: "cut-lock-service" }
  | { readonly type: "arm-pause" }
  | { readonly type: "disarm-pause" }
  | { readonly type: "restart-instance"; readonly index: number }
  | { readonly type: "stop" };

/** Server process → parent. */
export type ServeChildMessage =
  | { readonly type: "listening"; readonly url: string; readonly notes: readonly string[] }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "stats"; readonly stats: ServeStats }
  /** The instances' PIDs, in order, whenever they change (0: dead). */
  | { readonly type: "instances"; readonly pids: readonly number[] }
  | { readonly type: "instance-exit"; readonly index: number; readonly pid: number; readonly reason: string; readonly at: number }
  | { readonly type: "restarted"; readonly index: number; readonly pid: number | null; readonly error?: string };

let server: RunningServer | undefined;
let stopping: Promise<ServeStats | undefined> | undefined;
/** Aborts a start in progress; `starting` settles once the start has ended either way. */
const abortStart = new AbortController();
let starting: Promise<unknown> | undefined;

function reply(message: ServeChildMessage, then?: () => void): void {
  if (!process.connected) return then?.();
  process.send!(message, undefined, undefined, () => then?.());
}

/** Stops the server — one still starting too: its instances are stopped before this process may exit. */
function stop(): Promise<ServeStats | undefined> {
  stopping ??= (async () => {
    abortStart.abort();
    await starting;
    return server?.stop();
  })();
  return stopping;
}

process.on("message", (m: ServeChildRequest) => void onMessage(m));

async function onMessage(m: ServeChildRequest): Promise<void> {
  if (m.type === "start") {
    spec = m.spec;
    try {
      const start = serve(
        m.spec,
        {
          log: (line) => process.stderr.write(`${line}\n`),
          onInstances: (pids) => reply({ type: "instances", pids }),
          onInstanceExit: (exit) => reply({ type: "instance-exit", ...exit }),
        },
        abortStart.signal,
      );
      starting = start.catch(() => undefined);
      server = await start;
      if (!abortStart.signal.aborted) reply({ type: "listening", url: server.url, notes: server.notes });
    } catch (error) {
      // Stopped while starting: stop() exits once the instances are gone.
      if (error instanceof StartAbortedError) return;
      reply({ type: "failed", message: (error as Error).message }, () => process.exit(1));
    }
  } else if (m.type === "cut-lock-service") {
    server?.cutLockService();
  } else if (m.type === "arm-pause" || m.type === "disarm-pause") {
    server?.armPause(m.type === "arm-pause");
  } else if (m.type === "restart-instance") {
    try {
      reply({ type: "restarted", index: m.index, pid: (await server!.restartInstance(m.index)) ?? null });
    } catch (error) {
      reply({ type: "restarted", index: m.index, pid: null, error: (error as Error).message });
    }
  } else if (m.type === "stop") {
    const stats = await stop();
    if (stats) reply({ type: "stats", stats }, () => process.exit(0));
    else process.exit(0);
  }
}
let spec: ServeSpec | undefined;
onParentGone(async () => {
  await stop();
  if (spec?.temporary) {
    await removeStore(spec.store);
    removeIfEmpty(spec.temporary.tempDir);
  }
});
// Ctrl-C reaches the whole foreground group: the load generator decides when its server stops.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => void stop().finally(() => process.exit(0)));
process.on("SIGHUP", () => void stop().finally(() => process.exit(0)));
