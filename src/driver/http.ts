import autocannon from "autocannon";
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { auditRun, type Acknowledgement, type AuditResult } from "../audit/audit.js";
import { newServerKey, open } from "../core/crypto.js";
import type { RegisterResponse } from "../core/types.js";
import type { ServeSpec, ServeStats } from "../http/serve.js";
import { rates, type StrategyResult, type Tally } from "../report/result.js";
import { encodeHistogram, newLatencyHistogram, recordMs, summarise } from "../stats/histogram.js";
import type { AuditRows } from "../store/store.js";
import type { RunConfig } from "../workload/config.js";
import { Workload } from "../workload/generator.js";
import { httpClientStrategy } from "./httpClient.js";
import { noiseOf, openLoop, type PacingStats, type RunEvent, type RunHooks } from "./inProcess.js";
import { Timeline } from "../stats/noise.js";

const SERVE_CHILD = new URL("../http/serveChild.js", import.meta.url);

/** A server process started for one strategy of an HTTP run. */
interface EmbeddedServer {
  readonly url: string;
  stop(): Promise<ServeStats>;
}

/** Forks `regbench serve` for one strategy on a free loopback port, on a fresh SQLite file. */
async function startEmbedded(config: RunConfig, strategy: string, workload: Workload, serverKey: Buffer): Promise<EmbeddedServer> {
  const storePath = config.store.kind === "sqlite" ? config.store.path : join(tmpdir(), `regbench-http-${process.pid}-${randomBytes(4).toString("hex")}.db`);
  const spec: ServeSpec = {
    run: config,
    strategy,
    host: "127.0.0.1",
    port: 0,
    instances: config.http.instances,
    storePath,
    projects: workload.projects.map((p) => ({ id: p.id, cidr: p.cidr, key: p.key })),
    serverKey: serverKey.toString("hex"),
    keyPrefix: workload.prefix,
    warmup: config.http.serverWarmup,
  };
  const child = fork(SERVE_CHILD, [], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const removeTemp = () => {
    if (config.store.kind !== "sqlite") for (const s of ["", "-wal", "-shm"]) rmSync(storePath + s, { force: true });
  };
  const url = await new Promise<string>((resolve, reject) => {
    child.once("message", (m: { type: string; url?: string; message?: string }) => (m.type === "listening" ? resolve(m.url!) : reject(new Error(m.message))));
    child.once("exit", (code) => reject(new Error(`the server exited (code ${code}) before listening`)));
    child.send(spec);
  }).catch((error) => {
    removeTemp();
    throw error;
  });
  return {
    url,
    async stop() {
      const stats = await new Promise<ServeStats>((resolve) => {
        child.once("message", (m: { type: string; stats: ServeStats }) => resolve(m.stats));
        child.send({ type: "stop" });
      });
      await new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", () => resolve())));
      removeTemp();
      return stats;
    },
  };
}

/** When a phase's first request went out and its last answer came back (performance.now()). */
interface Window {
  readonly firstSent: number;
  readonly lastDone: number;
}

/**
 * Sends requests [from, to) of the workload with autocannon: exactly that many, `connections` at once, one
 * distinct body each. Latency comes from autocannon's per-response event (fractional milliseconds from hrtime),
 * recorded by regbench in microseconds; bodies of 200 responses become acknowledgements for the audit.
 */
async function fire(
  url: string,
  workload: Workload,
  from: number,
  to: number,
  connections: number,
  onOutcome: (latencyMs: number | undefined, status: number | undefined, kind: string | undefined, ack: Acknowledgement | undefined) => void,
): Promise<Window & { pacing: undefined }> {
  let next = from;
  const amount = to - from;
  if (amount <= 0) return { firstSent: 0, lastDone: 0, pacing: undefined };
  // autocannon calls setupRequest while it is being constructed: everything it touches is declared first.
  let pending: { status: number; body: string; machineId: string } | undefined;
  let firstSent: number | undefined;
  let lastDone = 0;
  const instance = autocannon({
    url: `${url}/v1/register`,
    method: "POST",
    connections: Math.min(connections, amount),
    amount,
    pipelining: 1,
    timeout: 30,
    // autocannon reports "done" on its next sampling tick; a short tick keeps the idle tail short, and the measured
    // window is taken from the first send to the last answer anyway.
    sampleInt: 50,
    headers: { "content-type": "application/json" },
    requests: [
      {
        setupRequest: (req, context) => {
          // Wrap around rather than run out: autocannon builds one request per connection ahead of time.
          const k = next++ - from;
          const request = workload.request(from + (k % amount));
          firstSent ??= performance.now();
          (context as { machineId?: string }).machineId = request.machineId;
          return { ...req, body: JSON.stringify(request) };
        },
        onResponse: (status, body, context) => {
          pending = { status, body, machineId: (context as { machineId: string }).machineId };
        },
      },
    ],
  } as autocannon.Options, (error: Error | null) => {
    if (error) failed(error);
  });
  let failed: (error: Error) => void = () => {};
  // onResponse runs just before the matching 'response' event of the same client.
  instance.on("response", (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    lastDone = performance.now();
    const got = pending;
    pending = undefined;
    if (statusCode === 200 && got) {
      try {
        const response = JSON.parse(got.body) as RegisterResponse;
        return onOutcome(responseTime, statusCode, undefined, { requestMachineId: got.machineId, response });
      } catch {
        return onOutcome(undefined, statusCode, "malformed-response", undefined);
      }
    }
    let kind = `http-${statusCode}`;
    try {
      const parsed = got ? (JSON.parse(got.body) as { error?: unknown }) : undefined;
      if (typeof parsed?.error === "string") kind = parsed.error;
    } catch {
      // a body that is not JSON keeps the status as its kind
    }
    onOutcome(undefined, statusCode, kind, undefined);
  });
  instance.on("reqError", (error: Error) => {
    lastDone = performance.now();
    onOutcome(undefined, undefined, /timed out/.test(error.message) ? "timeout" : "connection-error", undefined);
  });
  await new Promise<void>((resolve, reject) => {
    failed = reject;
    instance.on("done", () => resolve());
  });
  return { firstSent: firstSent ?? 0, lastDone, pacing: undefined };
}

async function fetchAuditRows(url: string, prefix: string): Promise<AuditRows | string> {
  try {
    const res = await fetch(`${url}/v1/audit/rows?run=${encodeURIComponent(prefix)}`);
    if (!res.ok) return `the target answered ${res.status} on GET /v1/audit/rows`;
    const body = (await res.json()) as Partial<AuditRows>;
    if (!Array.isArray(body.systems) || !Array.isArray(body.machines)) return "the target's /v1/audit/rows answer lacks systems or machines";
    return body as AuditRows;
  } catch (error) {
    return `GET /v1/audit/rows failed: ${(error as Error).message}`;
  }
}

/**
 * Measures one strategy over HTTP: its own server process (or the `--target`), autocannon in this process, the
 * audit through the target's /v1/audit/rows. `strategy` is undefined for an external target.
 */
export async function runHttp(config: RunConfig, strategy: string | undefined, hooks: RunHooks = {}): Promise<StrategyResult> {
  const emit = hooks.onEvent ?? ((_: RunEvent) => {});
  const w = config.workload;
  emit({ type: "phase", phase: "setup" });
  const given = config.http.target ? config.http.projects : undefined;
  const workload = new Workload(w, undefined, given);
  const serverKey = config.http.target ? (config.http.serverKey ? Buffer.from(config.http.serverKey, "hex") : undefined) : newServerKey();
  const server = strategy ? await startEmbedded(config, strategy, workload, serverKey!) : undefined;
  const url = server?.url ?? config.http.target!;
  let stats: ServeStats | undefined;
  try {
    const acks: Acknowledgement[] = [];
    if (w.warmup > 0) {
      emit({ type: "phase", phase: "warmup" });
      await fire(url, workload, 0, w.warmup, w.concurrency, (_ms, _status, _kind, ack) => {
        if (ack) acks.push(ack);
      });
    }
    emit({ type: "phase", phase: "measure" });
    const histogram = newLatencyHistogram();
    const tally: Tally = { succeeded: 0, failed: 0, errors: {} };
    const timer = setInterval(() => emit({ type: "progress", done: tally.succeeded + tally.failed, total: w.requests }), hooks.progressEveryMs ?? 100);
    let pacing: PacingStats | undefined;
    let window: Window = { firstSent: 0, lastDone: 0 };
    const timeline = new Timeline();
    const outcome = (ms: number | undefined, kind: string | undefined, ack: Acknowledgement | undefined) => {
      if (ack && ms !== undefined) {
        recordMs(histogram, ms);
        timeline.add(performance.now(), ms);
        tally.succeeded++;
        acks.push(ack);
      } else {
        tally.failed++;
        const k = kind ?? "unknown";
        tally.errors[k] = (tally.errors[k] ?? 0) + 1;
      }
    };
    try {
      if (w.rate !== undefined) {
        // Open loop: regbench's own paced client, latency from each request's due time.
        const client = httpClientStrategy(url, w.concurrency);
        const started = performance.now();
        pacing = await openLoop(client, workload, w.warmup, w.warmup + w.requests, w.rate, w.concurrency, (request, ms, response, error) =>
          outcome(ms, response ? undefined : ((error as { kind?: string }).kind ?? "connection-error"), response && { requestMachineId: request.machineId, response }),
        );
        window = { firstSent: started, lastDone: performance.now() };
        await client.close();
      } else {
        ({ pacing, ...window } = await fire(url, workload, w.warmup, w.warmup + w.requests, w.concurrency, (ms, _status, kind, ack) => outcome(ms, kind, ack)));
      }
    } finally {
      clearInterval(timer);
    }
    // The measured window: from the first request sent to the last answer received, on the wall clock too, so that
    // merged results of several load generators line up.
    const durationMs = Math.max(0, window.lastDone - window.firstSent);
    const startedAt = Date.now() - (performance.now() - window.firstSent);
    emit({ type: "progress", done: w.requests, total: w.requests });
    emit({ type: "phase", phase: "audit" });
    const rows = await fetchAuditRows(url, workload.prefix);
    let audit: AuditResult | null = null;
    let auditNote: string | undefined;
    if (typeof rows === "string") {
      auditNote = `audit n/a: ${rows}`;
    } else {
      // Without the server key the sealed configs cannot be opened: check the IPs only, and say so.
      audit = auditRun(rows, acks, serverKey ? (sealed) => open(sealed, serverKey) : undefined);
      if (!serverKey) auditNote = "configs not opened (no --server-key): lost registrations checked against the stored IPs only";
    }
    if (server) stats = await server.stop();
    return {
      strategy: strategy ?? "target",
      ...rates(tally, durationMs),
      latencyMs: summarise(histogram),
      audit,
      memory: { peakRssMb: stats ? stats.peakRssMb : null },
      histogram: encodeHistogram(histogram),
      strategyStats: stats ? { instances: stats.instances.length, ...(stats.instances.length === 1 ? stats.instances[0]!.strategyStats : {}) } : {},
      store: server ? (config.store.kind === "sqlite" ? config.store.path : "sqlite (temporary file)") : "target",
      resends: workload.resends,
      notes: auditNote ? [auditNote] : [],
      startedAt,
      endedAt: startedAt + durationMs,
      run: workload.prefix,
      noise: noiseOf(timeline, window.firstSent, window.lastDone),
      ...(pacing && w.rate ? { pacing: { targetRate: w.rate, achievedRate: pacing.achievedRate, late: pacing.late } } : {}),
    };
  } finally {
    if (server && !stats) await server.stop().catch(() => undefined);
  }
}
