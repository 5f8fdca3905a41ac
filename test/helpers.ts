import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { keyDigest } from "../src/core/crypto.js";
import type { RegisterRequest } from "../src/core/types.js";
import type { NewProject } from "../src/store/store.js";
import type { RunConfig, WorkloadConfig } from "../src/workload/config.js";

/** A temporary directory removed when the test file ends. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "regbench-test-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const PROJECT_KEY = "correct horse battery staple";

export function project(id = "t-p0", cidr = "10.1.0.0/24"): NewProject {
  return { id, name: `project ${id}`, cidr, keyDigest: keyDigest(PROJECT_KEY), relayNodes: ["relay-1.test:3478"] };
}

export function request(i: number, overrides: Partial<RegisterRequest> = {}): RegisterRequest {
  return {
    projectId: "t-p0",
    key: PROJECT_KEY,
    systemUuid: "t-s0",
    systemName: "system 0",
    machineId: `t-m${i}`,
    peerId: `peer-${i}`,
    hostname: `host-${i}`,
    arch: "x86_64",
    distro: "debian 12",
    kernelVersion: "6.1.0",
    ...overrides,
  };
}

/** A complete run config for tests: one strategy, a small workload on a fresh SQLite file, Redis at the default URL. */
export function runConfig(strategy: string, workload: Partial<WorkloadConfig> = {}, over: Partial<RunConfig> = {}): RunConfig {
  return {
    strategies: [strategy],
    selection: "explicit",
    mode: "in-process",
    http: { target: undefined, projects: [], serverKey: undefined, instances: 1, serverWarmup: true },
    scenario: undefined,
    workload: { requests: 400, concurrency: 100, warmup: 0, systems: 1, projects: 1, resend: 0, dbLatencyMs: 0, seed: 7, cidr: "10.0.0.0/16", ...workload },
    strategy: { lockKey: undefined, lockTimeoutMs: 30_000, shards: 16, retries: 30 },
    store: { kind: "sqlite-temp" },
    redis: { urls: [process.env.REGBENCH_TEST_REDIS ?? "redis://127.0.0.1:6379"], ttlMs: 10_000, waitMs: 30_000, watchdog: true, lockBatch: 64 },
    faults: [],
    runs: 1,
    ...over,
  };
}

/** The real CLI entry point. */
export const BIN = fileURLToPath(new URL("../../bin/regbench.js", import.meta.url));

/**
 * Runs bin/regbench in a scratch working directory (so saved results land there, not in the checkout), without
 * colour; returns its exit code and output.
 */
export function regbench(args: readonly string[], opts: { cwd?: string; timeoutMs?: number } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    cwd: opts.cwd ?? scratch(),
    env: { ...process.env, NO_COLOR: "1" },
    timeout: opts.timeoutMs ?? 180_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Made when this module loads, so that it belongs to the whole test file (a dir made inside a test would be
// removed when that test ends).
const scratchDir = tempDir();
function scratch(): string {
  return scratchDir;
}
