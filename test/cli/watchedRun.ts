import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { RunReport, StrategyResult } from "../../src/report/result.js";
import { BIN, descendants, stillAlive } from "../helpers.js";

/**
 * Runs `regbench run … --json` as a user would, watching every process below it (by PID, every 100 ms) and giving
 * it a TMPDIR of its own: after it exits, no process it started may be alive and no temporary folder left behind.
 */
export async function watchedRun(
  args: readonly string[],
  during?: (pids: readonly number[], stderr: string) => void,
): Promise<{ code: number | null; report: RunReport; stderr: string }> {
  const tmp = mkdtempSync(join(tmpdir(), "regbench-nemesis-test-"));
  try {
    const child = spawn(process.execPath, [BIN, "run", "--no-save", "--json", ...args], {
      cwd: tmp,
      env: { ...process.env, NO_COLOR: "1", TMPDIR: tmp },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const seen = new Set<number>();
    const watch = setInterval(() => {
      const now = descendants(child.pid!);
      for (const pid of now) seen.add(pid);
      during?.(now, stderr);
    }, 100);
    const timer = setTimeout(() => child.kill("SIGKILL"), 150_000);
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    clearInterval(watch);
    clearTimeout(timer);
    assert.ok(seen.size > 0, "the run started processes of its own (its server, its measuring process)");
    // A process's children may take a moment to be reaped after it exits; poll for their death.
    for (let i = 0; i < 50 && stillAlive([...seen]).length > 0; i++) await sleep(100);
    assert.deepEqual(stillAlive([...seen]), [], `processes left behind: ${stderr}`);
    // The run's own folder (its temporary store, a throwaway server's data) is gone; the cwd holds nothing new.
    assert.deepEqual(
      readdirSync(tmp).filter((f) => f.startsWith("regbench")),
      [],
      "no temporary folder left behind",
    );
    assert.ok(stdout.trim().startsWith("{"), `a JSON report (exit ${code}): ${stderr}`);
    return { code, report: JSON.parse(stdout) as RunReport, stderr };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export const result = (report: RunReport, strategy: string): StrategyResult => {
  const r = report.results.find((x) => x.strategy === strategy);
  assert.ok(r, `${strategy} has a result (failed: ${JSON.stringify(report.failed)})`);
  return r;
};
