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
  | { readonly kind: "kill-connections-store"; readonly spec: string; readonly atMs: number }
  /** The instances' connections to `service` (through a fault proxy) deliver nothing for `durationMs`, then heal. */
  | { readonly kind: "partition"; readonly spec: string; readonly atMs: number; readonly service: ProxiedService; readonly durationMs: number }
  /** Every chunk between the instances and `service` delayed `delayMs` each way for `durationMs`. */
  | {
      readonly kind: "latency";
      readonly spec: string;
      readonly atMs: number;
      readonly service: ProxiedService;
      readonly delayMs: number;
      readonly durationMs: number;
    }
  /** The instances' connections to `service` reset (RST); for `durationMs` new ones too (0: the open ones, once). */
  | { readonly kind: "reset"; readonly spec: string; readonly atMs: number; readonly service: ProxiedService; readonly durationMs: number }
  /** SIGKILL a member of a throwaway etcd cluster (`--etcd auto:3`): `member` (1-based), by default the leader. */
  | { readonly kind: "kill-etcd-member"; readonly spec: string; readonly atMs: number; readonly member?: number }
  /** SIGSTOP the leader of a throwaway etcd cluster, SIGCONT after `durationMs`. */
  | { readonly kind: "pause-etcd-leader"; readonly spec: string; readonly atMs: number; readonly durationMs: number };

/** The services a run's server instances reach through a fault proxy when a network nemesis names them. */
export type ProxiedService = "redis" | "etcd" | "store";

export const PROXIED_SERVICES: readonly ProxiedService[] = Object.freeze(["redis", "etcd", "store"]);

/** The nemeses that act through a fault proxy. */
export const NETWORK_NEMESES: readonly NemesisKind[] = Object.freeze(["partition", "latency", "reset"]);

/** The nemeses that act on the members of a throwaway etcd cluster. */
export const ETCD_MEMBER_NEMESES: readonly NemesisKind[] = Object.freeze(["kill-etcd-member", "pause-etcd-leader"]);

/** The service a network nemesis disturbs, if it is one. */
export function serviceOf(n: Nemesis): ProxiedService | undefined {
  return "service" in n ? n.service : undefined;
}

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
  {
    form: "partition:redis|etcd|store:DURATION[@AT]",
    needs: "--mode http and a strategy that uses that service",
    does: "the instances reach the service through a TCP proxy that delivers nothing either way for DURATION (connections stay open, new ones hang), then heals",
  },
  {
    form: "latency:redis|etcd|store:DELAY:DURATION[@AT]",
    needs: "--mode http and a strategy that uses that service",
    does: "every chunk between the instances and the service delayed by DELAY each way, in order, for DURATION",
  },
  {
    form: "reset:redis|etcd|store[:DURATION][@AT]",
    needs: "--mode http and a strategy that uses that service",
    does: "the instances' connections to the service reset (TCP RST) as a dying proxy does; with DURATION, new connections too until it ends",
  },
  {
    form: "kill:etcd-member[#N][@AT]",
    needs: "--etcd auto:3 or auto:5, and an etcd strategy",
    does: "SIGKILL a member of the throwaway etcd cluster (the leader by default, found by its status); it stays dead until the measured window is over, then starts again on its data; the others elect a leader meanwhile",
  },
  {
    form: "pause:etcd-leader:DURATION[@AT]",
    needs: "--etcd auto:3 or auto:5, and an etcd strategy",
    does: "SIGSTOP the throwaway etcd cluster's leader, SIGCONT after DURATION: the others elect a new leader while it is frozen",
  },
]);

/** When a nemesis without `@AT` strikes. */
export const DEFAULT_NEMESIS_AT_MS = 1000;

/**
 * Parses one `--nemesis` value with the duration parser of every other flag; returns the nemesis or what is wrong.
 * Forms: `pause:instance[#N]:DURATION[@AT]`, `kill:instance[#N][@AT]`, `restart:instance[#N][@AT]`,
 * `restart:redis[@AT]`, `kill-connections:store[@AT]`, `partition:SERVICE:DURATION[@AT]`,
 * `latency:SERVICE:DELAY:DURATION[@AT]`, `reset:SERVICE[:DURATION][@AT]`, `kill:etcd-member[#N][@AT]`,
 * `pause:etcd-leader:DURATION[@AT]`.
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
  const service = PROXIED_SERVICES.find((s) => s === parts[1]);
  if (service && (parts[0] === "partition" || parts[0] === "latency" || parts[0] === "reset")) {
    const positive = (value: string | undefined, what: string, example: string): number | string => {
      const ms = value === undefined ? undefined : parseDuration(value);
      return ms === undefined || ms <= 0 ? `${what} must be a duration above 0 such as ${example} (got ${JSON.stringify(value ?? "")})` : ms;
    };
    if (parts[0] === "partition") {
      if (parts.length !== 3) return `partition:${service} needs how long: partition:${service}:3s@2s (got ${JSON.stringify(text)})`;
      const durationMs = positive(parts[2], "the partition", "3s");
      return typeof durationMs === "string" ? durationMs : { kind: "partition", spec, atMs, service, durationMs };
    }
    if (parts[0] === "latency") {
      if (parts.length !== 4) return `latency:${service} needs the delay and how long: latency:${service}:200ms:3s@2s (got ${JSON.stringify(text)})`;
      const delayMs = positive(parts[2], "the delay", "200ms");
      if (typeof delayMs === "string") return delayMs;
      const durationMs = positive(parts[3], "the latency's duration", "3s");
      return typeof durationMs === "string" ? durationMs : { kind: "latency", spec, atMs, service, delayMs, durationMs };
    }
    if (parts.length > 3) return `reset:${service} takes at most how long: reset:${service}@2s or reset:${service}:1s@2s (got ${JSON.stringify(text)})`;
    const durationMs = parts.length === 3 ? positive(parts[2], "the reset's duration", "1s") : 0;
    return typeof durationMs === "string" ? durationMs : { kind: "reset", spec, atMs, service, durationMs };
  }
  const member = /^etcd-member(?:#(\d+))?$/.exec(parts[1] ?? "");
  if (parts[0] === "kill" && member && parts.length === 2) {
    if (member[1] !== undefined && Number(member[1]) < 1) return `etcd members are counted from 1 (got #${member[1]})`;
    return { kind: "kill-etcd-member", spec, atMs, ...(member[1] !== undefined ? { member: Number(member[1]) } : {}) };
  }
  if (parts[0] === "pause" && parts[1] === "etcd-leader") {
    if (parts.length !== 3) return `pause:etcd-leader needs how long: pause:etcd-leader:2s@2s (got ${JSON.stringify(text)})`;
    const durationMs = parseDuration(parts[2]!);
    if (durationMs === undefined || durationMs <= 0) return `the pause must be a duration above 0 such as 2s (got ${JSON.stringify(parts[2])})`;
    return { kind: "pause-etcd-leader", spec, atMs, durationMs };
  }
  return `expected one of ${NEMESIS_KINDS.map((k) => k.form).join(", ")} (got ${JSON.stringify(text)}); regbench nemeses lists them`;
}

export const SERVICE_NAMES: Readonly<Record<ProxiedService, string>> = Object.freeze({ redis: "Redis", etcd: "etcd", store: "the database" });

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
    case "partition":
      return `${n.spec}: the instances cut from ${SERVICE_NAMES[n.service]} (nothing delivered, connections held) for ${n.durationMs} ms, ${at}`;
    case "latency":
      return `${n.spec}: ${n.delayMs} ms added each way between the instances and ${SERVICE_NAMES[n.service]} for ${n.durationMs} ms, ${at}`;
    case "reset":
      return `${n.spec}: the instances' connections to ${SERVICE_NAMES[n.service]} reset${n.durationMs > 0 ? `, and new ones for ${n.durationMs} ms` : ""}, ${at}`;
    case "kill-etcd-member":
      return `${n.spec}: etcd member ${n.member !== undefined ? `#${n.member}` : "the leader"} killed (SIGKILL) ${at}`;
    case "pause-etcd-leader":
      return `${n.spec}: the etcd leader frozen (SIGSTOP) for ${n.durationMs} ms, ${at}`;
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
    "Example: regbench run --mode http --instances 2 --strategy etcd-fenced --etcd auto --lock-ttl 1s --duration 5s --nemesis partition:etcd:3s@1s",
  ].join("\n");
}
