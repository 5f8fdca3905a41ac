/**
 * A guardian for an external server regbench starts (a throwaway redis-server): it spawns the command in a process
 * group of its own — so that a Ctrl-C meant for regbench does not kill it under a running measurement — and stops it
 * by its PID when regbench asks, when regbench goes away (the IPC channel closes, even on SIGKILL) or on SIGTERM.
 * Without it, a regbench killed hard would leave the server running for ever.
 *
 * Protocol: the parent forks this file with the command and its arguments as argv (after `--remove-after DIR` when the
 * server's data folder must go with it: a throwaway etcd's); the guard answers
 * `{type: "started", pid}`, or `{type: "exited", code, signal}` if the command ends by itself; `{type: "stop"}` stops it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { stopChild } from "./children.js";

// Flags first: `--remove-after DIR`, the server's data folder, removed once the server has ended, however regbench
// ended; `--restartable`, a server that a nemesis kills and starts again (a throwaway etcd member): its end by itself
// leaves the guard — and its data — in place, and `{type: "restart"}` starts the command again with the same data.
const argv = process.argv.slice(2);
let removeAfter: string | undefined;
let restartable = false;
for (;;) {
  if (argv[0] === "--remove-after") {
    removeAfter = argv[1];
    argv.splice(0, 2);
  } else if (argv[0] === "--restartable") {
    restartable = true;
    argv.shift();
  } else break;
}
const [command, ...args] = argv;
if (!command) process.exit(2);
let stopping = false;

/** Removes the server's data folder (the server has ended: nothing writes into it any more). */
function removeData(): void {
  if (removeAfter !== undefined) rmSync(removeAfter, { recursive: true, force: true });
}

function start(): ChildProcess {
  const started = spawn(command!, args, { stdio: "ignore", detached: true });
  started.once("spawn", () => process.send?.({ type: "started", pid: started.pid }));
  started.once("error", (error) => {
    process.send?.({ type: "exited", code: null, signal: null, message: error.message });
    if (!restartable) process.exit(1);
  });
  started.once("exit", (code, signal) => {
    if (stopping) return;
    if (restartable) {
      process.send?.({ type: "exited", code, signal });
      return;
    }
    removeData();
    process.send?.({ type: "exited", code, signal }, undefined, undefined, () => process.exit(1));
  });
  return started;
}

let child = start();

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await stopChild(child, () => child.kill("SIGTERM"), { graceMs: 2000, killAfterMs: 1000 });
  removeData();
  process.exit(0);
}

process.on("message", (m: { type?: string }) => {
  if (m?.type === "stop") void stop();
  // Only a server that has ended is started again: never two on one data folder.
  else if (m?.type === "restart" && restartable && !stopping && (child.exitCode !== null || child.signalCode !== null)) child = start();
});
process.once("disconnect", () => void stop());
process.on("SIGTERM", () => void stop());
process.on("SIGHUP", () => void stop());
// Ctrl-C reaches the whole foreground group; regbench itself decides when the server stops.
process.on("SIGINT", () => {});
