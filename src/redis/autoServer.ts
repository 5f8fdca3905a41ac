import { spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { spawnGuarded } from "../process/guarded.js";
import { probeRedis } from "./client.js";

/** A throwaway redis-server that regbench started for one run and stops afterwards. */
export interface ThrowawayRedis {
  readonly url: string;
  /** The redis-server's PID. */
  readonly pid: number;
  stop(): Promise<void>;
}

export function redisServerOnPath(): boolean {
  return spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * Starts redis-server on a free loopback port, keeping nothing on disk, under a guard that stops it if regbench
 * goes away, and waits until it answers.
 */
export async function startThrowawayRedis(): Promise<ThrowawayRedis> {
  const port = await freePort();
  const server = await spawnGuarded("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"]);
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    if ((await probeRedis(url, 200)) === undefined) return { url, pid: server.pid, stop: () => server.stop() };
    if (server.exitedEarly()) break;
    await sleep(100);
  }
  await server.stop();
  throw new Error(`redis-server did not answer on ${url}${server.exitedEarly() ? ` (${server.exitedEarly()})` : ""}`);
}
