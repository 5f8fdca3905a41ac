import assert from "node:assert/strict";
import { test } from "node:test";
import { AddressSet, SMALL_CHUNK } from "../../src/audit/addressSet.js";
import { mulberry32 } from "../../src/workload/prng.js";

const ip = (a: number, b: number, c: number, d: number) => ((a * 256 + b) * 256 + c) * 256 + d;

test("0.0.0.0 and 255.255.255.255: each new once, a duplicate after, and distinct from each other and from 2^32", () => {
  const set = new AddressSet();
  for (const n of [0, 2 ** 32 - 1, 2 ** 32]) {
    assert.equal(set.has(n), false, String(n));
    assert.equal(set.add(n), false, String(n));
    assert.equal(set.has(n), true, String(n));
  }
  for (const n of [0, 2 ** 32 - 1, 2 ** 32]) assert.equal(set.add(n), true, String(n));
  assert.equal(set.size, 3);
  assert.equal(set.has(1), false);
  assert.equal(set.has(2 ** 32 - 2), false);
});

test("neighbours across a /16 boundary are distinct, each counted as a duplicate only of itself", () => {
  const set = new AddressSet();
  const last = ip(10, 0, 255, 255);
  const first = ip(10, 1, 0, 0);
  assert.equal(first, last + 1);
  assert.equal(set.add(last), false);
  assert.equal(set.has(first), false);
  assert.equal(set.add(first), false);
  assert.equal(set.add(last), true);
  assert.equal(set.add(first), true);
  assert.deepEqual(set.shape(), { bitmaps: 0, small: 2, others: 0 });
});

test("a chunk past SMALL_CHUNK addresses becomes a bitmap and answers the same, at both ends of the chunk", () => {
  const set = new AddressSet();
  const base = ip(255, 255, 0, 0);
  // Both ends of the last chunk, and of the first.
  const ends = [base, base + 65_535, 0, 65_535];
  for (const n of ends) assert.equal(set.add(n), false);
  for (let k = 1; k <= SMALL_CHUNK; k++) assert.equal(set.add(base + k * 97), false, `k=${k}`);
  assert.deepEqual(set.shape(), { bitmaps: 1, small: 1, others: 0 });
  for (const n of ends) assert.equal(set.add(n), true);
  for (let k = 1; k <= SMALL_CHUNK; k++) assert.equal(set.add(base + k * 97), true, `k=${k}`);
  assert.equal(set.has(base + 1), false);
  assert.equal(set.has(base + 65_534), false);
  assert.equal(set.size, ends.length + SMALL_CHUNK);
});

test("against a plain Set over random adds: the same answers at every step (bitmaps, small chunks, other numbers)", () => {
  const random = mulberry32(16);
  const set = new AddressSet();
  const reference = new Set<number>();
  // Dense in a few neighbouring /16s (bitmaps, many duplicates, boundaries crossed), sparse over the whole space
  // (small chunks), the edges, and numbers that are no address (a malformed row's 2^32 + k, a fraction).
  const dense = ip(10, 0, 255, 0);
  const draw = () => {
    const r = random();
    if (r < 0.6) return dense + Math.floor(random() * 3 * 65_536);
    if (r < 0.85) return Math.floor(random() * 2 ** 32);
    if (r < 0.9) return random() < 0.5 ? 0 : 2 ** 32 - 1;
    if (r < 0.97) return 2 ** 32 + Math.floor(random() * 50);
    return -1 - Math.floor(random() * 3);
  };
  for (let step = 0; step < 300_000; step++) {
    const n = draw();
    const was = reference.has(n);
    reference.add(n);
    assert.equal(set.add(n), was, `step ${step}: ${n}`);
  }
  assert.equal(set.size, reference.size);
  for (let k = 0; k < 20_000; k++) {
    const n = draw();
    assert.equal(set.has(n), reference.has(n), String(n));
  }
  const shape = set.shape();
  assert.ok(shape.bitmaps >= 3, JSON.stringify(shape));
  assert.ok(shape.small > 100, JSON.stringify(shape));
});
