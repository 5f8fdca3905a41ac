import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { NETWORK_NEMESES, SERVICE_NAMES, serviceOf, type Nemesis, type NemesisWindow, type ProxiedService } from "../faults/nemesis.js";
import { PASS, type FaultProxy, type ProxyMode } from "../faults/proxy.js";
import { killConnections, type StoreLocation } from "../store/registry.js";

/** The server instances of an HTTP run, as a nemesis drives them (an EmbeddedServer). */
export interface InstanceControl {
  instancePids(): readonly number[];
  instanceExits(): readonly { readonly index: number; readonly pid: number; readonly reason: string; readonly at: number }[];
  armPause(on: boolean): void;
  restartInstance(index: number): Promise<number>;
}

/** What the nemeses of one strategy's run can reach. */
export interface NemesisTargets {
  /** The run's store, whose sessions kill-connections:store ends. */
  readonly store?: StoreLocation;
  /** Restarts the Redis regbench started for the run. */
  readonly restartRedis?: () => Promise<void>;
  /** The throwaway etcd cluster regbench started for the run (`--etcd auto:3`): its members' client URLs and PIDs. */
  readonly etcdCluster?: EtcdClusterTarget;
}

/** A throwaway etcd cluster as the member nemeses see it. */
export interface EtcdClusterTarget {
  readonly urls: readonly string[];
  readonly pids: readonly number[];
  /** PIDs of the members a nemesis killed and that are not running again yet. */
  readonly dead: Set<number>;
  /** Starts member `index` (0-based) again on its data; resolves to its new PID. */
  restartMember(index: number): Promise<number>;
}

/** How long a killed etcd member may take to start again after the measured window. */
const MEMBER_RESTART_MS = 15_000;

/**
 * The index of the etcd cluster's leader, asked of every live member's status (etcd's gRPC gateway on loopback,
 * POST /v3/maintenance/status): the member whose own ID is the leader's it reports.
 */
export async function etcdLeader(urls: readonly string[], alive: (index: number) => boolean): Promise<number | undefined> {
  const statuses = await Promise.all(
    urls.map(async (url, index) => {
      if (!alive(index)) return undefined;
      try {
        const answer = await fetch(`${url.replace(/\/$/, "")}/v3/maintenance/status`, { method: "POST", body: "{}", signal: AbortSignal.timeout(1000) });
        const status = (await answer.json()) as { header?: { member_id?: string }; leader?: string };
        return { index, self: status.header?.member_id, leader: status.leader };
      } catch {
        return undefined;
      }
    }),
  );
  return statuses.find((s) => s !== undefined && s.self !== undefined && s.self === s.leader)?.index;
}

/** How long an armed pause waits for an instance to freeze itself in a critical section before it picks one. */
const ARMED_WAIT_MS = 1000;

/** Whether a process is stopped (SIGSTOP), from /proc: the run must know it froze, not assume it. */
function isStopped(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "T";
  } catch {
    return false;
  }
}

function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

/** One nemesis's record while it runs. */
interface Entry {
  readonly nemesis: Nemesis;
  startMs: number | null;
  endMs: number | null;
  applied: boolean;
  detail: string;
}

/**
 * The nemeses of one strategy's run: each strikes at its time from the start of the measured window (`start`), and
 * every one is over when the window is (`end`): a frozen instance is thawed, no timer is left. Windows and the
 * instances they killed are read back with `finish`.
 */
export class NemesisRun {
  private started: number | undefined;
  /** The same instant on the wall clock, to place the windows on the measured window's own clock. */
  private startedEpoch: number | undefined;
  private over = false;
  private readonly ending = new AbortController();
  private readonly entries: Entry[];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly pending: Promise<void>[] = [];
  /** PIDs a nemesis froze and has not thawed yet. */
  private readonly frozen = new Set<number>();
  /** PID → the nemesis that killed it. */
  private readonly killed = new Map<number, string>();
  private instances: InstanceControl | undefined;
  /** The fault proxies between the instances and each service they reach through one. */
  private proxies = new Map<ProxiedService, readonly FaultProxy[]>();
  /** etcd members killed in this window, started again when it is over (the next strategy finds the whole cluster). */
  private readonly killedMembers: { entry: Entry; index: number; pid: number }[] = [];
  /** The modes of the network nemeses active on each service, oldest first. */
  private readonly active = new Map<ProxiedService, ProxyMode[]>();

  constructor(
    nemeses: readonly Nemesis[],
    private readonly targets: NemesisTargets,
  ) {
    this.entries = nemeses.map((nemesis) => ({ nemesis, startMs: null, endMs: null, applied: false, detail: "not reached: the measured window ended first" }));
  }

  /** The services whose connections a network nemesis of the run disturbs: the instances reach them through a proxy. */
  proxiedServices(): ReadonlySet<ProxiedService> {
    return new Set(this.entries.map((e) => serviceOf(e.nemesis)).filter((s): s is ProxiedService => s !== undefined));
  }

  /** The fault proxies the instances reach `service` through (HTTP runs whose strategy uses it). */
  attachProxies(service: ProxiedService, proxies: readonly FaultProxy[]): void {
    this.proxies.set(service, proxies);
  }

  /** The server whose instances the instance nemeses act on (HTTP runs). */
  attachInstances(control: InstanceControl): void {
    this.instances = control;
  }

  private now(): number {
    return Math.round(performance.now() - (this.started ?? performance.now()));
  }

  /** The measured window starts: every nemesis is scheduled from now; `windowMs` (`--duration`) ends them at its end. */
  start(windowMs?: number): void {
    if (this.started !== undefined || this.over) return;
    this.started = performance.now();
    // On the clock the recorder's window is on (timeOrigin + performance.now()), not Date.now(), which steps.
    this.startedEpoch = performance.timeOrigin + this.started;
    if (windowMs !== undefined) this.timers.push(setTimeout(() => this.end(), windowMs));
    for (const entry of this.entries) {
      this.timers.push(
        setTimeout(() => {
          if (this.over) return;
          const done = this.strike(entry).catch((error: Error) => {
            entry.applied = false;
            entry.detail = `failed: ${error.message}`;
          });
          this.pending.push(done);
        }, entry.nemesis.atMs),
      );
    }
  }

  /** The measured window is over: nothing more strikes, and a frozen instance is thawed now. */
  end(): void {
    if (this.over) return;
    this.over = true;
    this.ending.abort();
    for (const t of this.timers) clearTimeout(t);
    this.thawAll();
  }

  /**
   * Ends the nemeses (see `end`), waits for a restart under way, and tells what each did, in ms from `windowStart`
   * (epoch ms: the result's `startedAt`, its first request), where the timeline's seconds start too.
   */
  async finish(windowStart?: number): Promise<NemesisWindow[]> {
    this.end();
    await Promise.all(this.pending);
    this.thawAll();
    await this.restartMembers();
    const shift = windowStart !== undefined && this.startedEpoch !== undefined ? this.startedEpoch - windowStart : 0;
    const at = (ms: number | null) => (ms === null ? null : Math.round(ms + shift));
    return this.entries.map((e) => ({ spec: e.nemesis.spec, startMs: at(e.startMs), endMs: at(e.endMs), applied: e.applied, detail: e.detail }));
  }

  /** Starts the etcd members killed in this window again, on their data, and says so in their nemesis's detail. */
  private async restartMembers(): Promise<void> {
    const cluster = this.targets.etcdCluster;
    for (const { entry, index, pid } of this.killedMembers.splice(0)) {
      if (!cluster) break;
      let timer: NodeJS.Timeout | undefined;
      try {
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`it did not start within ${MEMBER_RESTART_MS} ms`)), MEMBER_RESTART_MS);
        });
        const replacement = await Promise.race([cluster.restartMember(index), timeout]);
        cluster.dead.delete(pid);
        entry.detail += `; started again on its data (pid ${replacement}) once the measured window was over`;
      } catch (error) {
        entry.detail += `; could not be started again (${(error as Error).message}): it stays dead for the rest of the run`;
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /** The nemesis that killed the process `pid`, if one did. */
  killedBy(pid: number): string | undefined {
    return this.killed.get(pid);
  }

  private thawAll(): void {
    // Every partition heals, every delay ends: the audit reads the rows through the same proxies.
    for (const proxies of this.proxies.values()) for (const proxy of proxies) proxy.setMode(PASS);
    for (const entry of this.entries) if (NETWORK_NEMESES.includes(entry.nemesis.kind) && entry.applied && entry.endMs === null) entry.endMs = this.now();
    for (const pid of this.frozen) signal(pid, "SIGCONT");
    // An armed instance may have frozen itself after the pause gave up waiting: thaw whatever is stopped.
    for (const pid of this.instances?.instancePids() ?? []) if (pid > 0 && isStopped(pid)) signal(pid, "SIGCONT");
    for (const entry of this.entries)
      if ((entry.nemesis.kind === "pause-instance" || entry.nemesis.kind === "pause-etcd-leader") && entry.applied && entry.endMs === null)
        entry.endMs = this.now();
    this.frozen.clear();
  }

  private requireInstances(): InstanceControl {
    if (!this.instances) throw new Error("the run has no server instances");
    return this.instances;
  }

  /** The PID of instance `which` (1-based), or of the last one alive. */
  private pick(which: number | undefined): { index: number; pid: number } {
    const pids = this.requireInstances().instancePids();
    if (which !== undefined) {
      const pid = pids[which - 1] ?? 0;
      if (pid <= 0) throw new Error(`instance #${which} is not running`);
      return { index: which - 1, pid };
    }
    for (let i = pids.length - 1; i >= 0; i--) if (pids[i]! > 0) return { index: i, pid: pids[i]! };
    throw new Error("no instance is running");
  }

  private async strike(entry: Entry): Promise<void> {
    const n = entry.nemesis;
    switch (n.kind) {
      case "pause-instance":
        return this.pause(entry, n);
      case "kill-instance": {
        const { index, pid } = this.pick(n.instance);
        this.killed.set(pid, n.spec);
        entry.startMs = entry.endMs = this.now();
        entry.applied = signal(pid, "SIGKILL");
        entry.detail = `killed instance #${index + 1} (pid ${pid}) with SIGKILL`;
        return;
      }
      case "restart-instance": {
        const { index, pid } = this.pick(n.instance);
        this.killed.set(pid, n.spec);
        entry.startMs = this.now();
        const replacement = await this.requireInstances().restartInstance(index);
        entry.endMs = this.now();
        entry.applied = true;
        entry.detail = `killed instance #${index + 1} (pid ${pid}) with SIGKILL; a new one (pid ${replacement}) listened ${entry.endMs - entry.startMs} ms later`;
        return;
      }
      case "restart-redis": {
        if (!this.targets.restartRedis) throw new Error("the run has no Redis of its own to restart");
        entry.startMs = this.now();
        await this.targets.restartRedis();
        entry.endMs = this.now();
        entry.applied = true;
        entry.detail = `redis-server killed (SIGKILL) and started again, empty, on its port; it answered ${entry.endMs - entry.startMs} ms later`;
        return;
      }
      case "kill-connections-store": {
        if (!this.targets.store) throw new Error("the run has no database server store");
        entry.startMs = this.now();
        const ended = await killConnections(this.targets.store);
        entry.endMs = this.now();
        entry.applied = ended > 0;
        entry.detail = `the database ended ${ended} session(s) of the run`;
        return;
      }
      case "partition":
        return this.network(entry, n.service, { kind: "blackhole" }, n.durationMs);
      case "latency":
        return this.network(entry, n.service, { kind: "latency", ms: n.delayMs }, n.durationMs);
      case "reset":
        return this.network(entry, n.service, { kind: "reset" }, n.durationMs);
      case "kill-etcd-member":
        return this.killEtcdMember(entry, n.member);
      case "pause-etcd-leader":
        return this.pauseEtcdLeader(entry, n.durationMs);
    }
  }

  /** Sleeps `ms`, or less when the measured window ends first. */
  private async hold(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.ending.signal }).catch(() => undefined);
  }

  /**
   * Puts every proxy to `service` in `mode` for `durationMs` (0: a reset of the open connections, at once), then
   * back to passing bytes; the end of the measured window heals it too.
   */
  private async network(entry: Entry, service: ProxiedService, mode: ProxyMode, durationMs: number): Promise<void> {
    const proxies = this.proxies.get(service) ?? [];
    if (proxies.length === 0) {
      entry.detail = `this strategy does not use ${SERVICE_NAMES[service]}`;
      return;
    }
    const before = proxies.map((p) => p.stats());
    const open = before.reduce((t, s) => t + s.open, 0);
    // Overlapping nemeses on one service: the latest rules, and when it ends the one still active before it does.
    const active = this.active.get(service) ?? [];
    this.active.set(service, active);
    active.push(mode);
    entry.startMs = this.now();
    for (const proxy of proxies) proxy.setMode(mode);
    entry.applied = true;
    const where = `${proxies.length} proxy(ies) to ${SERVICE_NAMES[service]} (${proxies.map((p) => `127.0.0.1:${p.port} → ${p.upstream.host}:${p.upstream.port}`).join(", ")})`;
    if (mode.kind === "blackhole") entry.detail = `${where} delivered nothing for ${durationMs} ms; ${open} connection(s) held open`;
    else if (mode.kind === "latency") entry.detail = `${where} delayed every chunk by ${mode.ms} ms each way for ${durationMs} ms`;
    if (durationMs > 0) await this.hold(durationMs);
    active.splice(active.indexOf(mode), 1);
    if (!this.over) for (const proxy of proxies) proxy.setMode(active.at(-1) ?? PASS);
    if (entry.endMs === null) entry.endMs = this.now();
    if (mode.kind === "reset") {
      const reset = proxies.reduce((t, p, i) => t + p.stats().reset - before[i]!.reset, 0);
      entry.detail = `${where} reset ${reset} connection(s) with a TCP RST${durationMs > 0 ? `, new ones included, for ${durationMs} ms` : ""}`;
    }
  }

  private requireEtcd(): NonNullable<NemesisTargets["etcdCluster"]> {
    if (!this.targets.etcdCluster) throw new Error("the run has no etcd cluster of its own");
    return this.targets.etcdCluster;
  }

  /** The member to strike: `which` (1-based), or the leader; with its index and PID. */
  private async etcdMember(which: number | undefined): Promise<{ index: number; pid: number; leader: boolean }> {
    const cluster = this.requireEtcd();
    const alive = (i: number) => !cluster.dead.has(cluster.pids[i]!);
    const leader = await etcdLeader(cluster.urls, alive);
    if (which !== undefined) {
      if (!alive(which - 1)) throw new Error(`etcd member #${which} is already dead`);
      return { index: which - 1, pid: cluster.pids[which - 1]!, leader: leader === which - 1 };
    }
    if (leader === undefined) throw new Error("no etcd member says it is the leader (the cluster has no quorum, or is electing one)");
    return { index: leader, pid: cluster.pids[leader]!, leader: true };
  }

  private async killEtcdMember(entry: Entry, which: number | undefined): Promise<void> {
    const cluster = this.requireEtcd();
    const dead = cluster.pids.filter((pid) => cluster.dead.has(pid)).length;
    // A member more would leave no quorum: the cluster would be gone, not degraded (an earlier strategy's kill).
    if (dead + 1 > Math.floor((cluster.pids.length - 1) / 2)) {
      entry.detail = `${dead} of ${cluster.pids.length} etcd members already dead; one more would take the quorum`;
      return;
    }
    const { index, pid, leader } = await this.etcdMember(which);
    entry.startMs = entry.endMs = this.now();
    entry.applied = signal(pid, "SIGKILL");
    if (entry.applied) {
      cluster.dead.add(pid);
      this.killedMembers.push({ entry, index, pid });
    }
    entry.detail = `killed etcd member #${index + 1} (pid ${pid}${leader ? ", the leader" : ""}) with SIGKILL`;
  }

  private async pauseEtcdLeader(entry: Entry, durationMs: number): Promise<void> {
    const { index, pid } = await this.etcdMember(undefined);
    if (this.over || !signal(pid, "SIGSTOP")) {
      entry.detail = this.over ? "not applied: the measured window ended first" : `not applied: etcd member #${index + 1} (pid ${pid}) could not be stopped`;
      return;
    }
    this.frozen.add(pid);
    entry.startMs = this.now();
    entry.applied = true;
    entry.detail = `etcd member #${index + 1} (pid ${pid}), the leader, stopped (SIGSTOP); SIGCONT after ${durationMs} ms`;
    await this.hold(durationMs);
    if (this.frozen.delete(pid)) signal(pid, "SIGCONT");
    if (entry.endMs === null) entry.endMs = this.now();
  }

  /**
   * Freezes an instance for `durationMs`. Named (`#N`), that one at once. Otherwise every instance is armed, and the
   * first registration to reach its write — reads done, lock held — stops its own process (SIGSTOP): the pause hits
   * a lock holder, the case the nemesis exists for. If none does within a second (a strategy without that path),
   * the last instance is stopped where it stands, and the detail says so.
   */
  private async pause(entry: Entry, n: Extract<Nemesis, { kind: "pause-instance" }>): Promise<void> {
    const control = this.requireInstances();
    let victims: number[] = [];
    let how: string;
    if (n.instance !== undefined) {
      const { pid } = this.pick(n.instance);
      if (signal(pid, "SIGSTOP")) victims = [pid];
      how = "stopped where it stood";
    } else {
      control.armPause(true);
      const deadline = performance.now() + ARMED_WAIT_MS;
      while (!this.over && performance.now() < deadline) {
        victims = control.instancePids().filter((pid) => pid > 0 && isStopped(pid));
        if (victims.length) break;
        await sleep(2);
      }
      control.armPause(false);
      how = "froze itself inside a critical section (reads done, lock held, write not yet made)";
      if (victims.length === 0 && !this.over) {
        const { pid } = this.pick(undefined);
        if (signal(pid, "SIGSTOP")) victims = [pid];
        how = `stopped where it stood: no instance reached a write within ${ARMED_WAIT_MS} ms`;
      }
    }
    if (victims.length === 0 || this.over) {
      for (const pid of victims) signal(pid, "SIGCONT");
      entry.detail = this.over ? "not applied: the measured window ended first" : "not applied: no instance could be stopped";
      return;
    }
    for (const pid of victims) this.frozen.add(pid);
    entry.startMs = this.now();
    entry.applied = true;
    const pids = control.instancePids();
    entry.detail = `instance ${victims.map((pid) => `#${pids.indexOf(pid) + 1} (pid ${pid})`).join(", ")} ${how}; SIGCONT after ${n.durationMs} ms`;
    // The window may end first: `end` thaws every frozen instance then.
    await this.hold(n.durationMs);
    for (const pid of victims) {
      if (this.frozen.delete(pid)) signal(pid, "SIGCONT");
    }
    if (entry.endMs === null) entry.endMs = this.now();
  }
}
