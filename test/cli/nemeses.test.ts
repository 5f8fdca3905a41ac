import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { etcdOnPath } from "../../src/etcd/autoServer.js";
import { redisServerOnPath } from "../../src/redis/autoServer.js";
import { MYSQL_URL, mysql, POSTGRES_URL, postgres } from "../dbEnv.js";
import { watchedRun, result } from "./watchedRun.js";
import { REDIS_URL, skipWithoutRedis } from "../redisEnv.js";

const lockTests = skipWithoutRedis || (!etcdOnPath() && "no etcd on the PATH");
test(
  "pause:instance freezes a lock holder past its TTL: redis duplicates, redis-fenced and etcd-fenced stay correct",
  { skip: lockTests, timeout: 180_000 },
  async () => {
    const { code, report, stderr } = await watchedRun([
      "--mode",
      "http",
      "--instances",
      "2",
      "--strategy",
      "redis,redis-fenced,etcd-fenced",
      "--redis",
      REDIS_URL,
      "--etcd",
      "auto",
      "--lock-ttl",
      "1s",
      "--no-watchdog",
      "--systems",
      "2",
      "-c",
      "16",
      "--duration",
      "5s",
      "--nemesis",
      "pause:instance:3s@1s",
    ]);
    assert.equal(code, 0, stderr);
    assert.deepEqual(report.config.nemeses, [
      "pause:instance:3s@1s: the first instance in a critical section frozen (SIGSTOP) for 3000 ms, 1000 ms into the measured window",
    ]);
    for (const strategy of ["redis", "redis-fenced", "etcd-fenced"]) {
      const r = result(report, strategy);
      const [w] = r.nemeses!;
      assert.equal(w!.applied, true, `${strategy}: ${w!.detail}`);
      assert.match(w!.detail, /froze itself inside a critical section/, strategy);
      assert.ok(w!.endMs! - w!.startMs! >= 2900, `${strategy}: frozen for the whole pause (${w!.startMs}–${w!.endMs})`);
      assert.equal(r.instanceDeaths, undefined, "a pause kills nothing");
    }
    // The frozen holder's lock ran out; the other instance took it; the holder woke up and wrote anyway.
    assert.ok(result(report, "redis").audit!.violations > 0, JSON.stringify(result(report, "redis").audit));
    assert.equal(result(report, "redis").verdict, "fail");
    // Fencing refuses the late writes.
    for (const strategy of ["redis-fenced", "etcd-fenced"]) {
      const r = result(report, strategy);
      assert.equal(r.audit!.violations, 0, `${strategy}: ${JSON.stringify(r.audit)}`);
    }
  },
);

test("kill:instance with two instances: the result says which instance died and when, and the verdict is not ✓", { timeout: 120_000 }, async () => {
  const { code, report, stderr } = await watchedRun([
    "--mode",
    "http",
    "--instances",
    "2",
    "--strategy",
    "atomic",
    "-c",
    "16",
    "--duration",
    "3s",
    "--nemesis",
    "kill:instance@1s",
  ]);
  assert.equal(code, 0, stderr);
  const r = result(report, "atomic");
  assert.notEqual(r.verdict, "pass");
  assert.equal(r.instanceDeaths?.length, 1, JSON.stringify(r.instanceDeaths));
  const [death] = r.instanceDeaths!;
  assert.equal(death!.instance, 2);
  assert.equal(death!.reason, "exited on SIGKILL");
  assert.equal(death!.nemesis, "kill:instance@1s");
  assert.ok(death!.atMs >= 900 && death!.atMs < 3000, `died at ${death!.atMs} ms`);
  assert.ok(
    r.notes.some((n) => n.includes(`server instance #2 (pid ${death!.pid}) exited on SIGKILL`)),
    JSON.stringify(r.notes),
  );
  assert.match(r.nemeses![0]!.detail, new RegExp(`killed instance #2 \\(pid ${death!.pid}\\)`));
  // The survivor went on serving: the run has successes after the kill, and the audit is exact.
  assert.ok(
    r.timeline!.filter((p) => p.t >= 2).some((p) => p.completed > 0),
    JSON.stringify(r.timeline),
  );
  assert.equal(r.audit!.violations, 0);
});

for (const [name, db, url] of [
  ["PostgreSQL", postgres, POSTGRES_URL],
  ["MariaDB", mysql, MYSQL_URL],
] as const) {
  test(
    `atomic on ${name} with kill-connections:store three times: exit 0, store errors counted, no violation`,
    { skip: db.skip, timeout: 120_000 },
    async () => {
      const { code, report, stderr } = await watchedRun([
        "--strategy",
        "atomic",
        "--store",
        url,
        "-c",
        "32",
        "--duration",
        "4s",
        "--nemesis",
        "kill-connections:store@1s",
        "--nemesis",
        "kill-connections:store@2s",
        "--nemesis",
        "kill-connections:store@3s",
      ]);
      assert.equal(code, 0, stderr);
      const r = result(report, "atomic");
      assert.equal(r.nemeses!.length, 3);
      for (const w of r.nemeses!) assert.equal(w.applied, true, w.detail);
      assert.ok((r.errors.store ?? 0) > 0, JSON.stringify(r.errors));
      assert.equal(r.audit!.violations, 0, JSON.stringify(r.audit));
      assert.ok((r.strategyStats.poolConnectionsLost as number) > 0, JSON.stringify(r.strategyStats));
    },
  );
}

test(
  "restart:redis during redis and redis-db: the failures are counted, redis-db stays correct",
  { skip: !redisServerOnPath() && "no redis-server on the PATH", timeout: 120_000 },
  async () => {
    const { code, report, stderr } = await watchedRun([
      "--strategy",
      "redis,redis-db",
      "--redis",
      "auto",
      "--systems",
      "2",
      "-c",
      "16",
      "--duration",
      "4s",
      "--nemesis",
      "restart:redis@1s",
    ]);
    assert.equal(code, 0, stderr);
    assert.ok(
      report.notes.some((n) => /started 1 throwaway redis-server/.test(n)),
      `a Redis of the run's own, never the one that was there: ${report.notes}`,
    );
    const noticed: string[] = [];
    for (const strategy of ["redis", "redis-db"]) {
      const r = result(report, strategy);
      const [w] = r.nemeses!;
      assert.equal(w!.applied, true, w!.detail);
      assert.ok(w!.endMs! > w!.startMs!);
      // Every failure is counted under a kind, and the strategy served again once Redis was back.
      assert.equal(
        Object.values(r.errors).reduce((t, n) => t + n, 0),
        r.failed,
      );
      // What the restart did is counted: failures, or registrations that waited while the client reconnected
      // (ioredis queues a command while it is offline).
      if (r.failed > 0 || r.latencyMs!.max >= (w!.endMs! - w!.startMs!) / 2) noticed.push(`${strategy}: ${r.failed} failed, max ${r.latencyMs!.max} ms`);
      assert.ok(
        r.timeline!.some((p) => p.t * 1000 > w!.endMs! && p.completed > 0),
        `${strategy} recovered: ${JSON.stringify(r.timeline)}`,
      );
    }
    // A restart shorter than the moments a busy machine leaves the measuring process unscheduled can pass between
    // two commands unseen (redis-db did so once here, with three test files and the fuzz tier on two cores). Each
    // strategy has a restart of its own: at least one of them must show it.
    assert.ok(noticed.length > 0, "neither strategy saw its Redis restart: no failure and no wait");
    assert.equal(result(report, "redis-db").audit!.violations, 0, JSON.stringify(result(report, "redis-db").audit));
  },
);

test("an instance killed by hand, no nemesis asked: said in the notes and the JSON, and the verdict is not ✓", { timeout: 120_000 }, async () => {
  let killed: number | undefined;
  let startedAt: number | undefined;
  const { code, report, stderr } = await watchedRun(
    ["--mode", "http", "--instances", "2", "--strategy", "atomic", "-c", "16", "--duration", "5s"],
    (pids, err) => {
      // A cluster worker of the server runs serveWorker.js; kill one by PID once both have been up a moment.
      const workers = pids.filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("serveWorker");
        } catch {
          return false;
        }
      });
      // Once the measured window runs (the progress line counts registrations done), and a second into it.
      if (workers.length < 2 || killed !== undefined || !/ done · /.test(err)) return;
      startedAt ??= performance.now();
      if (performance.now() - startedAt < 1000) return;
      killed = workers[workers.length - 1]!;
      process.kill(killed, "SIGKILL");
    },
  );
  assert.equal(code, 0, stderr);
  assert.ok(killed, "an instance was killed by hand");
  const r = result(report, "atomic");
  assert.notEqual(r.verdict, "pass");
  assert.equal(r.instanceDeaths?.length, 1);
  assert.equal(r.instanceDeaths![0]!.pid, killed);
  assert.equal(r.instanceDeaths![0]!.nemesis, undefined);
  assert.ok(
    r.notes.some((n) => n.includes(`(pid ${killed}) exited on SIGKILL`) && n.includes("no nemesis asked for it")),
    JSON.stringify(r.notes),
  );
});

test("restart:instance replaces a killed instance on the same port; the run says so and goes on", { timeout: 150_000 }, async () => {
  const { code, report, stderr } = await watchedRun([
    "--mode",
    "http",
    "--instances",
    "2",
    "--strategy",
    "atomic",
    "-c",
    "16",
    "--duration",
    "8s",
    "--nemesis",
    "restart:instance#1@1s",
  ]);
  assert.equal(code, 0, stderr);
  const r = result(report, "atomic");
  const [w] = r.nemeses!;
  assert.equal(w!.applied, true, w!.detail);
  const [death] = r.instanceDeaths!;
  assert.equal(death!.instance, 1);
  assert.equal(death!.nemesis, "restart:instance#1@1s");
  assert.match(w!.detail, new RegExp(`killed instance #1 \\(pid ${death!.pid}\\) with SIGKILL; a new one \\(pid \\d+\\) listened`));
  assert.ok(w!.endMs! > w!.startMs!);
  assert.notEqual(r.verdict, "pass");
  assert.equal(r.audit!.violations, 0);
});
