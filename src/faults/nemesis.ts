/**
 * Nemeses: real faults on the processes, services and connections a run depends on, after Jepsen's. Unlike
 * `--fault` (simulated inside the measuring process), a nemesis stops a real process (SIGSTOP/SIGKILL), restarts a
 * real server, or has the database end real sessions, at a time relative to the measured window.
 */

import { maxOf } from "../stats/extent.js";

/** One nemesis of `--nemesis`, parsed. `atMs`: when it strikes, from the start of the measured window. */
export type Nemesis =
  /** SIGSTOP a serve instance, SIGCONT after `durationMs`; by default the first to enter a critical section. */
  | { readonly kind: "pause-instance"; readonly spec: string; readonly atMs: number; readonly durationMs: number; readonly instance?: number }
  /** SIGKILL a serve instance; the others go on. */
  | { readonly kind: "kill-instance"; readonly spec: string; readonly atMs: number; readonly instance?: number }
  /** SIGKILL a serve instance and start a new one on the same port. */
  | { readonly kind: "restart-instance"; readonly spec: string; readonly atMs: number; readonly instance?: number }
  /** Kill the throwaway redis-server of `--redis auto` (no persistence: every lock vanishes) and start it again on its port. */
  | { readonly kind: "restart-redis"; readonly spec: string; readonly atMs: number }
  /** Have the database end every session of the run's namespace. */
  | { readonly kind: "kill-connections-store"; readonly spec: string; readonly atMs: number };

export type NemesisKind = Nemesis["kind"];

/** What happened to one nemesis in a run, as the JSON carries it: null times when it never struck. */
export interface NemesisWindow {
  readonly spec: string;
  /** From the start of the measured window. */
  readonly startMs: number | null;
  readonly endMs: number | null;
  readonly applied: boolean;
  /** What it did, or why it could not ("paused instance #2 (pid 4242), inside a critical section"). */
  readonly detail: string;
}

/** A serve instance that ended during the run without being asked to stop (a nemesis, or anything else). */
export interface InstanceDeath {
  /** 1-based, as `pause:instance#N` counts. */
  readonly instance: number;
  readonly pid: number;
  /** From the start of the measured window; negative before it. */
  readonly atMs: number;
  /** "killed by SIGKILL", "exited with code 1". */
  readonly reason: string;
  /** The nemesis that killed it, when one did. */
  readonly nemesis?: string;
}

/** The instance a nemesis of the instance kind aims at (undefined: its own choice). */
export function instanceOf(n: Nemesis): number | undefined {
  return "instance" in n ? n.instance : undefined;
}

export const INSTANCE_NEMESES: readonly NemesisKind[] = Object.freeze(["pause-instance", "kill-instance", "restart-instance"]);

/** One line per kind, for `regbench nemeses` and messages. */
export const NEMESIS_KINDS: readonly { readonly form: string; readonly needs: string; readonly does: string }[] = Object.freeze([
  {
    form: "pause:instance[#N]:DURATION[@AT]",
    needs: "--mode http",
    does: "SIGSTOP a serve instance, SIGCONT after DURATION; by default the first instance to enter a critical section (between its reads and its write, holding its lock), so its lock's TTL runs out while it is frozen",
  },
  {
    form: "kill:instance[#N][@AT]",
    needs: "--mode http --instances 2 or more",
    does: "SIGKILL a serve instance (the last by default); the others go on and the result says which one died when",
  },
  {
    form: "restart:instance[#N][@AT]",
    needs: "--mode http --instances 2 or more",
    does: "SIGKILL a serve instance and start a new one on the same port; the lock it held expires (or not) meanwhile",
  },
  {
    form: "restart:redis[@AT]",
    needs: "--redis auto and a Redis strategy",
    does: "kill the throwaway redis-server regbench started (no persistence: every lock vanishes) and start it again on the same port",
  },
  {
    form: "kill-connections:store[@AT]",
    needs: "--store postgres://… or mysql://…",
    does: "end every database session of the run's schema (pg_terminate_backend / KILL CONNECTION), as a failover or a proxy does",
  },
]);

/** When a nemesis without `@AT` strikes. */
export const DEFAULT_NEMESIS_AT_MS = 1000;

/**
 * Parses one `--nemesis` value with the duration parser of every other flag; returns the nemesis or what is wrong.
 * Forms: `pause:instance[#N]:DURATION[@AT]`, `kill:instance[#N][@AT]`, `restart:instance[#N][@AT]`,
 * `restart:redis[@AT]`, `kill-connections:store[@AT]`.
 */
export function parseNemesis(text: string, parseDuration: (text: string) => number | undefined): Nemesis | string {
  const spec = text.trim();
  const [body, at, ...extra] = spec.split("@");
  if (extra.length > 0) return `one @ at most (got ${JSON.stringify(text)})`;
  let atMs = DEFAULT_NEMESIS_AT_MS;
  if (at !== undefined) {
    const ms = parseDuration(at);
    if (ms === undefined) return `the time after @ must be a duration such as 2s or 500ms (got ${JSON.stringify(at)})`;
    atMs = ms;
  }
  const parts = body!.split(":");
  const target = /^instance(?:#(\d+))?$/.exec(parts[1] ?? "");
  const instance = target?.[1] !== undefined ? Number(target[1]) : undefined;
  if (instance !== undefined && instance < 1) return `instances are counted from 1 (got #${instance})`;
  const which = instance !== undefined ? { instance } : {};
  if (parts[0] === "pause" && target) {
    if (parts.length !== 3) return `pause:instance needs how long: pause:instance:3s@2s (got ${JSON.stringify(text)})`;
    const durationMs = parseDuration(parts[2]!);
    if (durationMs === undefined || durationMs <= 0) return `the pause must be a duration above 0 such as 3s (got ${JSON.stringify(parts[2])})`;
    return { kind: "pause-instance", spec, atMs, durationMs, ...which };
  }
  if ((parts[0] === "kill" || parts[0] === "restart") && target && parts.length === 2) {
    return { kind: parts[0] === "kill" ? "kill-instance" : "restart-instance", spec, atMs, ...which };
  }
  if (body === "restart:redis") return { kind: "restart-redis", spec, atMs };
  if (body === "kill-connections:store") return { kind: "kill-connections-store", spec, atMs };
  return `expected one of ${NEMESIS_KINDS.map((k) => k.form).join(", ")} (got ${JSON.stringify(text)}); regbench nemeses lists them`;
}

/** One line per nemesis of a run, for the report's conditions. */
export function describeNemesis(n: Nemesis): string {
  const at = `${n.atMs} ms into the measured window`;
  const which = instanceOf(n) !== undefined ? `instance #${instanceOf(n)}` : undefined;
  switch (n.kind) {
    case "pause-instance":
      return `${n.spec}: ${which ?? "the first instance in a critical section"} frozen (SIGSTOP) for ${n.durationMs} ms, ${at}`;
    case "kill-instance":
      return `${n.spec}: ${which ?? "the last instance"} killed (SIGKILL) ${at}`;
    case "restart-instance":
      return `${n.spec}: ${which ?? "the last instance"} killed (SIGKILL) and started again ${at}`;
    case "restart-redis":
      return `${n.spec}: the throwaway Redis killed and started again, empty, ${at}`;
    case "kill-connections-store":
      return `${n.spec}: the run's database sessions ended by the server ${at}`;
  }
}

/** `regbench nemeses`: the kinds, one each, with what they need. */
export function renderNemesisKinds(): string {
  const width = maxOf(NEMESIS_KINDS.map((k) => k.form.length));
  const lines = NEMESIS_KINDS.map((k) => `${k.form.padEnd(width)}  ${k.does} (needs ${k.needs})`);
  return [
    ...lines,
    "",
    "AT is a time from the start of the measured window (default 1s); durations take us, ms, s, m. Repeat --nemesis for several.",
    "Example: regbench run --mode http --instances 2 --strategy redis --lock-ttl 1s --no-watchdog --duration 5s --nemesis pause:instance:3s@1s",
  ].join("\n");
}
