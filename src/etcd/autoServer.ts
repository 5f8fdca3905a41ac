import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { spawnGuarded, type GuardedProcess } from "../process/guarded.js";
import { freePort } from "../redis/autoServer.js";
import { probeEtcd } from "./client.js";

/** A throwaway etcd (one member, or a cluster) that regbench started for one run and stops afterwards. */
export interface ThrowawayEtcd {
  /** The members' client URLs. */
  readonly urls: readonly string[];
  /** The members' PIDs, the current ones after a restart. */
  readonly pids: readonly number[];
  /** Starts member `index` (0-based) again on its data and ports, once it has ended (killed by a nemesis); its PID. */
  restartMember(index: number): Promise<number>;
  stop(): Promise<void>;
}

export function etcdOnPath(): boolean {
  return spawnSync("etcd", ["--version"], { stdio: "ignore" }).status === 0;
}

/**
 * Heartbeat and election timeout of a throwaway etcd: shorter than etcd's defaults (100 ms, 1 s), so that its
 * smallest lease is 1 s (etcd raises a TTL below 1.5 election timeouts), as --lock-ttl 1s asks.
 */
const TIMING = ["--heartbeat-interval", "50", "--election-timeout", "500"];

/**
 * Starts `members` etcd processes on free loopback ports, each under a guard (stopped if regbench goes away), each
 * with its data in a private folder that its guard removes once it has stopped — on stop, or after a `kill -9` of
 * regbench; resolves once the cluster answers.
 */
export async function startThrowawayEtcd(members = 1): Promise<ThrowawayEtcd> {
  const dirs: string[] = [];
  const ports = [];
  for (let i = 0; i < members; i++) ports.push({ client: await freePort(), peer: await freePort() });
  const cluster = ports.map((p, i) => `m${i}=http://127.0.0.1:${p.peer}`).join(",");
  const started: GuardedProcess[] = [];
  const stop = async () => {
    await Promise.all(started.map((s) => s.stop()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const [i, p] of ports.entries()) {
      const dir = mkdtempSync(join(tmpdir(), "regbench-etcd-"));
      dirs.push(dir);
      started.push(
        await spawnGuarded(
          "etcd",
          [
            "--name",
            `m${i}`,
            "--data-dir",
            join(dir, "data"),
            "--listen-client-urls",
            `http://127.0.0.1:${p.client}`,
            "--advertise-client-urls",
            `http://127.0.0.1:${p.client}`,
            "--listen-peer-urls",
            `http://127.0.0.1:${p.peer}`,
            "--initial-advertise-peer-urls",
            `http://127.0.0.1:${p.peer}`,
            "--initial-cluster",
            cluster,
            "--initial-cluster-state",
            "new",
            "--log-level",
            "error",
            ...TIMING,
          ],
          dir,
          true,
        ),
      );
    }
    const urls = ports.map((p) => `http://127.0.0.1:${p.client}`);
    for (let i = 0; i < 100; i++) {
      if ((await probeEtcd(urls[0]!, 500)) === undefined)
        return {
          urls,
          get pids() {
            return started.map((s) => s.pid);
          },
          restartMember: (index) => started[index]!.restart(),
          stop,
        };
      const early = started.find((s) => s.exitedEarly());
      if (early) throw new Error(`etcd ${early.exitedEarly()}`);
      await sleep(100);
    }
    throw new Error(`etcd did not answer on ${urls[0]}`);
  } catch (error) {
    await stop();
    throw error;
  }
}
