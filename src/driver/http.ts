import { randomBytes } from "node:crypto";
import { RowAudit, type AuditResult, type RowSink } from "../audit/audit.js";
import { describeAuditDb, readAuditDb } from "../audit/auditDb.js";
import { readAuditPages } from "../audit/remoteRows.js";
import { newServerKey } from "../core/crypto.js";
import type { ServeSpec } from "../http/serve.js";
import type { InstanceDeath } from "../faults/nemesis.js";
import { lockServiceFault } from "../faults/faults.js";
import { findStrategy } from "../strategies/registry.js";
import { lockServiceOf } from "../strategies/strategy.js";
import { DEFAULT_SERVER_SETTINGS } from "../http/server.js";
import type { StrategyResult } from "../report/result.js";
import { describeLocation, placeForRun, removeStore, type Placement } from "../store/registry.js";
import { makeTempDir, type TempDir } from "../store/tempDir.js";
import type { RunConfig } from "../config/run.js";
import { Workload } from "../workload/generator.js";
import { startEmbedded, type EmbeddedServer } from "./embeddedServer.js";
import { proxyServices, type ProxiedSpec } from "./serviceProxies.js";
import { CannotRunError, InterruptedError } from "./errors.js";
import { generateHttp } from "./httpGenerator.js";
import { newRunPrefix, runSite, type RunHooks, type RunPlace } from "./inProcess.js";
import type { RunEvent } from "../model/events.js";
import type { TargetCheck } from "./targetProbe.js";

/** How long the audit rows may take to come back, at most, however long `--timeout` is. */
const AUDIT_TIMEOUT_MS = 30_000;

/** What an HTTP run is given beyond the hooks of any run. */
export interface HttpRunHooks extends RunHooks {
  /**
   * The probe of an external target, still under way while the load-generator threads start: no request is sent
   * before it resolves, and its rejection (the target cannot be load-tested) is the run's.
   */
  readonly target?: Promise<TargetCheck>;
}

/** Waits until `at` (epoch ms), or until `signal` aborts; returns how late the wait began past `at` (0 if early). */
async function waitUntil(at: number, signal: AbortSignal | undefined): Promise<number> {
  const ms = at - Date.now();
  if (ms <= 0) return -ms;
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
  return 0;
}

/** The spec of the server process started for one strategy: a fresh store, placed as an in-process run's would be. */
function embeddedSpec(
  config: RunConfig,
  strategy: string,
  workload: Workload,
  serverKey: Buffer,
  auditToken: string,
  placement: Placement,
  tempDir: string,
): ServeSpec {
  return {
    ...(placement.temporary ? { temporary: { tempDir } } : {}),
    run: config,
    strategy,
    host: "127.0.0.1",
    port: 0,
    instances: config.http.instances,
    store: placement.location,
    projects: workload.projects.map((p) => ({ id: p.id, cidr: p.cidr, key: p.key })),
    serverKey: serverKey.toString("hex"),
    auditToken,
    locks: { runPrefix: workload.prefix },
    warmup: config.http.serverWarmup,
    // The load generator's own connections must fit.
    maxConnections: Math.max(DEFAULT_SERVER_SETTINGS.maxConnections, config.workload.concurrency + 64),
  };
}

/**
 * Measures one strategy over HTTP: its own server process (or the `--target`), regbench's HTTP client in this
 * process (closed or open loop, each request timed out after `--timeout`, each answer checked), the audit through
 * the target's /v1/audit/rows. `strategy` is undefined for an external target. A server that dies during the run
 * fails the strategy with the reason.
 */
export async function runHttp(
  config: RunConfig,
  strategy: string | undefined,
  hooks: HttpRunHooks = {},
  place: RunPlace = { prefix: newRunPrefix() },
): Promise<StrategyResult> {
  const emit = hooks.onEvent ?? ((_: RunEvent) => {});
  const w = config.workload;
  const name = strategy ?? "target";
  emit({ type: "phase", phase: "setup" });
  const target = config.http.target;
  // An agent of a run sends machines of its own (`RUN-aI-m…`) on the run's shared systems (`RUN-s…`).
  const agent = config.http.agent;
  const workload = new Workload(w, agent ? `${agent.run}-a${agent.index}` : place.prefix, target ? config.http.projects : undefined, agent?.run);
  const profile = config.http.profile;
  // Only a sealed config is opened with the server key (the options refuse a key for any other check).
  const sealed = (profile?.config.check ?? "sealed") === "sealed";
  const serverKey = target ? (config.http.serverKey && sealed ? Buffer.from(config.http.serverKey, "hex") : undefined) : newServerKey();
  const auditToken = target ? config.http.auditToken : randomBytes(24).toString("base64url");
  let server: EmbeddedServer | undefined;
  // Called without the run's temporary folder (a test, say), the server's temporary store gets one of its own.
  const ownTemp: TempDir | undefined = strategy && !place.tempDir ? makeTempDir() : undefined;
  const tempDir = place.tempDir ?? ownTemp?.path ?? "";
  const placement = strategy ? placeForRun(config.store, { ...runSite(config, strategy, place), tempDir }) : undefined;
  const spec = strategy ? embeddedSpec(config, strategy, workload, serverKey!, auditToken!, placement!, tempDir) : undefined;
  // A temporary store goes with its server.
  const removeServerStore = async () => {
    if (placement?.temporary) await removeStore(placement.location);
    ownTemp?.remove();
  };
  // A network nemesis of the run: the instances reach the services it names through fault proxies.
  const wanted = strategy ? hooks.nemeses?.proxiedServices() : undefined;
  let proxied: ProxiedSpec | undefined;
  if (strategy) {
    try {
      if (wanted?.size) {
        proxied = await proxyServices(spec!, wanted);
        for (const [service, proxies] of proxied.proxies) hooks.nemeses!.attachProxies(service, proxies);
      }
      server = await startEmbedded(proxied?.spec ?? spec!, strategy, hooks.signal);
    } catch (error) {
      await proxied?.stop();
      await removeServerStore();
      if (error instanceof InterruptedError) throw error;
      throw new CannotRunError(strategy, "worker", `its server did not start: ${(error as Error).message}`);
    }
  }
  if (server) hooks.nemeses?.attachInstances(server);
  const url = server?.url ?? target!;
  const serviceDown = strategy ? lockServiceFault(config.faults, lockServiceOf(findStrategy(strategy))) : undefined;
  let cut: NodeJS.Timeout | undefined;
  try {
    // The load stops when the run is interrupted, or when the server dies under it (the strategy then fails).
    const stops = [hooks.signal, server?.gone].filter((s): s is AbortSignal => s !== undefined);
    const control = { signal: stops.length ? AbortSignal.any(stops) : undefined, drainMs: hooks.drainMs };
    const lateMs = config.http.startAt !== undefined ? await waitUntil(config.http.startAt, control.signal) : 0;
    const { recorder, window, pacing } = await generateHttp(
      {
        url,
        client: { connections: w.concurrency, timeoutMs: config.http.timeoutMs, requireConfig: serverKey !== undefined },
        workload: w,
        prefix: workload.prefix,
        ...(agent ? { systemPrefix: agent.run } : {}),
        projects: workload.projects.map((p) => ({ id: p.id, key: p.key })),
        serverKey: serverKey?.toString("hex"),
        ...(profile ? { profile } : {}),
        progressEveryMs: hooks.progressEveryMs ?? 100,
      },
      config.http.workers,
      control,
      emit,
      () => {
        if (serviceDown && server) cut = setTimeout(() => server!.cutLockService(), serviceDown.atMs);
      },
      hooks.target,
    );
    if (cut) clearTimeout(cut);
    // The threads made the requests: decide this workload's sources as far as they went, so `resends` counts them.
    workload.extend((w.warmupMs !== undefined ? 0 : w.warmup) + recorder.done + window.abandoned);
    try {
      await recorder.acks.finish();
    } finally {
      recorder.acks.dispose();
    }
    hooks.nemeses?.end();
    const died = server?.died();
    if (died) throw new CannotRunError(name, "worker", `the server ${died} during the measurement`);
    const figures = recorder.figures(window);
    // A target that proved silent (the probe's request and every registration went unanswered) is given no longer
    // for its audit rows than for a registration: waiting 2 s or more for them would add rounds to a run of timeouts.
    const silent =
      (await hooks.target)?.silent === true && figures.succeeded === 0 && figures.failed > 0 && Object.keys(figures.errors).every((kind) => kind === "timeout");
    const auditTimeoutMs = Math.min(AUDIT_TIMEOUT_MS, silent ? config.http.timeoutMs : Math.max(config.http.timeoutMs, 2000));
    const startedAt = Number.isFinite(window.firstSent) ? performance.timeOrigin + window.firstSent : Date.now();
    const instanceDeaths: InstanceDeath[] = (server?.instanceExits() ?? []).map((e) => {
      const nemesis = hooks.nemeses?.killedBy(e.pid);
      return { instance: e.index + 1, pid: e.pid, atMs: Math.round(e.at - startedAt), reason: e.reason, ...(nemesis ? { nemesis } : {}) };
    });

    emit({ type: "phase", phase: "audit" });
    let audit: AuditResult | null = null;
    const notes: string[] = [];
    if (agent && agent.of > 1)
      notes.push(
        `agent ${agent.index}/${agent.of} of run ${agent.run}: duplicate systems counted over the run's shared systems as of this agent's audit (others may still be writing); regbench merge --audit-db or --target audits the whole run once`,
      );
    if (lateMs > 1000)
      notes.push(`the load started ${(lateMs / 1000).toFixed(1)} s after --start-at (this agent was ready late): its window does not line up with the others'`);
    // An agent reads the run's rows: its own machines, and the systems every agent of the run shares.
    const auditRun = agent ? agent.run : workload.prefix;
    const own = `${workload.prefix}-`;
    const sink = (rowAudit: RowAudit): RowSink =>
      agent
        ? {
            system: (projectId, systemUuid) => rowAudit.system(projectId, systemUuid),
            machine: (m) => {
              if (m.machineId.startsWith(own)) rowAudit.machine(m);
            },
          }
        : rowAudit;
    // The sources of the rows, in order: the service's own database, then the target's audit endpoint.
    const tried: string[] = [];
    const auditDb = config.http.auditDb;
    if (auditDb && profile?.audit) {
      const rowAudit = new RowAudit(workload.ownMachines());
      const failed = await readAuditDb(auditDb, profile.audit, auditRun, sink(rowAudit));
      if (failed === undefined) audit = rowAudit.result(recorder.acks.entries((i) => workload.machineIdOf(i)));
      else tried.push(`--audit-db ${describeAuditDb(auditDb)}: ${failed}`);
    }
    for (const d of instanceDeaths) {
      notes.push(
        `server instance #${d.instance} (pid ${d.pid}) ${d.reason} ${(d.atMs / 1000).toFixed(1)} s into the measured window${d.nemesis ? ` (nemesis ${d.nemesis})` : " — no nemesis asked for it"}`,
      );
    }
    if (!audit) {
      const rowAudit = new RowAudit(workload.ownMachines());
      const failed = await readAuditPages({ url, token: auditToken, timeoutMs: auditTimeoutMs }, auditRun, sink(rowAudit));
      if (failed !== undefined) {
        tried.push(failed);
        if (!auditDb && target) tried.push("no --audit-db given");
        notes.push(`audit n/a: ${tried.join("; ")}`);
      } else {
        audit = rowAudit.result(recorder.acks.entries((i) => workload.machineIdOf(i)));
        if (tried.length) notes.push(`audit from GET /v1/audit/rows: ${tried.join("; ")}`);
      }
    }
    // Without the server key the sealed configs cannot be opened: check the IPs only, and say so.
    if (audit && sealed && !serverKey) notes.push("configs not opened (no --server-key): lost registrations checked against the stored IPs only");
    if (audit && profile?.config.check === "none")
      notes.push("configs not checked (the profile's config check is none): lost registrations checked against the stored IPs only");
    if (window.abandoned > 0) notes.push(`interrupted with ${window.abandoned} registration(s) in flight; their outcomes are not counted`);
    const stats = server ? await server.stop() : undefined;
    return {
      strategy: name,
      state: hooks.signal?.aborted ? "interrupted" : "completed",
      ...figures,
      audit,
      memory: { peakRssMb: stats?.peakRssMb ?? null },
      strategyStats: stats ? { instances: stats.instances.length, ...(stats.instances.length === 1 ? stats.instances[0]!.strategyStats : {}) } : {},
      store: placement ? `${describeLocation(placement.location)}${placement.temporary ? " (removed after the run)" : " (kept)"}` : "target",
      resends: workload.resends,
      notes,
      ...(instanceDeaths.length ? { instanceDeaths } : {}),
      run: workload.prefix,
      ...(agent ? { agent: { run: agent.run, index: agent.index, of: agent.of } } : {}),
      ...(pacing && w.rate ? { pacing: { targetRate: w.rate, achievedRate: pacing.achievedRate, late: pacing.late } } : {}),
    };
  } finally {
    if (cut) clearTimeout(cut);
    // A frozen instance is thawed before its server is asked to stop.
    hooks.nemeses?.end();
    await server?.stop();
    await proxied?.stop();
    await removeServerStore();
  }
}
