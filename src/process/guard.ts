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
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { stopChild } from "./children.js";

// `--remove-after DIR` first: the server's data folder, removed once the server has ended, however regbench ended.
const argv = process.argv.slice(2);
const removeAfter = argv[0] === "--remove-after" ? argv[1] : undefined;
const [command, ...args] = removeAfter === undefined ? argv : argv.slice(2);
if (!command) process.exit(2);
const child = spawn(command, args, { stdio: "ignore", detached: true });
let stopping = false;

/** Removes the server's data folder (the server has ended: nothing writes into it any more). */
function removeData(): void {
  if (removeAfter !== undefined) rmSync(removeAfter, { recursive: true, force: true });
}

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await stopChild(child, () => child.kill("SIGTERM"), { graceMs: 2000, killAfterMs: 1000 });
  removeData();
  process.exit(0);
}

child.once("spawn", () => process.send?.({ type: "started", pid: child.pid }));
child.once("error", (error) => {
  process.send?.({ type: "exited", code: null, signal: null, message: error.message });
  process.exit(1);
});
child.once("exit", (code, signal) => {
  if (stopping) return;
  removeData();
  process.send?.({ type: "exited", code, signal }, undefined, undefined, () => process.exit(1));
});
process.on("message", (m: { type?: string }) => {
  if (m?.type === "stop") void stop();
});
process.once("disconnect", () => void stop());
process.on("SIGTERM", () => void stop());
process.on("SIGHUP", () => void stop());
// Ctrl-C reaches the whole foreground group; regbench itself decides when the server stops.
process.on("SIGINT", () => {});
