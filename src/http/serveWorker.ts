/**
 * A cluster worker of `serve`: one instance on the shared port. The primary sends the spec over IPC (it carries
 * keys), "cut-lock-service" for the redis-down fault, "arm-pause"/"disarm-pause" for the pause nemesis, and "stop", answered with the instance's stats. A worker whose primary
 * has gone stops at once.
 */
import { onParentGone } from "../process/children.js";
import { startInstance, type InstanceMessage, type ServeSpec } from "./serve.js";

type Instance = Awaited<ReturnType<typeof startInstance>>;
let instance: Instance | undefined;

function reply(message: InstanceMessage, then?: () => void): void {
  if (!process.connected) return then?.();
  process.send!(message, undefined, undefined, () => then?.());
}

async function stopAndExit(report: boolean): Promise<void> {
  const stats = await instance?.stop();
  if (report && stats) reply({ type: "stats", stats }, () => process.exit(0));
  else process.exit(0);
}

process.on("message", (m: { type: string; spec?: ServeSpec }) => void onMessage(m));

async function onMessage(m: { type: string; spec?: ServeSpec }): Promise<void> {
  if (m.type === "spec") {
    try {
      instance = await startInstance(m.spec!, m.spec!.port, (line) => process.stderr.write(`${line}\n`));
      reply({ type: "listening", port: instance.port });
    } catch (error) {
      reply({ type: "failed", message: (error as Error).message }, () => process.exit(1));
    }
  } else if (m.type === "cut-lock-service") {
    instance?.cutLockService();
  } else if (m.type === "arm-pause" || m.type === "disarm-pause") {
    instance?.armPause(m.type === "arm-pause");
  } else if (m.type === "stop") {
    await stopAndExit(true);
  }
}
// A cluster worker's channel is read from the start: a message sent before this listener existed was dropped, so
// the primary sends the spec only once told the worker is ready.
reply({ type: "ready" });
onParentGone(async () => void (await instance?.stop()));
// Ctrl-C reaches the whole foreground group: the primary decides when its workers stop.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => void stopAndExit(false));
process.on("SIGHUP", () => void stopAndExit(false));
