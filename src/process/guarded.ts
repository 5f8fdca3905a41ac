import { fork, type ChildProcess } from "node:child_process";
import { exited, sendTo, stopChild } from "./children.js";

const GUARD = new URL("./guard.js", import.meta.url);

/** An external server started under a guard (see guard.ts): stopped by `stop`, or by the guard if regbench goes. */
export interface GuardedProcess {
  /** The server's own PID. */
  readonly pid: number;
  /** Set once the server has ended by itself (it failed to start, say). */
  exitedEarly(): string | undefined;
  stop(): Promise<void>;
}

/**
 * Starts `command args…` under a guard; resolves once it is running. `removeAfter`: a data folder the guard removes
 * once the command has ended — on `stop`, or when regbench goes away (even by SIGKILL).
 */
export function spawnGuarded(command: string, args: readonly string[], removeAfter?: string): Promise<GuardedProcess> {
  const argv = removeAfter === undefined ? [command, ...args] : ["--remove-after", removeAfter, command, ...args];
  const guard: ChildProcess = fork(GUARD, argv, { stdio: ["ignore", "ignore", "ignore", "ipc"] });
  let early: string | undefined;
  return new Promise((resolve, reject) => {
    guard.on("message", (m: { type: string; pid?: number; code?: number | null; signal?: string | null; message?: string }) => {
      if (m.type === "started") {
        resolve({
          pid: m.pid!,
          exitedEarly: () => early,
          stop: () => stopChild(guard, () => sendTo(guard, { type: "stop" }), { graceMs: 4000, killAfterMs: 1000 }),
        });
      } else if (m.type === "exited") {
        early = m.message ?? (m.signal ? `exited on ${m.signal}` : `exited with code ${m.code}`);
        reject(new Error(`${command} ${early}`));
      }
    });
    guard.once("error", reject);
    void exited(guard).then(() => reject(new Error(`the guard of ${command} exited before it started`)));
  });
}
