import assert from "node:assert/strict";
import { connect } from "node:net";
import { test } from "node:test";
import { POSTGRES_URL, postgres } from "../dbEnv.js";
import { skipWithoutEtcd } from "../etcdEnv.js";
import { result, watchedRun } from "./watchedRun.js";

/**
 * The nemeses of the network and of etcd's members, on real processes: a fault proxy between the server instances and
 * etcd, a throwaway three-member cluster whose leader is frozen and killed. Each run is a few seconds of load.
 */

/** Whether something accepts connections on the loopback port now. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

const skip = skipWithoutEtcd();

test(
  "partition:etcd with a 1 s lease: etcd-fenced has no violation, the window is in the JSON, and no proxy port stays open",
  { skip, timeout: 120_000 },
  async () => {
    const { code, report, stderr } = await watchedRun([
      "--mode",
      "http",
      "--instances",
      "2",
      "--strategy",
      "etcd-fenced",
      "--etcd",
      "auto",
      "--lock-ttl",
      "1s",
      "--systems",
      "2",
      "-c",
      "16",
      "--duration",
      "5s",
      "--nemesis",
      "partition:etcd:3s@1s",
    ]);
    assert.equal(code, 0, stderr);
    assert.deepEqual(report.config.nemeses, [
      "partition:etcd:3s@1s: the instances cut from etcd (nothing delivered, connections held) for 3000 ms, 1000 ms into the measured window",
    ]);
    const r = result(report, "etcd-fenced");
    assert.equal(r.nemeses?.length, 1);
    const [w] = r.nemeses!;
    assert.equal(w!.spec, "partition:etcd:3s@1s");
    assert.equal(w!.applied, true, w!.detail);
    assert.ok(w!.startMs! >= 500 && w!.endMs! - w!.startMs! >= 2900, `the window: ${w!.startMs}–${w!.endMs}`);
    const proxy = /127\.0\.0\.1:(\d+) → 127\.0\.0\.1:(\d+)/.exec(w!.detail);
    assert.ok(proxy, w!.detail);
    assert.match(w!.detail, /delivered nothing for 3000 ms; \d+ connection\(s\) held open/);
    // The partition did cut the instances off: every registration takes an etcd lock, and none completed in a second
    // that lies wholly inside the window once those in flight at the cut are through (an etcd answer the proxy had
    // already passed on still lets its registration finish: half a second's grace); once it healed, the strategy
    // served again.
    const settled = w!.startMs! + 500;
    const inside = r.timeline!.filter((p) => p.t * 1000 >= settled && (p.t + p.spanS) * 1000 <= w!.endMs!);
    assert.ok(inside.length > 0, JSON.stringify(r.timeline));
    assert.deepEqual(
      inside.map((p) => p.completed),
      inside.map(() => 0),
      `nothing completes while etcd is unreachable: ${JSON.stringify(r.timeline)}`,
    );
    assert.ok(
      r.timeline!.some((p) => p.t * 1000 >= w!.endMs! && p.completed > 0),
      `served again after the heal: ${JSON.stringify(r.timeline)}`,
    );
    // Fencing refuses a write whose lease ran out during the partition.
    assert.equal(r.audit!.violations, 0, JSON.stringify(r.audit));
    // Nothing listens any more on the proxy's port, nor on the throwaway etcd's.
    assert.equal(await listening(Number(proxy[1])), false, `the proxy's port ${proxy[1]} is closed`);
    assert.equal(await listening(Number(proxy[2])), false, `the throwaway etcd's port ${proxy[2]} is closed`);
  },
);

test(
  "pause:etcd-leader and kill:etcd-member on a throwaway three-member cluster: the leader is found, frozen, then killed; no member is left",
  { skip, timeout: 120_000 },
  async () => {
    const { code, report, stderr } = await watchedRun([
      "--strategy",
      "etcd-fenced",
      "--etcd",
      "auto:3",
      "--lock-ttl",
      "1s",
      "--systems",
      "2",
      "-c",
      "8",
      "--duration",
      "5s",
      "--nemesis",
      "pause:etcd-leader:1s@1s",
      "--nemesis",
      "kill:etcd-member@3s",
    ]);
    assert.equal(code, 0, stderr);
    assert.ok(
      report.notes.some((n) => /started 3 throwaway etcd member/.test(n)),
      JSON.stringify(report.notes),
    );
    const r = result(report, "etcd-fenced");
    const [pause, kill] = r.nemeses!;
    assert.equal(pause!.applied, true, pause!.detail);
    assert.match(pause!.detail, /^etcd member #[123] \(pid \d+\), the leader, stopped \(SIGSTOP\); SIGCONT after 1000 ms$/);
    assert.ok(pause!.endMs! - pause!.startMs! >= 900, `frozen for the pause: ${pause!.startMs}–${pause!.endMs}`);
    assert.equal(kill!.applied, true, kill!.detail);
    assert.match(kill!.detail, /^killed etcd member #[123] \(pid \d+, the leader\) with SIGKILL/);
    // Started again on its data once the window was over, so that a next strategy would find the whole cluster.
    assert.match(kill!.detail, /; started again on its data \(pid \d+\) once the measured window was over$/);
    assert.equal(r.audit!.violations, 0, JSON.stringify(r.audit));
    // watchedRun has checked, by PID, that no member (nor its guard) outlived the run, and that their data is gone.
  },
);

test(
  "latency:store then reset:store on PostgreSQL: both go through the proxy, the resets fail only the registrations on them",
  { skip: postgres.skip, timeout: 120_000 },
  async () => {
    const { code, report, stderr } = await watchedRun([
      "--mode",
      "http",
      "--strategy",
      "atomic",
      "--store",
      POSTGRES_URL,
      "-c",
      "16",
      "--duration",
      "3s",
      "--nemesis",
      "latency:store:100ms:1s@500ms",
      "--nemesis",
      "reset:store@2s",
    ]);
    assert.equal(code, 0, stderr);
    const r = result(report, "atomic");
    const [latency, reset] = r.nemeses!;
    assert.equal(latency!.applied, true, latency!.detail);
    assert.match(latency!.detail, /to the database \(127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+\) delayed every chunk by 100 ms each way for 1000 ms/);
    // A query crossing the proxy in the window waits its delay out and back: a registration took 200 ms at least.
    assert.ok(r.latencyMs!.max >= 200, `max latency ${r.latencyMs!.max} ms`);
    assert.equal(reset!.applied, true, reset!.detail);
    const resets = /reset (\d+) connection\(s\) with a TCP RST$/.exec(reset!.detail);
    assert.ok(resets && Number(resets[1]) > 0, reset!.detail);
    // Whatever failed is counted under a kind; the pool replaced its connections and the audit is exact.
    assert.equal(
      Object.values(r.errors).reduce((t, n) => t + n, 0),
      r.failed,
    );
    assert.ok(
      r.timeline!.some((p) => p.t * 1000 > reset!.endMs! && p.completed > 0),
      JSON.stringify(r.timeline),
    );
    assert.equal(r.audit!.violations, 0, JSON.stringify(r.audit));
    const port = Number(/127\.0\.0\.1:(\d+) →/.exec(reset!.detail)![1]);
    assert.equal(await listening(port), false, `the proxy's port ${port} is closed`);
  },
);
