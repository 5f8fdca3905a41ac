import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, test } from "node:test";
import { etcdOnPath } from "../../src/etcd/autoServer.js";
import { createRedisClient } from "../../src/redis/client.js";
import { BIN, descendants, stillAlive, tempDir } from "../helpers.js";
import { REDIS_URL, skipWithoutRedis } from "../redisEnv.js";

/** A regbench process whose output is collected as it comes, with its own TMPDIR so its temporary files can be counted. */
interface Running {
  readonly child: ChildProcess;
  readonly tmp: string;
  stdout(): string;
  stderr(): string;
  /** Resolves when stderr (or stdout) matches. */
  waitFor(pattern: RegExp, stream?: "stdout" | "stderr", timeoutMs?: number): Promise<void>;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

const started: ChildProcess[] = [];
after(() => {
  // Whatever a failed assertion left running is stopped by PID, with its whole tree.
  for (const child of started) for (const pid of [child.pid!, ...descendants(child.pid!)]) stillAlive([pid]).forEach((p) => process.kill(p, "SIGKILL"));
});

function start(args: readonly string[], opts: { detached?: boolean; cwd?: string } = {}): Running {
  const tmp = tempDir();
  const cwd = opts.cwd ?? tempDir();
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: "1", TMPDIR: tmp },
    detached: opts.detached ?? false,
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  let out = "";
  let err = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal, at: performance.now() })),
  );
  return {
    child,
    tmp,
    stdout: () => out,
    stderr: () => err,
    async waitFor(pattern, stream = "stderr", timeoutMs = 60_000) {
      const deadline = performance.now() + timeoutMs;
      while (!pattern.test(stream === "stderr" ? err : out)) {
        if (performance.now() > deadline) throw new Error(`timed out waiting for ${pattern}; stderr: ${err}; stdout: ${out}`);
        if (child.exitCode !== null) throw new Error(`exited (${child.exitCode}) before ${pattern}; stderr: ${err}`);
        await sleep(50);
      }
    },
    exit,
  };
}

/** What a run left in its TMPDIR (its temporary stores and folders). */
const leftovers = (tmp: string) => readdirSync(tmp);

/** The descendants of a run whose command line matches. */
function processesOf(run: Running, pattern: RegExp): number[] {
  return descendants(run.child.pid!).filter((pid) => {
    try {
      return pattern.test(readFileSync(`/proc/${pid}/cmdline`, "utf8"));
    } catch {
      return false;
    }
  });
}

/**
 * Waits until every process of `tree` has exited (polled, not slept): a hang shows as a failure after 20 s, with
 * the PIDs still alive.
 */
async function allGone(tree: readonly number[]): Promise<void> {
  await until(() => stillAlive(tree).length === 0, "every process of the run's tree to exit", 20_000).catch(() => {});
  assert.deepEqual(stillAlive(tree), [], "no process of the run's tree is alive");
}

/** Waits until `check` holds. */
async function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test("SIGTERM during an HTTP run: exit 143, the finished part reported, no process and no temporary store left", async () => {
  const run = start(["run", "--mode", "http", "--strategy", "atomic,global", "-n", "400000", "-c", "100", "--no-save"]);
  await run.waitFor(/atomic \(1\/2\): [1-9]/);
  const tree = descendants(run.child.pid!);
  assert.ok(tree.length >= 1, "the run has started its server");
  run.child.kill("SIGTERM");
  const { code } = await run.exit;
  assert.equal(code, 143, run.stderr());
  await allGone(tree);
  assert.deepEqual(leftovers(run.tmp), [], "no temporary store left behind");
  assert.match(run.stdout(), /interrupted · SIGTERM/);
  assert.match(run.stdout(), /atomic ✓ \(interrupted\)/, "the strategy that was running reports what it measured");
});

test("SIGTERM while the instances of an HTTP run start: exit 143, no stack trace, no instance outlives the run", { timeout: 120_000 }, async () => {
  for (const delayMs of [0, 300]) {
    const run = start(["run", "--mode", "http", "--instances", "2", "--strategy", "atomic", "-n", "20000", "--no-save"]);
    await until(() => processesOf(run, /serveWorker/).length > 0, "the first cluster instance");
    // Every process the run starts, collected until it exits (a worker may be forked after the signal).
    const tree = new Set(descendants(run.child.pid!));
    const collect = setInterval(() => descendants(run.child.pid!).forEach((pid) => tree.add(pid)), 10);
    await sleep(delayMs);
    run.child.kill("SIGTERM");
    const { code } = await run.exit;
    clearInterval(collect);
    assert.equal(code, 143, run.stderr());
    assert.deepEqual(stillAlive([...tree]), [], `after SIGTERM ${delayMs} ms into the start, every process of the run has exited with it`);
    assert.doesNotMatch(run.stderr(), /EPIPE|\n\s+at .*:\d+:\d+/, "no stack trace");
  }
});

test("SIGTERM to an in-process run stops its measuring process at once and reports finished strategies in full", { timeout: 120_000 }, async () => {
  const run = start(["run", "--strategy", "atomic,global", "--db-latency", "1", "-n", "20000", "-c", "500", "--json", "--no-save"]);
  // atomic first (about 15,000/s: it finishes); global then runs at about 150/s, for minutes.
  await run.waitFor(/\[1\/2\] atomic/);
  await run.waitFor(/global \(2\/2\): [1-9]/);
  const tree = descendants(run.child.pid!);
  run.child.kill("SIGTERM");
  const { code } = await run.exit;
  assert.equal(code, 143);
  await allGone(tree);
  assert.deepEqual(leftovers(run.tmp), []);
  const doc = JSON.parse(run.stdout());
  assert.deepEqual(doc.interrupted, { signal: "SIGTERM" });
  const [atomic, global] = doc.results;
  assert.equal(atomic.state, "completed");
  assert.equal(atomic.succeeded, 20000);
  assert.equal(global.state, "interrupted");
  assert.ok(global.succeeded > 0 && global.succeeded < 20000);
  assert.equal(global.audit.violations, 0, "its audit was taken");
});

test("Ctrl-C (SIGINT to the whole process group) exits 130 and leaves nothing behind", async () => {
  const run = start(["run", "--strategy", "global", "--db-latency", "1", "-n", "400000", "-c", "200", "--no-save"], { detached: true });
  await run.waitFor(/global \(1\/1\): [1-9]/);
  const tree = descendants(run.child.pid!);
  process.kill(-run.child.pid!, "SIGINT");
  const { code } = await run.exit;
  assert.equal(code, 130, run.stderr());
  await allGone(tree);
  assert.deepEqual(leftovers(run.tmp), []);
  assert.match(run.stdout(), /global ✓ \(interrupted\)/);
});

test("a run killed outright (SIGKILL): its measuring process notices and cleans up", async () => {
  const run = start(["run", "--strategy", "global", "--db-latency", "1", "-n", "400000", "-c", "200", "--no-save"]);
  await run.waitFor(/global \(1\/1\): [1-9]/);
  const tree = descendants(run.child.pid!);
  assert.ok(tree.length >= 1);
  run.child.kill("SIGKILL");
  await run.exit;
  await allGone(tree);
  assert.deepEqual(leftovers(run.tmp), [], "and removed its store and the run's folder");
});

test(
  "--redis auto: SIGTERM stops the throwaway servers; a SIGKILL of regbench leaves none behind either",
  { skip: skipWithoutRedis, timeout: 60_000 },
  async () => {
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      const run = start(["run", "--strategy", "redlock", "--redis", "auto", "--db-latency", "1", "-n", "400000", "-c", "100", "--no-save"]);
      await until(
        () => processesOf(run, /^redis-server/).length === 3 && processesOf(run, /worker\.js/).length === 1,
        "three throwaway redis-server and the measuring process",
      );
      await sleep(500);
      const tree = descendants(run.child.pid!);
      run.child.kill(signal);
      await run.exit;
      await allGone(tree);
    }
  },
);

test(
  "--etcd auto: a SIGKILL of regbench leaves neither an etcd member nor its data folder behind",
  { skip: etcdOnPath() ? false : "no etcd on the PATH: apt-get install etcd-server", timeout: 60_000 },
  async () => {
    const run = start(["run", "--strategy", "etcd", "--etcd", "auto:3", "--db-latency", "1", "-n", "400000", "-c", "50", "--no-save"]);
    await until(
      () => processesOf(run, /^etcd/).length === 3 && processesOf(run, /worker\.js/).length === 1,
      "three throwaway etcd members and the measuring process",
    );
    assert.ok(
      leftovers(run.tmp).some((name) => name.startsWith("regbench-etcd-")),
      "the members keep their data in the run's TMPDIR",
    );
    const etcdFolders = () => leftovers(run.tmp).filter((name) => name.startsWith("regbench-etcd-"));
    // Killed while it measures: its store exists in the run's folder.
    await until(() => {
      const folder = leftovers(run.tmp).find((name) => !name.startsWith("regbench-etcd-"));
      return folder !== undefined && readdirSync(join(run.tmp, folder)).some((name) => name.endsWith(".db"));
    }, "the measuring process's store");
    const tree = descendants(run.child.pid!);
    run.child.kill("SIGKILL");
    await run.exit;
    await until(() => stillAlive(tree).length === 0 && leftovers(run.tmp).length === 0, "no process and no folder of the run", 20_000).catch(() => {});
    assert.deepEqual(stillAlive(tree), [], "no process of the run is alive");
    assert.deepEqual(etcdFolders(), [], "no etcd data folder is left");
    assert.deepEqual(leftovers(run.tmp), [], "nor the measuring process's store");
  },
);

test("an interrupted redis-fenced run removes its Redis keys, the fence key included", { skip: skipWithoutRedis }, async () => {
  const run = start(["run", "--strategy", "redis-fenced", "--db-latency", "1", "-n", "400000", "-c", "200", "--json", "--no-save"]);
  await run.waitFor(/redis-fenced \(1\/1\): [1-9]/);
  run.child.kill("SIGTERM");
  assert.equal((await run.exit).code, 143);
  const doc = JSON.parse(run.stdout());
  const prefix = doc.results[0].run as string;
  assert.match(prefix, /^rb[0-9a-f]{8}$/);
  const client = createRedisClient(REDIS_URL);
  const left = await client.keys(`regbench:${prefix}:*`);
  client.disconnect();
  assert.deepEqual(left, []);
});

test("the embedded server killed during the run: that strategy fails with the reason, the others run, exit 3", { timeout: 180_000 }, async () => {
  // Bounded by time: atomic is killed a few seconds in, none then runs its 8 s in full.
  const run = start(["run", "--mode", "http", "--strategy", "atomic,none", "--duration", "8s", "-c", "50", "--no-save", "--json"]);
  // Killed once the run reports progress on it, not after a guessed sleep: on a slow machine the server may still be
  // warming up (its own connections) or starting, which is another failure ("did not start") tested elsewhere.
  await run.waitFor(/atomic \(1\/2\): [1-9]/, "stderr", 90_000);
  const [server] = processesOf(run, /serveChild/);
  assert.ok(server, "the server process of the first strategy");
  process.kill(server, "SIGKILL");
  const { code } = await run.exit;
  assert.equal(code, 3, run.stderr());
  assert.doesNotMatch(run.stderr(), /ERR_IPC_CHANNEL_CLOSED|unexpected failure/);
  const doc = JSON.parse(run.stdout());
  assert.deepEqual(doc.failed, [{ strategy: "atomic", reason: "the server exited on SIGKILL during the measurement" }]);
  assert.deepEqual(
    doc.results.map((r: { strategy: string }) => r.strategy),
    ["none"],
  );
  assert.ok(doc.results[0].succeeded > 0 && doc.results[0].failed === 0, JSON.stringify(doc.results[0].errors));
  assert.deepEqual(leftovers(run.tmp), []);
});

test("a run that exits 3 leaves an existing baseline and export byte-identical; an interrupted one writes its report but not the baseline", async () => {
  const cwd = tempDir();
  const baseline = join(cwd, "base.json");
  const markdown = join(cwd, "r.md");
  writeFileSync(baseline, '{"the": "old baseline"}\n');
  writeFileSync(markdown, "# the old report\n");
  const failed = start(
    [
      "run",
      "--strategy",
      "none",
      "-n",
      "10",
      "--store",
      "sqlite:/nonexistent-dir/x.db",
      "--save-baseline",
      baseline,
      "--export-markdown",
      markdown,
      "--no-save",
    ],
    { cwd },
  );
  assert.equal((await failed.exit).code, 3);
  assert.equal(readFileSync(baseline, "utf8"), '{"the": "old baseline"}\n');
  assert.equal(readFileSync(markdown, "utf8"), "# the old report\n");
  assert.deepEqual(readdirSync(cwd).sort(), ["base.json", "r.md"], "no temporary file beside them");

  const interrupted = start(
    ["run", "--strategy", "global", "--db-latency", "1", "-n", "400000", "-c", "100", "--save-baseline", baseline, "--export-markdown", markdown, "--no-save"],
    { cwd },
  );
  await interrupted.waitFor(/global \(1\/1\): [1-9]/);
  interrupted.child.kill("SIGTERM");
  assert.equal((await interrupted.exit).code, 143);
  assert.equal(readFileSync(baseline, "utf8"), '{"the": "old baseline"}\n', "an interrupted run is no baseline");
  assert.match(readFileSync(markdown, "utf8"), /\*\*interrupted\*\* \(SIGTERM\)/);
  assert.match(interrupted.stderr(), /the baseline .*base\.json was left as it was/);
});

test("not on a terminal, each strategy's line is printed as it finishes, not at the end", async () => {
  const run = start(["run", "--strategy", "atomic,global", "--db-latency", "1", "-n", "2000", "-c", "200", "--no-save"]);
  await run.waitFor(/\[1\/2\] atomic: 2,000\/2,000 succeeded in [\d.]+ s · [\d,]+\/s · p99 [\d.]+ ms · ✓ no violation/);
  assert.equal(run.child.exitCode, null, "while the next strategy still runs");
  assert.equal(run.stdout(), "", "the table comes at the end");
  const { code } = await run.exit;
  assert.equal(code, 0);
  assert.match(run.stderr(), /\[2\/2\] global: 2,000\/2,000 succeeded/);
});
