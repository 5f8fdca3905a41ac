import { atomic } from "./atomic.js";
import { dbUnique } from "./dbUnique.js";
import { global } from "./global.js";
import { none } from "./none.js";
import { redis } from "./redis.js";
import { redisDb } from "./redisDb.js";
import { redisReentrant } from "./redisReentrant.js";
import { etcd, etcdFenced } from "./etcd.js";
import { redisFenced } from "./redisFenced.js";
import { redlock } from "./redlock.js";
import { sharded } from "./sharded.js";
import { shardedRw } from "./shardedRw.js";
import { shardedDb } from "./shardedDb.js";
import { singleflight } from "./singleflight.js";
import type { StrategyDefinition } from "./strategy.js";

/** Every strategy, by name, in the order the report lists them. Adding one is one file and one line here. */
export const STRATEGIES: readonly StrategyDefinition[] = Object.freeze([
  none,
  global,
  singleflight,
  sharded,
  shardedRw,
  dbUnique,
  shardedDb,
  atomic,
  redis,
  redlock,
  redisFenced,
  redisDb,
  redisReentrant,
  etcd,
  etcdFenced,
]);

export function findStrategy(name: string): StrategyDefinition | undefined {
  return STRATEGIES.find((s) => s.name === name);
}

export function strategyNames(): string[] {
  return STRATEGIES.map((s) => s.name);
}
