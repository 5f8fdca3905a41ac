import { randomBytes } from "node:crypto";
import { after, before } from "node:test";
import type { Redis } from "ioredis";
import { createRedisClient, deleteKeys, probeRedis } from "../src/redis/client.js";
import { redisServerOnPath, startThrowawayRedis, type ThrowawayRedis } from "../src/redis/autoServer.js";

export const REDIS_URL = process.env.REGBENCH_TEST_REDIS ?? "redis://127.0.0.1:6379";

/**
 * Whether the Redis tests can run. CI sets REGBENCH_REQUIRE_REDIS=1 so that a missing Redis fails the suite
 * instead of skipping it; on a developer's machine without one, the Redis tests are skipped with this reason.
 */
export const redisDown: string | undefined = (await probeRedis(REDIS_URL, 1500))?.reason;
if (redisDown && process.env.REGBENCH_REQUIRE_REDIS === "1") throw new Error(`REGBENCH_REQUIRE_REDIS=1 but ${REDIS_URL} does not answer: ${redisDown}`);
export const skipWithoutRedis: string | false = redisDown ? `no Redis at ${REDIS_URL} (${redisDown}): start redis-server to run these tests` : false;

/** A key prefix of this test file's own; every key under it is deleted when the file ends. */
export function testPrefix(): string {
  const prefix = `regbench-test:${process.pid}:${randomBytes(3).toString("hex")}:`;
  after(async () => {
    if (redisDown) return;
    const client = createRedisClient(REDIS_URL);
    await deleteKeys(client, prefix);
    client.disconnect();
  });
  return prefix;
}

/** Clients that are disconnected when the file ends. */
export function clients(urls: readonly string[]): Redis[] {
  const made = urls.map((u) => createRedisClient(u));
  for (const c of made) c.on("error", () => {});
  after(() => made.forEach((c) => c.disconnect()));
  return made;
}

/** Three throwaway redis-server processes for the quorum tests, started before and stopped after the file. */
export function threeNodes(): { urls: () => string[]; servers: () => ThrowawayRedis[]; skip: string | false } {
  const servers: ThrowawayRedis[] = [];
  const skip = redisServerOnPath() ? false : "no redis-server on the PATH to start three nodes";
  if (!skip) {
    before(async () => {
      for (let i = 0; i < 3; i++) servers.push(await startThrowawayRedis());
    });
    after(async () => Promise.all(servers.map((s) => s.stop())));
  }
  return { urls: () => servers.map((s) => s.url), servers: () => servers, skip };
}
