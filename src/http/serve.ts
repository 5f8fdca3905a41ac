import cluster, { type Worker } from "node:cluster";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { keyDigest } from "../core/crypto.js";
import { StoreError } from "../core/errors.js";
import { defaultServiceSettings, RegistrationService } from "../core/registration.js";
import { pauseHook } from "../faults/faults.js";
import { describeExit, exited, secretsUnset, sendTo, stopChild } from "../process/children.js";
import { describeLocation, openStore, storeSettings, type StoreLocation } from "../store/registry.js";
import { findStrategy } from "../strategies/registry.js";
import { strategySettingsFrom } from "../strategies/settings.js";
import type { RunConfig } from "../config/run.js";
import { mulberry32 } from "../workload/prng.js";
import { createRegistrationServer, DEFAULT_SERVER_SETTINGS } from "./server.js";
import { warmUp } from "./warmup.js";

/** A project a server is started with; its key in clear, since the server stores only the digest. */
export interface ServedProject {
  readonly id: string;
  readonly cidr: string;
  readonly key: string;
}

/**
 * Everything a server process needs, as plain data that crosses a process boundary — over IPC only: it carries
 * the project keys, the sealing key and the audit token, which must not be seen in an environment or a command line.
 */
export interface ServeSpec {
  readonly run: RunConfig;
  readonly strategy: string;
  readonly host: string;
  readonly port: number;
  readonly instances: number;
  /** Where every instance opens the store (a SQLite file in WAL mode, a schema on a database server). */
  readonly store: StoreLocation;
  /** Set when the store is its caller's temporary one: a server orphaned by its parent removes it. */
  readonly temporary?: { readonly tempDir: string };
  readonly projects: readonly ServedProject[];
  /** AES-256 key sealing the configs, hex. */
  readonly serverKey: string;
  /** The bearer token of GET /v1/audit/rows. */
  readonly auditToken: string;
  /**
   * Where the lock keys (Redis, etcd) go: under a run's own prefix (its embedded servers; the run deletes them), or
   * under a lock namespace that every server on the store shares (`regbench serve`; left in place at stop).
   */
  readonly locks: { readonly runPrefix: string } | { readonly namespace: string };
  /** Warm the code paths on a scratch store before listening (see warmup.ts). */
  readonly warmup: boolean;
  /** Connections each instance accepts before it answers 503. */
  readonly maxConnections: number;
  /** A request's headers must arrive within this (408 after); the server's default when absent. */
  readonly headerTimeoutMs?: number;
}

/** One instance's figures, as it reports them when it stops. */
export interface InstanceStats {
  readonly pid: number;
  readonly peakRssMb: number;
  readonly strategyStats: Readonly<Record<string, unknown>>;
}

/** What a server reports when it stops. */
export interface ServeStats {
  /** Sum over the instances of each one's peak RSS; null when an instance could not report (it died). */
  readonly peakRssMb: number | null;
  readonly instances: readonly InstanceStats[];
}

export interface RunningServer {
  readonly url: string;
  /** What the operator must know: keys of a kept store that were replaced. */
  readonly notes: readonly string[];
  /** Cuts every instance's connection to the first Redis node (the redis-down fault). */
  cutLockService(): void;
  /** The PID of each instance, in order (instance #1 first); 0 for one that died and was not replaced. */
  instancePids(): readonly number[];
  /**
   * Arms (or disarms) the pause nemesis in every instance: the first registration of an armed instance to reach
   * its write (its reads done, its lock held) stops the whole instance with SIGSTOP; the run sends SIGCONT.
   */
  armPause(on: boolean): void;
  /** Starts a new instance in the place of instance `index` (0-based), on the same port; resolves to its PID. */
  restartInstance(index: number): Promise<number>;
  stop(): Promise<ServeStats>;
}

/** What a server tells its caller while it runs: its instances' PIDs, and an instance that died unasked. */
export interface ServeEvents {
  /** Where the server's error lines go (the process's entry point decides: the core never prints). */
  log?(line: string): void;
  onInstances?(pids: readonly number[]): void;
  onInstanceExit?(exit: { readonly index: number; readonly pid: number; readonly reason: string; readonly at: number }): void;
}

/** How the server's strategy wants its store opened. */
function settingsOf(spec: ServeSpec) {
  const definition = findStrategy(spec.strategy);
  if (!definition) throw new Error(`unknown strategy ${spec.strategy}`);
  return storeSettings(definition.constraints, spec.run.storeOptions.pool, spec.run.storeOptions.isolation);
}

/**
 * Creates the schema and the projects once, before any instance opens the file. A kept store's project follows the
 * key it is started with (the stored digest is replaced: never a silently stale key); a project whose pool differs
 * is refused, since its rows were allocated from the old pool. Returns what changed, for the operator.
 */
export async function prepareStore(spec: ServeSpec): Promise<string[]> {
  const store = await openStore(spec.store, settingsOf(spec));
  const changes: string[] = [];
  try {
    for (const p of spec.projects) {
      const existing = await store.getProject(p.id);
      const digest = keyDigest(p.key);
      if (!existing) {
        await store.createProject({
          id: p.id,
          name: `project ${p.id}`,
          cidr: p.cidr,
          keyDigest: digest,
          relayNodes: [`relay-1.${p.id}.regbench.internal:3478`],
        });
      } else if (existing.cidr !== p.cidr) {
        throw new StoreError(
          `project ${p.id} exists in ${describeLocation(spec.store)} with the pool ${existing.cidr}, not ${p.cidr}: its machines hold addresses of the old pool. Start with --cidr ${existing.cidr}, or use a new store`,
        );
      } else if (!Buffer.from(existing.keyDigest).equals(digest)) {
        await store.updateProjectKey(p.id, digest);
        changes.push(`project ${p.id}: the stored key was replaced by the one given now; the old key is refused`);
      }
    }
  } finally {
    await store.close();
  }
  return changes;
}

/** One instance: the store, the strategy and the HTTP server, in this process. */
export async function startInstance(
  spec: ServeSpec,
  port: number,
  log: (line: string) => void,
): Promise<{ port: number; cutLockService(): void; armPause(on: boolean): void; stop(): Promise<InstanceStats> }> {
  const definition = findStrategy(spec.strategy)!;
  const store = await openStore(spec.store, settingsOf(spec), spec.run.workload.dbLatencyMs);
  const pause = spec.run.faults.find((f) => f.kind === "pause");
  const stall = pause && pauseHook(pause, mulberry32(spec.run.workload.seed ^ process.pid));
  // The pause nemesis freezes the instance where the Kleppmann case needs it: reads done, lock held, write not yet
  // made. SIGSTOP to itself, synchronously: nothing of this process runs until the run sends SIGCONT.
  let armed = false;
  const freezable = (spec.run.nemeses ?? []).some((n) => n.kind === "pause-instance" && n.instance === undefined);
  const beforeWrite = freezable
    ? async () => {
        if (armed) {
          armed = false;
          process.kill(process.pid, "SIGSTOP");
        }
        if (stall) await stall();
      }
    : stall;
  const service = new RegistrationService(store, defaultServiceSettings(Buffer.from(spec.serverKey, "hex"), beforeWrite));
  const settings =
    "namespace" in spec.locks
      ? strategySettingsFrom(spec.run, definition, "", spec.locks.namespace)
      : strategySettingsFrom(spec.run, definition, spec.locks.runPrefix);
  if (spec.warmup) await warmUp(definition, settings, Buffer.from(spec.serverKey, "hex"));
  const strategy = definition.create(service, settings);
  const server = createRegistrationServer({
    strategy,
    store,
    strategyName: definition.name,
    auditToken: spec.auditToken,
    log,
    settings: {
      ...DEFAULT_SERVER_SETTINGS,
      maxConnections: spec.maxConnections,
      headerTimeoutMs: spec.headerTimeoutMs ?? DEFAULT_SERVER_SETTINGS.headerTimeoutMs,
      // A request waiting for its lock sends nothing: the idle timeout must outlast the longest wait.
      idleTimeoutMs: Math.max(DEFAULT_SERVER_SETTINGS.idleTimeoutMs, 2 * spec.run.strategy.lockTimeoutMs, 2 * spec.run.locks.waitMs),
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, spec.host, () => resolve());
  });
  let stopped: Promise<InstanceStats> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    cutLockService: () => strategy.cutLockService?.(),
    armPause: (on) => {
      armed = on && freezable;
    },
    stop() {
      stopped ??= (async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        const strategyStats = { ...strategy.stats(), ...store.stats?.() };
        await strategy.close();
        await store.close();
        return { pid: process.pid, peakRssMb: process.resourceUsage().maxRSS / 1024, strategyStats };
      })();
      return stopped;
    },
  };
}

const WORKER = fileURLToPath(new URL("./serveWorker.js", import.meta.url));

/** Messages between the primary and its cluster workers. */
export type InstanceMessage =
  | { readonly type: "ready" }
  | { readonly type: "listening"; readonly port: number }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "stats"; readonly stats: InstanceStats };

/** Asks one cluster worker to stop and collects its stats; a worker that died or does not answer is stopped by PID. */
async function stopWorker(worker: Worker): Promise<InstanceStats | undefined> {
  let stats: InstanceStats | undefined;
  worker.on("message", (m: InstanceMessage) => {
    if (m.type === "stats") stats = m.stats;
  });
  await stopChild(worker.process, () => sendTo(worker.process, { type: "stop" }), { graceMs: 4000, killAfterMs: 1000 });
  return stats;
}

/** Thrown by `serve` when its signal aborts the start: every instance it started has exited. */
export class StartAbortedError extends Error {
  constructor() {
    super("stopped while starting");
  }
}

/** Starts one cluster worker with the spec and resolves to the port it listens on; `signal` aborts the wait. */
function startWorker(worker: Worker, spec: ServeSpec, signal?: AbortSignal): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    worker.on("message", (m: InstanceMessage) => {
      if (m.type === "ready") sendTo(worker.process, { type: "spec", spec });
      else if (m.type === "listening") resolve(m.port);
      else if (m.type === "failed") reject(new Error(m.message));
    });
    void exited(worker.process).then(() => reject(new Error(`an instance exited (${worker.process.exitCode ?? worker.process.signalCode}) before listening`)));
    if (signal?.aborted) reject(new StartAbortedError());
    signal?.addEventListener("abort", () => reject(new StartAbortedError()), { once: true });
  });
}

/**
 * Starts `spec.instances` server instances sharing one store: in this process when there is one, as
 * node cluster workers on one port otherwise (each gets the spec over IPC). Resolves once every instance listens.
 * An instance that dies while the server runs is told to `events` (the others go on), and can be replaced.
 * `signal` aborts the start: the instances started so far are stopped, and it rejects with StartAbortedError once
 * every one of them has exited — never leaving a worker to find its primary gone.
 */
export async function serve(spec: ServeSpec, events: ServeEvents = {}, signal?: AbortSignal): Promise<RunningServer> {
  const notes = await prepareStore(spec);
  if (signal?.aborted) throw new StartAbortedError();
  const url = (port: number) => `http://${spec.host.includes(":") ? `[${spec.host}]` : spec.host}:${port}`;
  if (spec.instances <= 1) {
    // Without a log from the caller (a test), the server's error lines are dropped.
    const instance = await startInstance(spec, spec.port, events.log ?? (() => {}));
    if (signal?.aborted) {
      await instance.stop();
      throw new StartAbortedError();
    }
    events.onInstances?.([process.pid]);
    return {
      notes,
      url: url(instance.port),
      cutLockService: () => instance.cutLockService(),
      instancePids: () => [process.pid],
      armPause: (on) => instance.armPause(on),
      restartInstance: () => Promise.reject(new Error("a server of one instance cannot replace itself")),
      async stop() {
        const one = await instance.stop();
        return { peakRssMb: one.peakRssMb, instances: [one] };
      },
    };
  }
  cluster.setupPrimary({ exec: WORKER, args: [], silent: false });
  // The secrets reach the workers over IPC (in the spec), never through an inherited environment.
  const workers = Array.from({ length: spec.instances }, () => cluster.fork(secretsUnset()));
  let stopping = false;
  const pids = () => workers.map((w) => (w.process.exitCode === null && w.process.signalCode === null ? (w.process.pid ?? 0) : 0));
  const watch = (worker: Worker, index: number) =>
    void exited(worker.process).then(() => {
      if (!stopping && workers[index] === worker) {
        events.onInstanceExit?.({
          index,
          pid: worker.process.pid ?? 0,
          reason: describeExit(worker.process.exitCode, worker.process.signalCode),
          at: Date.now(),
        });
        events.onInstances?.(pids());
      }
    });
  const stopAll = async () => {
    stopping = true;
    return (await Promise.all(workers.map(stopWorker))).filter((s): s is InstanceStats => s !== undefined);
  };
  let ports: number[];
  try {
    ports = await Promise.all(workers.map((worker) => startWorker(worker, spec, signal)));
  } catch (error) {
    if (error instanceof StartAbortedError) {
      // A worker still starting may not read IPC yet (a message sent before its listener is dropped): SIGTERM,
      // which it answers by exiting (or dies of, before its handler exists).
      await Promise.all(workers.map((w) => stopChild(w.process, () => w.process.kill("SIGTERM"), { graceMs: 2000, killAfterMs: 1000 })));
    } else {
      await stopAll();
    }
    throw error;
  }
  workers.forEach(watch);
  events.onInstances?.(pids());
  return {
    notes,
    url: url(ports[0]!),
    cutLockService: () => workers.forEach((w) => sendTo(w.process, { type: "cut-lock-service" })),
    instancePids: pids,
    armPause: (on) => workers.forEach((w) => sendTo(w.process, { type: on ? "arm-pause" : "disarm-pause" })),
    async restartInstance(index) {
      const old = workers[index];
      if (!old) throw new Error(`there is no instance #${index + 1}`);
      // The old one is killed first: a replacement is what a supervisor starts after a crash, never a second copy.
      if (old.process.exitCode === null && old.process.signalCode === null) {
        old.process.kill("SIGKILL");
        await exited(old.process);
      }
      const worker = cluster.fork(secretsUnset());
      workers[index] = worker;
      // A replacement starts cold, as one a supervisor starts after a crash does.
      await startWorker(worker, { ...spec, warmup: false });
      watch(worker, index);
      events.onInstances?.(pids());
      return worker.process.pid ?? 0;
    },
    async stop() {
      const instances = await stopAll();
      const complete = instances.length === workers.length;
      return { peakRssMb: complete ? instances.reduce((t, i) => t + i.peakRssMb, 0) : null, instances };
    },
  };
}
