import { setTimeout as sleep } from "node:timers/promises";
import type { Store } from "./store.js";

/**
 * Decorates a store so that every call first waits `ms` milliseconds, standing in for the network round trip to
 * a remote database. A transaction pays one round trip to begin and its calls pay theirs. Node's timers have a 1 ms
 * granularity, so fractional values round up to a whole tick.
 */
export function withLatency(inner: Store, ms: number): Store {
  if (ms <= 0) return inner;
  return new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function" || property === "close" || property === "stats") return value;
      if (property === "transaction") {
        return async (fn: (store: Store) => Promise<unknown>) => {
          await sleep(ms);
          return (value as Store["transaction"])!.call(target, (tx: Store) => fn(withLatency(tx, ms)));
        };
      }
      return async (...args: unknown[]) => {
        await sleep(ms);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
