import { redisStrategy } from "./redisStrategy.js";

/**
 * Redisson's reentrant lock: the registration path nests (the system row's creation takes the project's lock again,
 * as code calling a locked helper does), and the nested acquisition is granted to the holder at the cost of one round
 * trip. The plain `redis` lock with `--lock-nesting` shows what happens without: it waits for itself.
 */
export const redisReentrant = redisStrategy({
  name: "redis-reentrant",
  protects: "every invariant across processes, while the lock holds; a holder may take its own lock again (nested helpers)",
  exposes: "one extra round trip per nested acquisition; the same stalled-holder hazard as redis",
  nodes: "one",
  fencing: false,
  constraints: false,
  reentrant: true,
});
