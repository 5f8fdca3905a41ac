import type { DistributedLock } from "../lease.js";
import type { LockSettings } from "../settings.js";

/**
 * A lock service as a plug-in: everything regbench knows of Redis, etcd or any other one is in its `LockService`
 * object, which `registry.ts` lists. The pre-flight, the option parsing, the faults and the orchestrator's clean-up
 * loop over the registry; none of them names a service.
 */

/** Where a run finds a service, as its flag gave it: URLs, or `auto` (the default URL if it answers, else throwaway servers). */
export interface LockServiceLocation {
  readonly urls: readonly string[] | "auto";
  /** With `auto`: how many throwaway members to start when none answers (1 unless the flag says `auto:N`). */
  readonly autoMembers: number;
}

/** Where one strategy's locks live in a service: its URLs (resolved) and the prefix every key of the run starts with. */
export interface LockServiceSettings {
  readonly urls: readonly string[];
  readonly keyPrefix: string;
  /** The service is restarted during the run (a nemesis): its clients keep reconnecting to it. */
  readonly restarted?: boolean;
}

/** A flag's value that cannot be used: what is wrong with it and how to fix it (the CLI makes it a UsageError). */
export interface LocationProblem {
  readonly problem: string;
  readonly fix: string;
}

/** What the strategies needing a service ask of it at pre-flight. */
export interface ServiceNeed {
  /** Names of the strategies of the run that lock in it. */
  readonly strategies: readonly string[];
  /** Those that lock over every URL (a quorum of independent nodes). */
  readonly overAllNodes: readonly string[];
  /** A nemesis restarts the service: the run must start its own (it never restarts one it did not start). */
  readonly ownServer: boolean;
}

/** A throwaway cluster regbench started, as the member nemeses act on it (by PID). */
export interface ThrowawayCluster {
  readonly urls: readonly string[];
  readonly pids: readonly number[];
  restartMember(index: number): Promise<number>;
}

/** The pre-flight's answer for one service: the URLs to use, or why there are none; what to stop after the run. */
export interface PreparedService {
  readonly urls?: readonly string[];
  /** Set when the service cannot be had: how to get one (exit 3, or a skip note under `--strategy all`). */
  readonly problem?: string;
  readonly notes: readonly string[];
  /** Restarts the (first) server regbench started for the run (the restart nemesis). */
  readonly restart?: () => Promise<void>;
  /** The throwaway cluster regbench started for the run. */
  readonly cluster?: ThrowawayCluster;
  stop(): Promise<void>;
}

/** What distinguishes the locks strategies take in one service. */
export interface LockRequest {
  /** Over every URL with a quorum (Redlock), or over the first only. */
  readonly nodes: "one" | "all";
  /** Hand out a fencing token with the lock. */
  readonly fencing: boolean;
  /** A reentrant lock (the holder may take it again); a service without one ignores it. */
  readonly reentrant?: boolean;
  readonly random: () => number;
  /** Delete every key under the prefix at close; false for a lock namespace other servers share. */
  readonly cleanUp: boolean;
}

export interface LockService {
  /** The name strategies declare in `needs.lockService` (`redis`, `etcd`). */
  readonly name: string;
  /** As people write it, in messages (`Redis`). */
  readonly title: string;
  /** The option that locates it, without dashes (`redis` for `--redis`). */
  readonly flag: string;
  /** That option's help line (what the URLs are, what `auto` does). */
  readonly optionHelp: string;
  readonly defaultUrls: readonly string[];
  /** The `--fault NAME:AT_MS` that cuts a strategy's connection to it part-way (`redis-down`). */
  readonly faultName: string;
  /** What that fault does, for the report (`the first Redis node is cut off`). */
  readonly cutDescription: string;
  /** Parses the flag's value (`auto`, URLs); a problem the CLI reports as a bad flag. */
  parse(text: string): LockServiceLocation | LocationProblem;
  /** The location as the report's config shows it (passwords masked by the caller). */
  show(location: LockServiceLocation): string;
  /** Probes every URL, or starts throwaway servers for `auto`; a problem says how to get one. */
  prepare(location: LockServiceLocation, need: ServiceNeed): Promise<PreparedService>;
  /** Every key of a run starts with this. */
  keyPrefix(runPrefix: string): string;
  /** Every key under a lock namespace that servers share starts with this. */
  namespacePrefix(namespace: string): string;
  /** Deletes every key under `keyPrefix` (a run's, whose process may have been killed); a service gone holds nothing. */
  removeKeys(urls: readonly string[], keyPrefix: string): Promise<void>;
  /** The lock strategies take in it. */
  createLock(where: LockServiceSettings, settings: LockSettings, request: LockRequest): DistributedLock;
}

export function isLocationProblem(value: LockServiceLocation | LocationProblem): value is LocationProblem {
  return "problem" in value;
}

/** A comma list of URLs, each checked; a problem names the first bad one. */
export function parseUrlList(
  text: string,
  check: (url: string) => string | undefined,
  empty: LocationProblem,
  badFix: string,
): LockServiceLocation | LocationProblem {
  const urls = text
    .split(",")
    .map((u) => u.trim())
    .filter(Boolean);
  if (urls.length === 0) return empty;
  for (const url of urls) {
    const problem = check(url);
    if (problem) return { problem: `has ${problem}`, fix: badFix };
  }
  return { urls: Object.freeze(urls), autoMembers: 1 };
}

/** Where a run's locations put `service`: as its flag gave it, or, when the run names none, the service's defaults. */
export function locationOf(locations: Readonly<Record<string, LockServiceLocation>>, service: LockService): LockServiceLocation {
  return locations[service.name] ?? { urls: service.defaultUrls, autoMembers: 1 };
}
