import cluster from "node:cluster";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { keyDigest } from "../core/crypto.js";
import { defaultServiceSettings, RegistrationService } from "../core/registration.js";
import { strategySettingsFrom } from "../driver/inProcess.js";
import { pauseHook } from "../faults/faults.js";
import { withLatency } from "../store/latency.js";
import { DEFAULT_SQLITE_SETTINGS, SqliteStore } from "../store/sqlite.js";
import { findStrategy } from "../strategies/registry.js";
import type { RunConfig } from "../workload/config.js";
import { mulberry32 } from "../workload/prng.js";
import { createRegistrationServer } from "./server.js";
import { warmUp } from "./warmup.js";

/** A project a server is started with; its key in clear, since the server stores only the digest. */
export interface ServedProject {
  readonly id: string;
  readonly cidr: string;
  readonly key: string;
}

/** Everything a server process needs, as plain data that crosses a process boundary. */
export interface ServeSpec {
  readonly run: RunConfig;
  readonly strategy: string;
  readonly host: string;
  readonly port: number;
  readonly instances: number;
  /** The SQLite file every instance shares (WAL, busy timeout). */
  readonly storePath: string;
  readonly projects: readonly ServedProject[];
  /** AES-256 key sealing the configs, hex. */
  readonly serverKey: string;
  /** Redis keys of this server go under it. */
  readonly keyPrefix: string;
  /** Warm the code paths on a scratch store before listening (see warmup.ts). */
  readonly warmup: boolean;
}

/** What a server reports when it stops. */
export interface ServeStats {
  /** Sum over the instances of each one's peak RSS. */
  readonly peakRssMb: number;
  readonly instances: readonly { readonly pid: number; readonly peakRssMb: number; readonly strategyStats: Readonly<Record<string, unknown>> }[];
}

export interface RunningServer {
  readonly url: string;
  stop(): Promise<ServeStats>;
}

function constraintsOf(spec: ServeSpec): boolean {
  const definition = findStrategy(spec.strategy);
  if (!definition) throw new Error(`unknown strategy ${spec.strategy}`);
  return definition.constraints;
}

/** Creates the schema and the projects once, before any instance opens the file. */
async function prepareStore(spec: ServeSpec): Promise<void> {
  const store = new SqliteStore({ ...DEFAULT_SQLITE_SETTINGS, path: spec.storePath, constraints: constraintsOf(spec) });
  try {
    for (const p of spec.projects) {
      if (!(await store.getProject(p.id))) {
        await store.createProject({ id: p.id, name: `project ${p.id}`, cidr: p.cidr, keyDigest: keyDigest(p.key), relayNodes: [`relay-1.${p.id}.regbench.internal:3478`] });
      }
    }
  } finally {
    await store.close();
  }
}

/** One instance: the store, the strategy and the HTTP server, in this process. */
export async function startInstance(spec: ServeSpec, port: number): Promise<{ port: number; stop(): Promise<ServeStats["instances"][number]> }> {
  const definition = findStrategy(spec.strategy)!;
  const raw = new SqliteStore({ ...DEFAULT_SQLITE_SETTINGS, path: spec.storePath, constraints: definition.constraints });
  const store = withLatency(raw, spec.run.workload.dbLatencyMs);
  const pause = spec.run.faults.find((f) => f.kind === "pause");
  const service = new RegistrationService(
    store,
    defaultServiceSettings(Buffer.from(spec.serverKey, "hex"), pause && pauseHook(pause, mulberry32(spec.run.workload.seed ^ process.pid))),
  );
  const settings = strategySettingsFrom(spec.run, definition, spec.keyPrefix);
  if (spec.warmup) await warmUp(definition, settings, Buffer.from(spec.serverKey, "hex"));
  const strategy = definition.create(service, settings);
  const server = createRegistrationServer({ strategy, store, strategyName: definition.name });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, spec.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const strategyStats = strategy.stats();
      await strategy.close();
      await raw.close();
      return { pid: process.pid, peakRssMb: process.resourceUsage().maxRSS / 1024, strategyStats };
    },
  };
}

const WORKER = fileURLToPath(new URL("./serveWorker.js", import.meta.url));

/**
 * Starts `spec.instances` server instances sharing one SQLite file: in this process when there is one, as
 * node cluster workers on one port otherwise. Resolves once every instance listens.
 */
export async function serve(spec: ServeSpec): Promise<RunningServer> {
  await prepareStore(spec);
  if (spec.instances <= 1) {
    const instance = await startInstance(spec, spec.port);
    return {
      url: `http://${spec.host}:${instance.port}`,
      async stop() {
        const one = await instance.stop();
        return { peakRssMb: one.peakRssMb, instances: [one] };
      },
    };
  }
  cluster.setupPrimary({ exec: WORKER, args: [], silent: false });
  const workers = Array.from({ length: spec.instances }, () => cluster.fork({ REGBENCH_SERVE_SPEC: JSON.stringify(spec) }));
  const ports = await Promise.all(
    workers.map(
      (worker) =>
        new Promise<number>((resolve, reject) => {
          worker.once("message", (m: { type: string; port?: number; message?: string }) =>
            m.type === "listening" ? resolve(m.port!) : reject(new Error(m.message ?? "an instance failed to start")),
          );
          worker.once("exit", (code) => reject(new Error(`an instance exited (code ${code}) before listening`)));
        }),
    ),
  );
  return {
    url: `http://${spec.host}:${ports[0]}`,
    async stop() {
      const instances = await Promise.all(
        workers.map(
          (worker) =>
            new Promise<ServeStats["instances"][number]>((resolve) => {
              worker.once("message", (m: { type: string; stats: ServeStats["instances"][number] }) => resolve(m.stats));
              worker.send({ type: "stop" });
            }),
        ),
      );
      await Promise.all(workers.map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once("exit", () => resolve())))));
      return { peakRssMb: instances.reduce((t, i) => t + i.peakRssMb, 0), instances };
    },
  };
}
