import assert from "node:assert/strict";
import { test } from "node:test";
import { Timeline } from "../../src/stats/timeline.js";

test("slices of a window that starts before the buckets do: no bucket below index 0 is read", () => {
  const timeline = new Timeline(1000);
  for (let i = 0; i < 500; i++) timeline.success(1000 + i * 20, 1);
  // Seen as an agent's crash (reading 'completed' of undefined) when the window's first send preceded the buckets.
  const { tps } = timeline.slices(900, 11_000);
  assert.equal(tps.length, 10);
  assert.ok(tps.every((x) => x > 0));
});
