import { parseCidr, type Cidr } from "../core/ipv4.js";
import { parseFault, type Fault } from "../faults/faults.js";
import { parseNemesis, type Nemesis } from "../faults/nemesis.js";
import { parseBound } from "../gate/baseline.js";
import { loadProfile, ProfileError, shippedProfiles, type ProfileSpec } from "../driver/profile/spec.js";
import { DEFAULT_MAX_ERROR_RATE } from "../report/verdict.js";
import { DEFAULT_SERVER_SETTINGS, MAX_HEADER_TIMEOUT_MS } from "../http/server.js";
import { ISOLATIONS, parseStoreSpec, type Isolation, type StoreSpec } from "../store/registry.js";
import { strategyNames } from "../strategies/registry.js";
import type { LockKeyMode } from "../config/run.js";
import { nextPowerOfTwo } from "../sync/fnv.js";
import { parseStartAt } from "./agentOptions.js";
import { findLockService } from "../locks/services/registry.js";
import { isLocationProblem, type LockServiceLocation } from "../locks/services/service.js";
import { UsageError } from "./usageError.js";

/*
 * The parsers of the option table (optionTable.ts): each turns one option's value — a flag's string, a scenario
 * file's value — into a typed one, or throws UsageError(flag, problem, fix) naming the flag it is given. Checks that
 * need two options are not here: they are the named rules of options.ts.
 */

/** One option's parser: the value given, and the flag to name in a message. */
export type Parser<T> = (value: unknown, flag: string) => T;

export function text(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * Upper bounds of the numeric options, each with its reason: beyond it a value would exhaust memory, overflow a
 * 32-bit field, or overflow node's timers. Checked as safe integers, never through 32-bit operators.
 */
export const LIMITS = Object.freeze({
  /** -n plus a --warmup count: the run keeps ~13 bytes per request (its source, its acknowledgement). */
  requests: { max: 100_000_000, why: "the run keeps about 13 bytes per request; 100,000,000 is about 1.3 GB" },
  /** -c and a --stages concurrency: one sender each, and over HTTP one connection each. */
  concurrency: { max: 100_000, why: "each is a sender in memory and, over HTTP, a connection" },
  /** Systems are picked by a 32-bit hash. */
  systems: { max: 2 ** 32 - 1, why: "systems are picked by a 32-bit hash" },
  /** Each project is created in the store, with its own key, before the run. */
  projects: { max: 10_000, why: "each project is created in the store, with its key, before the run" },
  /** The workload's PRNG takes 32 bits: a larger seed would repeat a smaller one's workload. */
  seed: { max: 2 ** 32 - 1, why: "the workload's generator takes a 32-bit seed" },
  /** Every shard's lock is allocated up front, and a shard is picked by a 32-bit hash. */
  shards: { max: 65_536, why: "every shard's lock is allocated up front" },
  /** A server process each. */
  instances: { max: 64, why: "each is a server process" },
  /** node's timers hold 32-bit milliseconds: a longer delay fires at once. */
  durationMs: { max: 2 ** 31 - 1, why: "node's timers hold at most 2^31 − 1 ms (24.8 days); a longer one fires at once" },
});

/** Milliseconds from `250` (ms), `250us` / `250µs`, `250ms`, `1.5s`, `2m`. */
export function parseDurationMs(value: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(us|µs|ms|s|m)?$/.exec(value.trim());
  if (!match) return undefined;
  const n = Number(match[1]);
  switch (match[2]) {
    case "us":
    case "µs":
      return n / 1000;
    case "s":
      return n * 1000;
    case "m":
      return n * 60_000;
    default:
      return n;
  }
}

/** A whole number from `min` to `limit.max` (a safe integer without one). */
export function integer(min: number, example: string, limit?: { readonly max: number; readonly why: string }): Parser<number> {
  return (value, flag) => {
    const s = String(value).trim().replace(/_/g, "");
    const n = /^[+-]?\d+(e\d+)?$/i.test(s) ? Number(s) : NaN;
    if (!Number.isSafeInteger(n) || n < min) {
      throw new UsageError(flag, `must be a whole number ≥ ${min} (got ${text(value)})`, `For example: ${example}.`);
    }
    if (limit && n > limit.max) throw new UsageError(flag, `must be at most ${limit.max} (got ${text(value)}): ${limit.why}`, `For example: ${example}.`);
    return n;
  };
}

/** A ratio from 0 to 1. */
export function ratio(example: string): Parser<number> {
  return (value, flag) => {
    const n = Number(value);
    if (String(value).trim() === "" || !Number.isFinite(n) || n < 0 || n > 1) {
      throw new UsageError(flag, `must be a ratio between 0 and 1 (got ${text(value)})`, `For example: ${example}.`);
    }
    return n;
  };
}

/** A duration in milliseconds (see parseDurationMs), at most node's timers' bound. */
export function duration(example: string, allowZero = true): Parser<number> {
  return (value, flag) => {
    const ms = parseDurationMs(String(value));
    if (ms === undefined || (!allowZero && ms === 0)) {
      throw new UsageError(
        flag,
        `must be a duration such as 250us, 250ms, 1.5s, 2m or a number of milliseconds${allowZero ? "" : " above 0"} (got ${text(value)})`,
        `For example: ${example}.`,
      );
    }
    if (ms > LIMITS.durationMs.max)
      throw new UsageError(flag, `must be at most ${LIMITS.durationMs.max} ms (got ${text(value)}): ${LIMITS.durationMs.why}`, `For example: ${example}.`);
    return ms;
  };
}

/** `--timeout` of an HTTP request (`run --target`, `profile check`): above 0, at most node's timers' bound. */
export const requestTimeout: Parser<number> = duration("--timeout 10s", false);

/** A switch (`--keep-store`, `--no-watchdog`): on unless false (a scenario file may say "false"). */
export const flag: Parser<boolean> = (value) => value !== false && value !== "false";

/** A switch that is on only when given as one (`--wide`): commander's true. */
export const isTrue: Parser<boolean> = (value) => value === true;

/** A value taken as it is given, as a string: a path, a name, an ID checked where it is used. */
export const asText: Parser<string> = (value) => String(value);

/** A repeatable option's values, as strings. */
export const list: Parser<string[]> = (value) => ([] as unknown[]).concat(value).map(String);

/** A value commander hands over as it is (`--no-save`'s false, a repeatable's list): checked where it is used. */
export const asGiven: Parser<unknown> = (value) => value;

/** One of a few words (`--mode in-process|http`); anything else names the flag, the choices and the fix. */
export function oneOf<T extends string>(flag: string, choices: readonly T[], fix: string): Parser<T> {
  const expected = choices.length === 2 ? `${choices[0]} or ${choices[1]}` : `one of ${choices.join(", ")}`;
  return (value) => {
    const given = String(value);
    if (!(choices as readonly string[]).includes(given)) throw new UsageError(flag, `must be ${expected} (got ${JSON.stringify(given)})`, fix);
    return given as T;
  };
}

/** The workload's address pool. */
export const cidr: Parser<Cidr> = (value) => {
  const cidrText = String(value);
  const parsed = parseCidr(cidrText);
  if (!parsed)
    throw new UsageError(
      "--cidr",
      `is not an IPv4 network with a prefix from /1 to /29 (got ${JSON.stringify(cidrText)})`,
      "For example: --cidr 10.0.0.0/12 (the address must be the network's first).",
    );
  return parsed;
};

/** `--shards`: a power of two up to LIMITS.shards. */
export const shards: Parser<number> = (value, name) => {
  const n = integer(1, "--shards 32", LIMITS.shards)(value, name);
  // By arithmetic: 32-bit operators (`n & (n - 1)`) would truncate values above 2^31 and pass 2^32 + 2^k.
  if (nextPowerOfTwo(n) !== n)
    throw new UsageError("--shards", `must be a power of two (got ${n})`, `Use ${2 ** Math.ceil(Math.log2(n))} or ${2 ** Math.floor(Math.log2(n))}.`);
  return n;
};

export const lockKey: Parser<LockKeyMode> = oneOf("--lock-key", ["system", "project"], "Use --lock-key system (the seed's) or --lock-key project.");

export const isolation: Parser<Isolation> = oneOf("--isolation", ISOLATIONS, "For example: --isolation serializable; leave it out for the database's default.");

export const store: Parser<StoreSpec> = (value) => {
  const spec = parseStoreSpec(String(value));
  if (typeof spec === "string")
    throw new UsageError(
      "--store",
      `is not understood (got ${JSON.stringify(value)}): ${spec}`,
      "For example: --store sqlite, --store postgres://postgres@127.0.0.1:5432/test or --store mysql://root@127.0.0.1:3306/test.",
    );
  return spec;
};

/** `--strategy`: the names (a comma list, `all`, expanded against the registry), and whether `all` chose them. */
export const strategy: Parser<{ names: string[]; selection: "explicit" | "all" }> = (value) => ({
  names: parseStrategies(value),
  selection: String(value)
    .split(",")
    .some((s) => s.trim() === "all")
    ? "all"
    : "explicit",
});

/** Expands `--strategy` (a comma list, `all`) against the registry. */
export function parseStrategies(value: unknown): string[] {
  const known = strategyNames();
  const names = String(value)
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new UsageError("--strategy", "is empty", `Name one or more of ${known.join(", ")}, or all.`);
  const out: string[] = [];
  for (const name of names) {
    if (name === "all") for (const k of known) out.push(k);
    else if (known.includes(name)) out.push(name);
    else
      throw new UsageError(
        "--strategy",
        `names an unknown strategy ${JSON.stringify(name)}`,
        `Known strategies: ${known.join(", ")} (or all); \`regbench strategies\` describes them.`,
      );
  }
  return [...new Set(out)];
}

/** `--rate`: requests per second above 0. */
export const rate: Parser<number> = (value) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || String(value).trim() === "")
    throw new UsageError("--rate", `must be a number of requests per second above 0 (got ${text(value)})`, "For example: --rate 2000.");
  return n;
};

/** `--warmup`: a count of registrations, or a time (any duration with a unit). */
export const warmup: Parser<{ readonly count: number } | { readonly ms: number }> = (value, name) =>
  /^\s*\d+\s*$/.test(String(value))
    ? { count: integer(0, "--warmup 500", LIMITS.requests)(value, name) }
    : { ms: duration("--warmup 500 (registrations) or --warmup 5s", false)(value, name) };

export interface Stages {
  readonly stages: readonly { readonly durationMs: number; readonly target: number }[];
  readonly of: "concurrency" | "rate";
}

/** `--stages 30s:200,1m:1000,30s:0` (concurrencies) or `30s:500/s,…` (rates). */
export const stages: Parser<Stages> = (value) => {
  const fix = "For example: --stages 30s:200,1m:1000,30s:0 (ramping the concurrency) or --stages 30s:500/s,1m:2000/s (ramping the rate).";
  const parts = String(value)
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new UsageError("--stages", "is empty", fix);
  const out: { durationMs: number; target: number }[] = [];
  const kinds = new Set<string>();
  for (const part of parts) {
    const m = /^([^:]+):(\d+(?:\.\d+)?)(\/s)?$/.exec(part);
    const ms = m ? parseDurationMs(m[1]!) : undefined;
    if (!m || ms === undefined || ms <= 0) throw new UsageError("--stages", `has a stage that is not DURATION:TARGET (got ${JSON.stringify(part)})`, fix);
    if (ms > LIMITS.durationMs.max)
      throw new UsageError("--stages", `has a stage longer than ${LIMITS.durationMs.max} ms (got ${JSON.stringify(part)}): ${LIMITS.durationMs.why}`, fix);
    kinds.add(m[3] ? "rate" : "concurrency");
    const target = Number(m[2]);
    if (!m[3] && !Number.isInteger(target)) throw new UsageError("--stages", `has a concurrency that is not a whole number (got ${JSON.stringify(part)})`, fix);
    if (!m[3] && target > LIMITS.concurrency.max)
      throw new UsageError("--stages", `has a concurrency above ${LIMITS.concurrency.max} (got ${JSON.stringify(part)}): ${LIMITS.concurrency.why}`, fix);
    if (m[3] && !Number.isFinite(target)) throw new UsageError("--stages", `has a rate that is not a finite number (got ${JSON.stringify(part)})`, fix);
    out.push({ durationMs: ms, target });
  }
  if (kinds.size > 1) throw new UsageError("--stages", "mixes concurrencies and rates", `${fix} Every stage is one or the other.`);
  if (out.every((s) => s.target === 0)) throw new UsageError("--stages", "never sends: every target is 0", fix);
  return { stages: out, of: kinds.has("rate") ? "rate" : "concurrency" };
};

/** `--fault`, repeatable. */
export const faults: Parser<Fault[]> = (value) =>
  list(value, "--fault").map((spec) => {
    const fault = parseFault(spec);
    if (typeof fault === "string")
      throw new UsageError(
        "--fault",
        `is not understood: ${fault}`,
        "Use --fault pause:0.05:500 (probability, stall in ms), --fault redis-down:2000 or --fault etcd-down:2000 (ms into the run).",
      );
    return fault;
  });

/** `--nemesis`, repeatable: the syntax only; whether the run can apply each is the rule `nemesesFitTheRun`. */
export const nemeses: Parser<Nemesis[]> = (value) =>
  list(value, "--nemesis").map((spec) => {
    const n = parseNemesis(spec, parseDurationMs);
    if (typeof n === "string")
      throw new UsageError("--nemesis", `is not understood: ${n}`, "For example: --nemesis pause:instance:3s@2s (regbench nemeses lists the kinds).");
    return n;
  });

/** `--target`: an http:// or https:// base URL. */
export const target: Parser<string> = (value) => {
  const url = String(value);
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:"))
    throw new UsageError(
      "--target",
      `is not an http:// URL (got ${JSON.stringify(url)})`,
      "For example: --target http://127.0.0.1:8080 (the server's base URL).",
    );
  return url;
};

export const mode: Parser<"in-process" | "http"> = oneOf(
  "--mode",
  ["in-process", "http"],
  "Use --mode http to go through regbench's HTTP server, or leave it out.",
);

/** `--workers`: generator threads, at most 64. */
export const workers: Parser<number> = (value, name) => {
  const n = integer(1, "--workers 2")(value, name);
  if (n > 64) throw new UsageError("--workers", `(${n}) is more than 64`, "Use at most one generator thread per core: --workers 2 on this machine's cores.");
  return n;
};

/** `--profile`: a request profile file, or a shipped one's name. */
export const profile: Parser<ProfileSpec> = (value) => {
  try {
    return loadProfile(String(value));
  } catch (error) {
    if (!(error instanceof ProfileError)) throw error;
    throw new UsageError(
      "--profile",
      `cannot be used: ${error.message}`,
      `Fix the profile (regbench profile init prints a commented one; regbench profile check tries it), or use a shipped one: ${shippedProfiles().join(", ")}.`,
    );
  }
};

export const startAt: Parser<number> = (value) => parseStartAt(value);

/** `--max-error-rate` as a fraction: `1%`, `0.5%` or a ratio such as `0.01`. */
export const maxErrorRate: Parser<number> = (value) => {
  const t = String(value).trim();
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(t);
  const share = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
  if (!m || !(share >= 0 && share <= 1))
    throw new UsageError(
      "--max-error-rate",
      `must be a share of registrations from 0% to 100% (got ${JSON.stringify(t)})`,
      "For example: --max-error-rate 1% (or 0.01).",
    );
  return share;
};
export { DEFAULT_MAX_ERROR_RATE };

/** `--fail-on-verdict warn|fail`. */
export const failOnVerdict: Parser<"warn" | "fail"> = oneOf(
  "--fail-on-verdict",
  ["warn", "fail"],
  "--fail-on-verdict fail exits 99 when a strategy is ✗; --fail-on-verdict warn also when one is ⚠ or not audited.",
);

/** `--percentiles 50,95,99,99.9`: the table's latency columns. */
export const percentiles: Parser<number[]> = (value) => {
  const parts = String(value)
    .split(",")
    .map((p) => p.trim().replace(/^p/, ""));
  const values = parts.map(Number);
  if (parts.length === 0 || parts.length > 8 || values.some((v, i) => !/^\d{1,2}(\.\d{1,3})?$/.test(parts[i]!) || !(v > 0 && v < 100))) {
    throw new UsageError(
      "--percentiles",
      `must be a comma list of 1 to 8 percentiles above 0 and below 100 (got ${JSON.stringify(String(value))})`,
      "For example: --percentiles 50,95,99,99.9.",
    );
  }
  return values;
};

/** `--max-regression`'s default: 10% worse than the baseline. */
export const DEFAULT_MAX_REGRESSION = 0.1;

/** `--max-regression` as a fraction. */
export const maxRegression: Parser<number> = (value) => {
  const bound = parseBound(String(value));
  if (bound === undefined)
    throw new UsageError("--max-regression", `must be a percentage such as 10% (got ${String(value)})`, "For example: --max-regression 10%.");
  return bound;
};

/** `--no-server-warmup`: on unless false (as commander hands it over). */
export const notFalse: Parser<boolean> = (value) => value !== false;

/** serve's `--strategy`: one strategy. */
export const serveStrategy: Parser<string> = (value) => {
  const name = String(value);
  if (name.includes(",") || name === "all")
    throw new UsageError(
      "--strategy",
      "names one strategy for a server",
      "Pick one, e.g. --strategy atomic; start several servers on several ports to compare.",
    );
  return name;
};

/** serve's `--port`: 0 picks a free one. */
export const port: Parser<number> = (value) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError("--port", `must be a port number from 0 to 65535 (got ${String(value)})`, "For example: --port 8080 (0 picks a free one).");
  return n;
};

/** serve's `--max-connections`. */
export const maxConnections: Parser<number> = (value) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(
      "--max-connections",
      `must be a whole number ≥ 1 (got ${String(value)})`,
      `For example: --max-connections ${DEFAULT_SERVER_SETTINGS.maxConnections}.`,
    );
  }
  return n;
};

/** serve's `--header-timeout`: from 1 ms to MAX_HEADER_TIMEOUT_MS. */
export const headerTimeout: Parser<number> = (value) => {
  const headerTimeoutText = String(value);
  const ms = parseDurationMs(headerTimeoutText);
  if (ms === undefined || ms < 1 || ms > MAX_HEADER_TIMEOUT_MS) {
    throw new UsageError(
      "--header-timeout",
      `must be a duration from 1ms to ${MAX_HEADER_TIMEOUT_MS / 60_000}m (got ${JSON.stringify(headerTimeoutText)})`,
      "For example: --header-timeout 5s (a client that has not sent its request headers by then gets 408 and is closed).",
    );
  }
  return ms;
};

/** The parser of a lock service's flag (`--redis`, `--etcd`…): the service's own (locks/services/), its problems as UsageError. */
export function lockServiceLocation(name: string): Parser<LockServiceLocation> {
  return (value) => {
    const service = findLockService(name);
    if (!service) throw new Error(`no lock service named ${name}`);
    const location = service.parse(String(value));
    if (isLocationProblem(location)) throw new UsageError(`--${service.flag}`, location.problem, location.fix);
    return Object.freeze(location);
  };
}
