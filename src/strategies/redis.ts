import { redisStrategy } from "./redisStrategy.js";

/** The seed's Redis lock done right: SET NX PX with a random token, owner-checked release and extension, a watchdog. */
export const redis = redisStrategy({
  name: "redis",
  protects: "every invariant across processes, while the lock holds (watchdog-extended, aborted if lost)",
  exposes: "a holder that stalls past the TTL without its watchdog (or with the whole process blocked) writes beside the next holder",
  nodes: "one",
  fencing: false,
  constraints: false,
});
