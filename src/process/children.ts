import type { ChildProcess } from "node:child_process";

/** How a child ended, in words for a report: "exited with code 1", "exited on SIGKILL". */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `exited on ${signal}` : `exited with code ${code ?? "unknown"}`;
}

/** Resolves when the child has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Sends an IPC message if the channel is still open; never throws (a dead child's channel is closed). */
export function sendTo(child: ChildProcess, message: unknown): boolean {
  if (!child.connected) return false;
  try {
    child.send(message as object, (error) => {
      // The channel closed between the check and the write: the child is going or gone, which its exit reports.
      void error;
    });
    return true;
  } catch {
    return false;
  }
}

export interface StopSettings {
  /** How long the child may take to stop by itself after `ask` before it is sent SIGTERM. */
  readonly graceMs: number;
  /** How long after SIGTERM before SIGKILL. */
  readonly killAfterMs: number;
}

export const DEFAULT_STOP: StopSettings = Object.freeze({ graceMs: 3000, killAfterMs: 1000 });

/**
 * Stops a child by its PID, escalating: `ask` (an IPC "stop", say), then SIGTERM after `graceMs`, then SIGKILL
 * after `killAfterMs`. Resolves once it has exited. A child that already exited resolves at once.
 */
export async function stopChild(child: ChildProcess, ask: () => void = () => {}, settings: StopSettings = DEFAULT_STOP): Promise<void> {
  const gone = exited(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  ask();
  if (await within(gone, settings.graceMs)) return;
  child.kill("SIGTERM");
  if (await within(gone, settings.killAfterMs)) return;
  child.kill("SIGKILL");
  await gone;
}

/** Whether `promise` settles within `ms`; the timer is cleared either way, so it never holds the process open. */
export function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    promise.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(true);
      },
    );
  });
}

/**
 * In a child process: what to do when the parent goes away (its IPC channel closes: it exited, or was killed).
 * `stop` cleans up; whatever it does, the process exits within `withinMs`, so that no orphan outlives its run.
 */
export function onParentGone(stop: () => Promise<void> | void, withinMs = 1800): void {
  process.once("disconnect", () => {
    setTimeout(() => process.exit(1), withinMs).unref();
    Promise.resolve()
      .then(stop)
      .catch(() => undefined)
      .finally(() => process.exit(1));
  });
}

/**
 * The environment variables that carry secrets (every one cli/secrets.ts reads but the lock namespace, which is a
 * name): the project keys, the sealing key, the audit token, the audit database's URL (it may hold a password) and
 * its password. A child gets what it needs over IPC instead.
 */
export const SECRET_ENV_NAMES: readonly string[] = Object.freeze([
  "REGBENCH_PROJECTS",
  "REGBENCH_SERVER_KEY",
  "REGBENCH_AUDIT_TOKEN",
  "REGBENCH_AUDIT_DB",
  "REGBENCH_AUDIT_DB_PASSWORD",
]);

/**
 * This process's environment without the secret variables, for a child: a secret in a child's environment is
 * readable in /proc/PID/environ for as long as the child lives, and is inherited by whatever it starts.
 */
export function childEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const name of SECRET_ENV_NAMES) delete copy[name];
  return copy;
}

/** The same, as the overrides `cluster.fork(env)` merges over this process's environment: each secret unset. */
export function secretsUnset(): Record<string, undefined> {
  return Object.fromEntries(SECRET_ENV_NAMES.map((name) => [name, undefined]));
}
