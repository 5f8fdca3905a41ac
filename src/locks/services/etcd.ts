import { checkEtcdUrl, createEtcdClient, deleteEtcdKeys, describeEtcdProblem, probeEtcd, startEtcdHint, type EtcdProblem } from "../../etcd/client.js";
import { etcdOnPath, startThrowawayEtcd, type ThrowawayEtcd } from "../../etcd/autoServer.js";
import { etcdLock } from "../etcdLock.js";
import { parseUrlList, type LockService, type PreparedService } from "./service.js";

/** etcd: a lease-bound key per acquisition; `auto` / `auto:3` starts a throwaway member or cluster. */
export const etcdService: LockService = {
  name: "etcd",
  title: "etcd",
  flag: "etcd",
  optionHelp: "etcd client URL(s), comma-separated, or auto / auto:3 to start a throwaway member / cluster if none answers",
  defaultUrls: Object.freeze(["http://127.0.0.1:2379"]),
  faultName: "etcd-down",
  cutDescription: "the etcd client is cut off",

  parse(text) {
    const autoMatch = /^auto(?::(\d+))?$/.exec(text);
    if (autoMatch) {
      const autoMembers = autoMatch[1] === undefined ? 1 : Number(autoMatch[1]);
      if (autoMembers !== 1 && autoMembers !== 3 && autoMembers !== 5)
        return {
          problem: `auto:${autoMatch[1]} is not a cluster size regbench starts`,
          fix: "Use --etcd auto (one member) or --etcd auto:3 (a three-member cluster).",
        };
      return { urls: "auto", autoMembers };
    }
    return parseUrlList(
      text,
      checkEtcdUrl,
      { problem: "is empty", fix: "Pass a URL such as http://127.0.0.1:2379, a comma list of a cluster's members, or auto." },
      "Pass client URLs such as http://127.0.0.1:2379 (comma-separated for a cluster), auto, or auto:3.",
    );
  },

  show: (location) => (location.urls === "auto" ? `auto${location.autoMembers > 1 ? `:${location.autoMembers}` : ""}` : location.urls.join(",")),

  async prepare(location): Promise<PreparedService> {
    const notes: string[] = [];
    let cluster: ThrowawayEtcd | undefined;
    let urls: readonly string[] | undefined;
    let problem: string | undefined;
    if (location.urls === "auto") {
      const url = this.defaultUrls[0]!;
      const down: EtcdProblem | undefined = location.autoMembers > 1 ? { kind: "unreachable", reason: "a cluster was asked for" } : await probeEtcd(url, 3000);
      if (!down) {
        urls = [url];
        notes.push(`--etcd auto: using the etcd that answers on ${url}`);
      } else if (etcdOnPath()) {
        try {
          cluster = await startThrowawayEtcd(location.autoMembers);
          urls = cluster.urls;
          notes.push(
            `--etcd auto: started ${cluster.urls.length} throwaway etcd member(s) on ${urls.join(", ")}; stopped, and their data removed, after the run`,
          );
        } catch (error) {
          problem = `could not start a throwaway etcd: ${(error as Error).message}`;
        }
      } else {
        problem =
          down.kind === "unreachable"
            ? `nothing answers on ${url} (${down.reason}) and there is no etcd on the PATH to start: ${startEtcdHint(url)}`
            : describeEtcdProblem(url, down);
      }
    } else {
      const probes = await Promise.all(location.urls.map(async (url) => ({ url, down: await probeEtcd(url, 3000) })));
      const failed = probes.filter((p) => p.down !== undefined);
      if (failed.length > 0) problem = failed.map((f) => describeEtcdProblem(f.url, f.down!)).join("; ");
      else urls = location.urls;
    }
    const started = cluster;
    const stop = async () => {
      await started?.stop();
    };
    if (problem !== undefined || urls === undefined) return { problem: problem ?? "no etcd", notes, stop };
    return { urls, notes, ...(started ? { cluster: started } : {}), stop };
  },

  keyPrefix: (runPrefix) => `regbench/${runPrefix}/`,
  namespacePrefix: (namespace) => `regbench/ns/${namespace}/`,

  async removeKeys(urls, keyPrefix) {
    const client = createEtcdClient(urls);
    try {
      await deleteEtcdKeys(client, keyPrefix);
    } catch {
      // an etcd that went away holds nothing to clean
    } finally {
      client.close();
    }
  },

  createLock(where, settings, request) {
    return etcdLock(
      where.urls,
      where.keyPrefix,
      { ttlMs: settings.ttlMs, waitMs: settings.waitMs, watchdog: settings.watchdog, fencing: request.fencing },
      request.cleanUp,
    );
  },
};
