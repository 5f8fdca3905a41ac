import { fork, type ChildProcess } from "node:child_process";
import { exited, sendTo, stopChild } from "./children.js";

const GUARD = new URL("./guard.js", import.meta.url);

/** An external server started under a guard (see guard.ts): stopped by `stop`, or by the guard if regbench goes. */
export interface GuardedProcess {
  /** The server's own PID (the current one's, after a restart). */
  readonly pid: number;
  /** Set once the server has ended by itself (it failed to start, or a nemesis killed it). */
  exitedEarly(): string | undefined;
  /**
   * Starts the server again, same command, same data, once it has ended (only when started `restartable`); resolves
   * to its new PID.
   */
  restart(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts `command args…` under a guard; resolves once it is running. `removeAfter`: a data folder the guard removes
 * once the command has ended — on `stop`, or when regbench goes away (even by SIGKILL); with `restartable`, not when
 * the server ends by itself, so that `restart` starts it again on its data.
 */
export function spawnGuarded(command: string, args: readonly string[], removeAfter?: string, restartable = false): Promise<GuardedProcess> {
  const flags = [...(removeAfter === undefined ? [] : ["--remove-after", removeAfter]), ...(restartable ? ["--restartable"] : [])];
  const guard: ChildProcess = fork(GUARD, [...flags, command, ...args], { stdio: ["ignore", "ignore", "ignore", "ipc"] });
  let early: string | undefined;
  let pid = 0;
  let restarting: { resolve(pid: number): void; reject(error: Error): void } | undefined;
  /** Who waits for the server to have ended (a restart after a kill by PID: the guard must have seen the end). */
  const endWaiters: (() => void)[] = [];
  return new Promise((resolve, reject) => {
    guard.on("message", (m: { type: string; pid?: number; code?: number | null; signal?: string | null; message?: string }) => {
      if (m.type === "started") {
        pid = m.pid!;
        early = undefined;
        restarting?.resolve(pid);
        restarting = undefined;
        resolve({
          get pid() {
            return pid;
          },
          exitedEarly: () => early,
          restart: async () => {
            if (!restartable) throw new Error(`${command} was not started restartable`);
            if (early === undefined) await new Promise<void>((ended) => endWaiters.push(ended));
            return new Promise<number>((resolveRestart, rejectRestart) => {
              restarting = { resolve: resolveRestart, reject: rejectRestart };
              if (!sendTo(guard, { type: "restart" })) rejectRestart(new Error(`the guard of ${command} is gone`));
            });
          },
          stop: () => stopChild(guard, () => sendTo(guard, { type: "stop" }), { graceMs: 4000, killAfterMs: 1000 }),
        });
      } else if (m.type === "exited") {
        early = m.message ?? (m.signal ? `exited on ${m.signal}` : `exited with code ${m.code}`);
        reject(new Error(`${command} ${early}`));
        restarting?.reject(new Error(`${command} ${early}`));
        restarting = undefined;
        for (const ended of endWaiters.splice(0)) ended();
      }
    });
    guard.once("error", reject);
    void exited(guard).then(() => reject(new Error(`the guard of ${command} exited before it started`)));
  });
}
