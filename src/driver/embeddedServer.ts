import { fork, type ChildProcess } from "node:child_process";
import type { ServeChildMessage, ServeChildRequest } from "../http/serveChild.js";
import type { ServeSpec, ServeStats } from "../http/serve.js";
import { childEnv, describeExit, exited, sendTo, stopChild } from "../process/children.js";
import { InterruptedError } from "./errors.js";

const SERVE_CHILD = new URL("../http/serveChild.js", import.meta.url);

/** A server process started for one strategy of an HTTP run. */
export interface EmbeddedServer {
  readonly url: string;
  /** Why the server process is gone, if it ended without being asked to ("exited on SIGKILL"). */
  died(): string | undefined;
  /** Aborted when the server process ends without being asked to: the load has nothing left to measure. */
  readonly gone: AbortSignal;
  /** The redis-down fault, injected in the server's instances. */
  cutLockService(): void;
  /** The PIDs of the server's instances, instance #1 first (0: dead); the server process itself with one instance. */
  instancePids(): readonly number[];
  /** Instances that died while the server ran (the server itself goes on), in order. */
  instanceExits(): readonly { readonly index: number; readonly pid: number; readonly reason: string; readonly at: number }[];
  /** Arms or disarms the pause nemesis in every instance (see RunningServer.armPause). */
  armPause(on: boolean): void;
  /** Replaces instance `index` (0-based) by a new one on the same port; resolves to its PID. */
  restartInstance(index: number): Promise<number>;
  /** Stops it (escalating to SIGTERM, then SIGKILL, by PID); its stats when it could still report them. */
  stop(): Promise<ServeStats | undefined>;
}

/**
 * Forks `regbench serve` for one strategy (the spec goes over IPC: it carries keys) and resolves once it listens.
 * Interrupted while starting, it stops the child and throws InterruptedError.
 */
export async function startEmbedded(spec: ServeSpec, strategy: string, signal?: AbortSignal): Promise<EmbeddedServer> {
  const child: ChildProcess = fork(SERVE_CHILD, [], { stdio: ["ignore", "ignore", "inherit", "ipc"], env: childEnv() });
  let stats: ServeStats | undefined;
  let pids: readonly number[] = [];
  const exits: { index: number; pid: number; reason: string; at: number }[] = [];
  const restarts = new Map<number, { resolve(pid: number): void; reject(error: Error): void }>();
  let asked = false;
  let death: string | undefined;
  const gone = new AbortController();
  child.on("error", () => {}); // a failed send or kill; the exit below says what happened
  child.on("message", (m: ServeChildMessage) => {
    if (m.type === "stats") stats = m.stats;
    else if (m.type === "instances") pids = m.pids;
    else if (m.type === "instance-exit") exits.push({ index: m.index, pid: m.pid, reason: m.reason, at: m.at });
    else if (m.type === "restarted") {
      const waiting = restarts.get(m.index);
      restarts.delete(m.index);
      if (m.pid !== null) waiting?.resolve(m.pid);
      else waiting?.reject(new Error(m.error ?? "the instance did not start"));
    }
  });
  void exited(child).then(() => {
    if (!asked) {
      death = describeExit(child.exitCode, child.signalCode);
      gone.abort();
    }
  });
  const send = (message: ServeChildRequest) => sendTo(child, message);
  let stopping: Promise<ServeStats | undefined> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      asked = true;
      await stopChild(child, () => send({ type: "stop" }), { graceMs: 4000, killAfterMs: 1000 });
      return stats;
    })();
    return stopping;
  };
  const onAbort = () => void stop();
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.on("message", (m: ServeChildMessage) => {
        if (m.type === "listening") resolve(m.url);
        else if (m.type === "failed") reject(new Error(m.message));
      });
      void exited(child).then(() =>
        reject(signal?.aborted ? new InterruptedError(strategy) : new Error(`the server ${describeExit(child.exitCode, child.signalCode)} before listening`)),
      );
      signal?.addEventListener("abort", onAbort, { once: true });
      if (signal?.aborted) onAbort();
      send({ type: "start", spec });
    });
    return {
      url,
      died: () => death,
      gone: gone.signal,
      cutLockService: () => void send({ type: "cut-lock-service" }),
      instancePids: () => (pids.length ? pids : [child.pid ?? 0]),
      instanceExits: () => exits,
      armPause: (on) => void send({ type: on ? "arm-pause" : "disarm-pause" }),
      restartInstance: (index) =>
        new Promise<number>((resolve, reject) => {
          restarts.set(index, { resolve, reject });
          if (!send({ type: "restart-instance", index })) reject(new Error("the server is gone"));
        }),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}
