import assert from "node:assert/strict";
import { test } from "node:test";
import { uint32Mod } from "../../src/workload/generator.js";
import { mulberry32 } from "../../src/workload/prng.js";

test("uint32Mod is % for every uint32 and small divisor (a request's fields are what they were)", () => {
  const random = mulberry32(7);
  const edges = [0, 1, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1];
  for (const n of [1, 2, 3, 4, 7, 16, 1000, 32767]) {
    for (const x of edges) assert.equal(uint32Mod(x, n), x % n, `${x} % ${n}`);
    for (let k = 0; k < 20_000; k++) {
      const x = Math.floor(random() * 2 ** 32) >>> 0;
      assert.equal(uint32Mod(x, n), x % n, `${x} % ${n}`);
    }
  }
});
