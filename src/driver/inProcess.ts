import type { NemesisRun } from "./nemeses.js";
import { randomBytes } from "node:crypto";
import { auditRun, RowAudit, type AuditResult } from "../audit/audit.js";
import { readStorePages } from "../audit/storeRows.js";
import { newServerKey } from "../core/crypto.js";
import { defaultServiceSettings, RegistrationService } from "../core/registration.js";
import { lockServiceFault, pauseHook } from "../faults/faults.js";
import type { StrategyResult } from "../report/result.js";
import { describeLocation, openForRun, storeSettings, type RunSite } from "../store/registry.js";
import { strategySettingsFrom } from "../strategies/settings.js";
import { lockServiceOf, type Strategy, type StrategyDefinition } from "../strategies/strategy.js";
import type { RunConfig } from "../config/run.js";
import { Workload } from "../workload/generator.js";
import { mulberry32 } from "../workload/prng.js";
import type { LoopWindow, PacingStats } from "./loops.js";
import { measureWindow } from "./measure.js";
import type { RunEvent } from "../model/events.js";
import { Recorder } from "./recorder.js";

export interface RunHooks {
  readonly onEvent?: (event: RunEvent) => void;
  /** How often progress is reported while measuring. */
  readonly progressEveryMs?: number;
  /** Aborted when the run is interrupted: no request starts afterwards, and the result is marked interrupted. */
  readonly signal?: AbortSignal;
  /** How long requests in flight at an interruption may take to finish before they are abandoned. */
  readonly drainMs?: number;
  /** The run's nemeses (HTTP runs hand them their server's instances, and end them before the server stops). */
  readonly nemeses?: NemesisRun;
}

/** Where one strategy's run keeps what it makes: its ID prefix (its store's namespace, its Redis keys), its temporary folder. */
export interface RunPlace {
  readonly prefix: string;
  readonly tempDir?: string;
}

/**
 * Where a strategy's store is placed: the same answer wherever it is asked, so that the orchestrator can remove what
 * a measuring process that died left behind.
 */
export function runSite(config: RunConfig, strategy: string, place: RunPlace): Omit<RunSite, "tempDir"> & { tempDir?: string } {
  return { prefix: place.prefix, label: config.strategies.length > 1 ? strategy : undefined, tempDir: place.tempDir, keep: config.storeOptions.keep };
}

/** A fresh run prefix: every ID (and Redis key) of the run carries it. */
export function newRunPrefix(): string {
  return `rb${randomBytes(4).toString("hex")}`;
}

/**
 * Measures one strategy in this process on a fresh store: creates the run's projects, runs the warmup, measures
 * the requested registrations, then audits the stored rows against every acknowledgement. Interrupted (the
 * signal), it stops starting requests, gives those in flight a moment, audits and reports what it measured.
 */
export async function runStrategy(
  definition: StrategyDefinition,
  config: RunConfig,
  hooks: RunHooks = {},
  place: RunPlace = { prefix: newRunPrefix() },
): Promise<StrategyResult> {
  const emit = hooks.onEvent ?? (() => {});
  const { workload: w } = config;
  emit({ type: "phase", phase: "setup" });
  const opened = await openForRun(
    config.store,
    runSite(config, definition.name, place),
    storeSettings(definition.constraints, config.storeOptions.pool, config.storeOptions.isolation),
    w.dbLatencyMs,
  );
  const { store } = opened;
  try {
    const workload = new Workload(w, place.prefix);
    // Projects are created on the undelayed store: setup is not part of the measurement.
    for (const project of workload.projects) await store.createProject(project);
    const serverKey = newServerKey();
    const pause = config.faults.find((f) => f.kind === "pause");
    const service = new RegistrationService(store, defaultServiceSettings(serverKey, pause && pauseHook(pause, mulberry32(w.seed ^ 0xfa17))));
    const strategy = definition.create(service, strategySettingsFrom(config, definition, workload.prefix));
    try {
      const recorder = new Recorder(serverKey);
      let measured: Awaited<ReturnType<typeof measure>>;
      try {
        measured = await measure(config, hooks, strategy, workload, recorder, lockServiceFault(config.faults, lockServiceOf(definition)));
        emit({ type: "phase", phase: "audit" });
        await recorder.acks.finish();
      } finally {
        recorder.acks.dispose();
      }
      const { window, pacing } = measured;
      // SQLite iterates its rows; a database server's are read page by page; never a run's rows at once.
      const acks = () => recorder.acks.entries((i) => workload.machineIdOf(i));
      let audit: AuditResult;
      if (store.auditRowsLazily || !store.auditPage) {
        audit = auditRun(
          store.auditRowsLazily ? await store.auditRowsLazily(workload.prefix) : await store.auditRows(workload.prefix),
          acks(),
          workload.ownMachines(),
        );
      } else {
        const rows = new RowAudit(workload.ownMachines());
        await readStorePages(store as typeof store & Required<Pick<typeof store, "auditPage">>, workload.prefix, rows);
        audit = rows.result(acks());
      }
      return {
        strategy: definition.name,
        state: hooks.signal?.aborted ? "interrupted" : "completed",
        ...recorder.figures(window),
        audit,
        memory: { peakRssMb: process.resourceUsage().maxRSS / 1024 },
        strategyStats: { ...strategy.stats(), ...store.stats?.() },
        store: `${describeLocation(opened.placement.location)}${opened.placement.temporary ? " (removed after the run)" : " (kept)"}`,
        resends: workload.resends,
        notes: window.abandoned > 0 ? [`interrupted with ${window.abandoned} registration(s) in flight; their outcomes are not counted`] : [],
        run: workload.prefix,
        ...(pacing && w.rate !== undefined ? { pacing: { targetRate: w.rate!, achievedRate: pacing.achievedRate, late: pacing.late } } : {}),
      };
    } finally {
      await strategy.close();
    }
  } finally {
    await opened.dispose();
  }
}

/** The warmup, then the measured window; a lock-service fault is timed from its start. */
async function measure(
  config: RunConfig,
  hooks: RunHooks,
  strategy: Strategy,
  workload: Workload,
  recorder: Recorder,
  serviceDown: { readonly atMs: number } | undefined,
): Promise<{ window: LoopWindow; pacing?: PacingStats }> {
  const register = (request: Parameters<Strategy["register"]>[0]) => strategy.register(request);
  let cut: NodeJS.Timeout | undefined;
  try {
    return await measureWindow(register, (i) => workload.request(i), config.workload, recorder, {
      emit: hooks.onEvent,
      progressEveryMs: hooks.progressEveryMs,
      control: { signal: hooks.signal, drainMs: hooks.drainMs },
      onMeasureStart: () => {
        if (serviceDown && strategy.cutLockService) cut = setTimeout(() => strategy.cutLockService!(), serviceDown.atMs);
      },
    });
  } finally {
    if (cut) clearTimeout(cut);
  }
}
