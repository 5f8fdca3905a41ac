import assert from "node:assert/strict";
import { test } from "node:test";
import { fnv1a32, nextPowerOfTwo } from "../../src/sync/fnv.js";

test("FNV-1a 32 matches the reference vectors", () => {
  assert.equal(fnv1a32(""), 0x811c9dc5);
  assert.equal(fnv1a32("a"), 0xe40c292c);
  assert.equal(fnv1a32("foobar"), 0xbf9cf968);
});

test("next power of two", () => {
  assert.deepEqual([0, 1, 2, 3, 16, 17, 64].map(nextPowerOfTwo), [1, 1, 2, 4, 16, 32, 64]);
});
