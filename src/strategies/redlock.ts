import { redisStrategy } from "./redisStrategy.js";

/** The quorum lock over every --redis node: ⌊N/2⌋+1 must grant it within its validity. */
export const redlock = redisStrategy({
  name: "redlock",
  protects: "every invariant across processes, surviving the loss of a minority of Redis nodes",
  exposes: "the same stalled-holder hazard as redis; N round trips per lock operation",
  nodes: "all",
  fencing: false,
  constraints: false,
});
