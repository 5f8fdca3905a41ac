import type { ProxiedService } from "../faults/nemesis.js";
import { startFaultProxy, throughProxy, upstreamOf, type FaultProxy } from "../faults/proxy.js";
import type { ServeSpec } from "../http/serve.js";
import { findStrategy } from "../strategies/registry.js";
import { lockServiceOf } from "../strategies/strategy.js";
import { isServerStore } from "../store/registry.js";

/** The default port of each service's URL scheme, when a URL names none. */
const DEFAULT_PORTS: Readonly<Record<string, number>> = Object.freeze({
  "redis:": 6379,
  "rediss:": 6380,
  "http:": 2379,
  "https:": 2379,
  "postgres:": 5432,
  "postgresql:": 5432,
  "mysql:": 3306,
});

function portOf(url: string): number {
  return DEFAULT_PORTS[new URL(url).protocol] ?? 0;
}

/** A server's spec with its services reached through fault proxies, the proxies by service, and how to stop them. */
export interface ProxiedSpec {
  readonly spec: ServeSpec;
  readonly proxies: ReadonlyMap<ProxiedService, readonly FaultProxy[]>;
  stop(): Promise<void>;
}

/**
 * Puts a fault proxy (one per URL) between the server's instances and each of `services` that its strategy uses:
 * the spec's Redis, etcd or database URLs are rewritten to the proxies' loopback ports. Services the strategy does
 * not use get none. Whatever was started is stopped if a later proxy fails to start.
 */
export async function proxyServices(spec: ServeSpec, services: ReadonlySet<ProxiedService>): Promise<ProxiedSpec> {
  const proxies = new Map<ProxiedService, FaultProxy[]>();
  const started: FaultProxy[] = [];
  const stop = async () => {
    await Promise.all(started.map((p) => p.stop()));
  };
  const through = async (service: ProxiedService, urls: readonly string[]): Promise<string[]> => {
    const out: string[] = [];
    for (const url of urls) {
      const proxy = await startFaultProxy(upstreamOf(url, portOf(url)));
      started.push(proxy);
      proxies.set(service, [...(proxies.get(service) ?? []), proxy]);
      out.push(throughProxy(url, proxy));
    }
    return out;
  };
  try {
    const backend = lockServiceOf(findStrategy(spec.strategy));
    let run = spec.run;
    let store = spec.store;
    // The strategy's lock service, when a network nemesis names it: its URLs through proxies.
    const location = backend === undefined ? undefined : run.lockServices[backend];
    if (backend !== undefined && location !== undefined && location.urls !== "auto" && services.has(backend as ProxiedService)) {
      run = { ...run, lockServices: { ...run.lockServices, [backend]: { ...location, urls: await through(backend as ProxiedService, location.urls) } } };
    }
    if (services.has("store") && isServerStore(store) && "url" in store) {
      store = { ...store, url: (await through("store", [store.url]))[0]! };
    }
    return { spec: { ...spec, run, store }, proxies, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
