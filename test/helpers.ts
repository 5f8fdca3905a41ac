import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { keyDigest } from "../src/core/crypto.js";
import type { RegisterRequest } from "../src/core/types.js";
import type { NewProject } from "../src/store/store.js";
import type { RunConfig, WorkloadConfig } from "../src/config/run.js";

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
    http: { workers: 1, target: undefined, projects: [], serverKey: undefined, instances: 1, serverWarmup: true, timeoutMs: 10_000, auditToken: undefined },
    scenario: undefined,
    workload: { requests: 400, concurrency: 100, warmup: 0, systems: 1, projects: 1, resend: 0, dbLatencyMs: 0, seed: 7, cidr: "10.0.0.0/16", ...workload },
    strategy: { lockKey: undefined, lockTimeoutMs: 30_000, shards: 16, retries: 30, lockNesting: false },
    store: { kind: "sqlite", path: undefined },
    storeOptions: { keep: false, pool: undefined, isolation: undefined },
    locks: { ttlMs: 10_000, waitMs: 30_000, watchdog: true, batch: 64 },
    lockServices: {
      redis: { urls: [process.env.REGBENCH_TEST_REDIS ?? "redis://127.0.0.1:6379"], autoMembers: 1 },
      etcd: { urls: [process.env.REGBENCH_TEST_ETCD ?? "http://127.0.0.1:2379"], autoMembers: 1 },
    },
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

/** Every process below `pid` (children, their children…), by PID, read from ps. */
export function descendants(pid: number): number[] {
  const out = spawnSync("ps", ["-eo", "pid=,ppid="], { encoding: "utf8" }).stdout;
  const children = new Map<number, number[]>();
  for (const line of out.split("\n")) {
    const [p, pp] = line.trim().split(/\s+/).map(Number);
    if (!p || pp === undefined) continue;
    children.set(pp, [...(children.get(pp) ?? []), p]);
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      found.push(c);
      walk(c);
    }
  };
  walk(pid);
  return found;
}

/**
 * The PIDs of `pids` that are still running. A zombie (exited, not yet reaped — an orphan waits for PID 1 to reap
 * it, which on some machines takes a while) is not running.
 */
export function stillAlive(pids: readonly number[]): number[] {
  return pids.filter((p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
    } catch {
      return false;
    }
  });
}

/**
 * Runs bin/regbench without blocking this process's event loop (a server this test file runs must keep answering);
 * returns its exit code, output and how long it took.
 */
export function regbenchAsync(
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? scratch(),
      env: { ...process.env, NO_COLOR: "1", ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 180_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}
