#!/usr/bin/env node
// `node scripts/agents-merge.js [N] [ROUNDS]`: issue 19's target, measured. One `regbench serve --strategy atomic
// --instances 2` on a fresh PostgreSQL schema; then ROUNDS (2) rounds, alternating which goes first, of
//   one agent:   run --target URL -n N -c 64 --systems 100 --workers 2
//   four agents: run --target URL --run ID --agents 4 -n N -c 64 --systems 100 --workers 1 --start-at T
//                (JOB_COMPLETION_INDEX 0…3, started together, as a Kubernetes Indexed Job would), then
//                merge a0.json … a3.json --target URL
// N (20000) is the run's total: the four agents send exactly N over 64 connections between them. Printed per round:
// both TPS, their ratio, both audits and whether the merged succeeded + failed = N; then the pooled ratio (Σ merged /
// Σ one agent). The target: ≥ 0.9 (the merge adds nothing), audits exact. The figures also go to
// results/STAMP-agents-merge.{md,json}. The server is stopped by PID (SIGTERM, then SIGKILL) on every way out,
// Ctrl-C included, its schema dropped and its folder removed. Exit 1 when something could not run. The PostgreSQL
// server: REGBENCH_TEST_POSTGRES (postgres://postgres@127.0.0.1:5432/test). Also used by scripts/bench.js.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { stopChild } from "../dist/src/process/children.js";
import { removeStore } from "../dist/src/store/registry.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = join(root, "bin", "regbench.js");
const POSTGRES_URL = process.env.REGBENCH_TEST_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/test";
export const AGENTS = 4;
export const AGENTS_CONCURRENCY = 64;
export const AGENTS_MERGE_N = 20_000;
export const AGENTS_MERGE_LIMIT = 0.9;
const LOAD = ["-c", String(AGENTS_CONCURRENCY), "--systems", "100"];
// How long the agents get to start up before the common --start-at instant.
const START_DELAY_MS = 3000;
// How long a process gets to stop after SIGTERM before SIGKILL.
const STOP_GRACE_MS = 10_000;

/** The serve command line (shown in the Markdown). */
export const SERVE_ARGS = ["serve", "--strategy", "atomic", "--instances", "2", "--store", "postgres://…?schema=FRESH", "--no-server-warmup"];

/**
 * Ends a child by PID (regbench's own stopChild: SIGTERM, then SIGKILL after the grace); with `group` (the server, in
 * a process group of its own), the whole group gets SIGKILL once the primary is gone, so that no instance outlives it.
 */
async function stop(child, group = false) {
  await stopChild(child, () => child.kill("SIGTERM"), { graceMs: STOP_GRACE_MS, killAfterMs: 0 });
  if (group)
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // the group is gone already
    }
}

/**
 * Starts the server, runs the rounds, stops the server and drops its schema; returns each round's figures and the
 * pooled ratio. `log` gets a line per round as it is measured.
 */
export async function measureAgentsMerge(n = AGENTS_MERGE_N, rounds = 2, log = () => {}) {
  const dir = mkdtempSync(join(tmpdir(), "regbench-agents-"));
  const schema = `rbagents_${randomBytes(4).toString("hex")}`;
  const secrets = join(dir, "secrets.json");
  const children = new Set();
  let server;
  let interrupted;

  /** A regbench process in the folder, tracked until it exits; resolves with its exit code and output. */
  function regbench(args, env = {}, options = {}) {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
      ...options,
    });
    children.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const done = new Promise((resolve) =>
      child.once("close", (code, signal) => {
        children.delete(child);
        resolve({ code, signal, stdout, stderr });
      }),
    );
    return { child, done, stdout: () => stdout, stderr: () => stderr };
  }

  async function checked(args, env) {
    const r = await regbench(args, env).done;
    if (interrupted) throw new Error(`interrupted by ${interrupted}`);
    if (r.code !== 0) throw new Error(`regbench ${args.join(" ")} exited ${r.code ?? r.signal}: ${r.stderr.trim()}`);
    return r;
  }

  let cleaned;
  const cleanup = () =>
    (cleaned ??= (async () => {
      // The agents first (they may still be waiting on the server), then the server, then its schema.
      await Promise.all([...children].filter((c) => c !== server?.child).map((c) => stop(c)));
      if (server) await stop(server.child, true);
      await removeStore({ kind: "postgres", url: POSTGRES_URL, schema });
      rmSync(dir, { recursive: true, force: true });
    })());
  // Ctrl-C (or a kill by PID): the children do not hear a signal sent to this process alone.
  const onSignal = (signal) => {
    interrupted = signal;
    process.stderr.write(`agents-merge: ${signal}: stopping the agents and the server, dropping schema ${schema}…\n`);
    void cleanup().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  // Last resort when the process ends another way: the server's group is killed (the schema cannot be dropped here).
  const onExit = () => {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      try {
        process.kill(-server.child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("exit", onExit);
  try {
    // Its own process group, so that the instances go with it when it must be killed.
    server = regbench(
      [
        "serve",
        "--strategy",
        "atomic",
        "--instances",
        "2",
        "--port",
        "0",
        "--store",
        `${POSTGRES_URL}?schema=${schema}`,
        "--secrets-file",
        secrets,
        "--no-server-warmup",
      ],
      {},
      { detached: true },
    );
    const [, url, secretsFile] = await new Promise((resolve, reject) => {
      server.child.stdout.on("data", () => {
        const match = /drive it: regbench run --target (\S+) --secrets-file (\S+)/.exec(server.stdout());
        if (match) resolve(match);
      });
      void server.done.then((r) => reject(new Error(`regbench serve exited ${r.code ?? r.signal} before listening: ${r.stderr.trim()}`)));
    });
    const target = ["--target", url, "--secrets-file", secretsFile];

    const one = async () => {
      const r = await checked(["run", ...target, "-n", String(n), ...LOAD, "--workers", "2", "--json", "--no-save"]);
      return JSON.parse(r.stdout).results[0];
    };
    const four = async (round) => {
      const run = `agents${round}_${randomBytes(3).toString("hex")}`;
      const startAt = String(Date.now() + START_DELAY_MS);
      const files = Array.from({ length: AGENTS }, (_, i) => join(dir, `a${round}_${i}.json`));
      const args = ["run", ...target, "--run", run, "--agents", String(AGENTS), "-n", String(n), ...LOAD, "--workers", "1", "--start-at", startAt, "--no-save"];
      await Promise.all(files.map((file, i) => checked([...args, "--export-json", file], { JOB_COMPLETION_INDEX: String(i) })));
      const parts = files.map((file) => JSON.parse(readFileSync(file, "utf8")).results[0]);
      const merged = JSON.parse((await checked(["merge", ...files, ...target])).stdout);
      return { merged, parts };
    };

    const results = [];
    for (let k = 0; k < rounds; k++) {
      // Alternated: the store grows by 2 N rows a round, so whichever went first would have the emptier tables.
      const fourFirst = k % 2 === 1;
      let single;
      let agents;
      if (fourFirst) {
        agents = await four(k + 1);
        single = await one();
      } else {
        single = await one();
        agents = await four(k + 1);
      }
      const m = agents.merged.results[0];
      const starts = agents.parts.map((p) => p.startedAt);
      const round = {
        round: k + 1,
        first: fourFirst ? "four agents" : "one agent",
        single: { tps: single.tps, succeeded: single.succeeded, failed: single.failed, audit: single.audit, notes: single.notes },
        merged: {
          tps: m.tps,
          succeeded: m.succeeded,
          failed: m.failed,
          audit: m.audit,
          notes: [...agents.merged.notes, ...m.notes],
          agentTps: agents.parts.map((p) => p.tps),
        },
        ratio: m.tps / single.tps,
        countsExact: m.succeeded + m.failed === n && single.succeeded + single.failed === n,
        // How far apart the agents' measured windows began, and how much longer the merged window is than the longest.
        startSpreadS: (Math.max(...starts) - Math.min(...starts)) / 1000,
        mergedWindowExtraS: (m.durationMs - Math.max(...agents.parts.map((p) => p.durationMs))) / 1000,
      };
      results.push(round);
      log(roundLine(round, n));
    }
    const pooled = results.reduce((t, r) => t + r.merged.tps, 0) / results.reduce((t, r) => t + r.single.tps, 0);
    return { n, rounds: results, pooled, exact: results.every(auditsExact) };
  } finally {
    await cleanup();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("exit", onExit);
  }
}

/** Both audits taken (the merged one from the target, over every agent's rows) with 0 violations, and the counts = N. */
function auditsExact(r) {
  return r.single.audit?.violations === 0 && r.merged.audit?.violations === 0 && r.countsExact;
}

const audit = (a) => (a === null || a === undefined ? "no audit" : `${a.violations} violations`);

/** One round as a line. */
export function roundLine(r, n) {
  return (
    `round ${r.round} (${r.first} first): one agent ${Math.round(r.single.tps)} TPS (${audit(r.single.audit)}); ` +
    `${AGENTS} agents merged ${Math.round(r.merged.tps)} TPS (${audit(r.merged.audit)}, succeeded + failed ${r.merged.succeeded + r.merged.failed} ` +
    `${r.merged.succeeded + r.merged.failed === n ? "= N ✓" : `≠ ${n} ✗`}); ratio ${r.ratio.toFixed(2)}; ` +
    `windows began within ${r.startSpreadS.toFixed(2)} s, merged window ${r.mergedWindowExtraS.toFixed(2)} s longer than the longest agent's`
  );
}

/** The pooled ratio as the final line. */
export function pooledLine(m) {
  return `pooled: Σ merged / Σ one agent = ${m.pooled.toFixed(2)} over ${m.rounds.length} round(s) (target ≥ ${AGENTS_MERGE_LIMIT}, audits exact): ${m.pooled >= AGENTS_MERGE_LIMIT && m.exact ? "✓" : "✗"}`;
}

/** The rounds as a Markdown section. */
export function agentsMergeMarkdown(m) {
  const rows = m.rounds.map(
    (r) =>
      `| ${r.round} | ${r.first} | ${Math.round(r.single.tps)} | ${Math.round(r.merged.tps)} | ${r.ratio.toFixed(2)} | ${audit(r.single.audit)} | ${audit(r.merged.audit)} | ${r.merged.succeeded + r.merged.failed} ${r.countsExact ? "✓" : "✗"} | ${r.startSpreadS.toFixed(2)} |`,
  );
  const notes = [...new Set(m.rounds.flatMap((r) => [...r.single.notes, ...r.merged.notes]))];
  return `$ regbench ${SERVE_ARGS.join(" ")}
$ regbench run --target URL -n ${m.n} ${LOAD.join(" ")} --workers 2   (one agent)
$ regbench run --target URL --run ID --agents ${AGENTS} -n ${m.n} ${LOAD.join(" ")} --workers 1 --start-at T   (×${AGENTS}, JOB_COMPLETION_INDEX 0…${AGENTS - 1}), then regbench merge --target URL

| round | first | one agent TPS | ${AGENTS} agents merged TPS | ratio | one agent's audit | merged audit | merged succeeded + failed | starts within s |
|---|---|---|---|---|---|---|---|---|
${rows.join("\n")}

${pooledLine(m)}
${notes.length ? `notes: ${notes.join("; ")}\n` : ""}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const n = Number(process.argv[2] ?? AGENTS_MERGE_N);
  const rounds = Number(process.argv[3] ?? 2);
  if (!Number.isSafeInteger(n) || n < AGENTS || !Number.isSafeInteger(rounds) || rounds < 1) {
    process.stderr.write(`usage: node scripts/agents-merge.js [N ≥ ${AGENTS}] [ROUNDS ≥ 1] (got ${process.argv.slice(2).join(" ")})\n`);
    process.exit(2);
  }
  try {
    const m = await measureAgentsMerge(n, rounds, (line) => process.stdout.write(`${line}\n`));
    process.stdout.write(`${pooledLine(m)}\n`);
    const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
    const out = join(root, "results");
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, `${stamp}-agents-merge.md`), `# ${AGENTS} agents merged against one agent — ${stamp}\n\n${agentsMergeMarkdown(m)}`);
    writeFileSync(join(out, `${stamp}-agents-merge.json`), `${JSON.stringify(m, null, 2)}\n`);
    process.exitCode = 0;
  } catch (error) {
    process.stderr.write(`agents-merge: ${error.message}\n`);
    process.exitCode = 1;
  }
}
