import { spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { spawnGuarded } from "../process/guarded.js";
import { probeRedis } from "./client.js";

/** A throwaway redis-server that regbench started for one run and stops afterwards. */
export interface ThrowawayRedis {
  readonly url: string;
  /** The redis-server's PID (the current one's, after a restart). */
  readonly pid: number;
  /**
   * Kills the redis-server (SIGKILL, a crash) and starts a new, empty one on the same port (the restart:redis
   * nemesis: with no persistence, every lock it held is gone); resolves once the new one answers.
   */
  restart(): Promise<void>;
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
  const url = `redis://127.0.0.1:${port}`;
  const start = async () => {
    const server = await spawnGuarded("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"]);
    for (let i = 0; i < 50; i++) {
      if ((await probeRedis(url, 200)) === undefined) return server;
      if (server.exitedEarly()) break;
      await sleep(100);
    }
    await server.stop();
    throw new Error(`redis-server did not answer on ${url}${server.exitedEarly() ? ` (${server.exitedEarly()})` : ""}`);
  };
  let server = await start();
  return {
    url,
    get pid() {
      return server.pid;
    },
    async restart() {
      try {
        process.kill(server.pid, "SIGKILL");
      } catch {
        // already gone
      }
      await server.stop();
      server = await start();
    },
    stop: () => server.stop(),
  };
}
