import {
  checkRedisUrl,
  createRedisClient,
  DEFAULT_REDIS_CLIENT_SETTINGS,
  deleteKeys,
  describeRedisProblem,
  probeRedis,
  startRedisHint,
} from "../../redis/client.js";
import { redisServerOnPath, startThrowawayRedis, type ThrowawayRedis } from "../../redis/autoServer.js";
import { redisDistributedLock } from "../redisDistributedLock.js";
import { DEFAULT_REDIS_LOCK_SETTINGS } from "../redisLock.js";
import { parseUrlList, type LockService, type PreparedService } from "./service.js";

/** Redlock wants independent nodes; this many are started by `--redis auto`. */
const AUTO_REDLOCK_NODES = 3;

/** Redis: one node, or a quorum over every `--redis` URL (Redlock); `auto` starts throwaway redis-server processes. */
export const redisService: LockService = {
  name: "redis",
  title: "Redis",
  flag: "redis",
  optionHelp: "Redis node URL(s), comma-separated (redlock uses all), or auto to start a throwaway redis-server if none answers",
  defaultUrls: Object.freeze(["redis://127.0.0.1:6379"]),
  faultName: "redis-down",
  cutDescription: "the first Redis node is cut off",

  parse(text) {
    if (text === "auto") return { urls: "auto", autoMembers: 1 };
    return parseUrlList(
      text,
      checkRedisUrl,
      { problem: "is empty", fix: "Pass a URL such as redis://127.0.0.1:6379, a comma list of them, or auto." },
      "Pass URLs such as redis://127.0.0.1:6379 (comma-separated for redlock), or auto.",
    );
  },

  show: (location) => (location.urls === "auto" ? "auto" : location.urls.join(",")),

  async prepare(location, need): Promise<PreparedService> {
    const needAll = need.overAllNodes.length > 0;
    const notes: string[] = [];
    const servers: ThrowawayRedis[] = [];
    let urls: readonly string[] | undefined;
    let problem: string | undefined;
    if (location.urls === "auto") {
      const url = this.defaultUrls[0]!;
      const down = await probeRedis(url);
      // restart:redis restarts a Redis regbench started, never one that was already there.
      if (need.ownServer && !redisServerOnPath()) {
        problem = `restart:redis needs a redis-server on the PATH to start (and restart) for the run: ${startRedisHint(url)}`;
      } else if (!down && !needAll && !need.ownServer) {
        urls = [url];
        notes.push(`--redis auto: using the Redis that answers on ${url}`);
      } else if (redisServerOnPath()) {
        const count = needAll ? AUTO_REDLOCK_NODES : 1;
        for (let i = 0; i < count; i++) servers.push(await startThrowawayRedis());
        urls = servers.map((s) => s.url);
        notes.push(`--redis auto: started ${count} throwaway redis-server on ${urls.join(", ")}; stopped after the run`);
      } else if (!down) {
        urls = [url];
      } else {
        problem =
          down.kind === "unreachable"
            ? `nothing answers on ${url} (${down.reason}) and there is no redis-server on the PATH to start: ${startRedisHint(url)}`
            : describeRedisProblem(url, down);
      }
    } else {
      const probes = await Promise.all(location.urls.map(async (url) => ({ url, down: await probeRedis(url) })));
      const failed = probes.filter((p) => p.down !== undefined);
      if (failed.length > 0) problem = failed.map((f) => describeRedisProblem(f.url, f.down!)).join("; ");
      else urls = location.urls;
    }
    const stop = async () => {
      await Promise.all(servers.map((s) => s.stop()));
    };
    if (problem !== undefined || urls === undefined) return { problem: problem ?? "no Redis", notes, stop };
    if (needAll && urls.length < 3) {
      notes.push(
        `${need.overAllNodes.join(", ")} runs over ${urls.length} node(s), quorum ${Math.floor(urls.length / 2) + 1}: pass three --redis URLs (or --redis auto) for a real quorum`,
      );
    }
    const first = servers[0];
    return { urls, notes, ...(first ? { restart: () => first.restart() } : {}), stop };
  },

  keyPrefix: (runPrefix) => `regbench:${runPrefix}:`,
  namespacePrefix: (namespace) => `regbench:ns:${namespace}:`,

  async removeKeys(urls, keyPrefix) {
    await Promise.all(
      urls.map(async (url) => {
        const client = createRedisClient(url);
        client.on("error", () => {});
        try {
          await deleteKeys(client, keyPrefix);
        } catch {
          // a Redis that went away (the redis-down fault, a stopped throwaway) holds nothing to clean
        } finally {
          client.disconnect();
        }
      }),
    );
  },

  createLock(where, settings, request) {
    return redisDistributedLock(
      request.nodes === "all" ? where.urls : where.urls.slice(0, 1),
      where.keyPrefix,
      {
        ...DEFAULT_REDIS_LOCK_SETTINGS,
        ttlMs: settings.ttlMs,
        waitMs: settings.waitMs,
        watchdog: settings.watchdog,
        fencing: request.fencing,
        reentrant: request.reentrant ?? false,
      },
      // A Redis the run restarts comes back: its clients reconnect to it (see RedisClientSettings).
      where.restarted ? { ...DEFAULT_REDIS_CLIENT_SETTINGS, reconnectAttempts: 40 } : DEFAULT_REDIS_CLIENT_SETTINGS,
      request.random,
      request.cleanUp,
    );
  },
};
