import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { ProjectCache } from "../../src/core/projectCache.js";
import { Batcher } from "../../src/sync/batcher.js";
import { project } from "../helpers.js";

test("projects are read once per ttl, concurrent misses share one read, unknown ones are not kept", async () => {
  let reads = 0;
  const cache = new ProjectCache(async (id) => {
    reads++;
    await sleep(5);
    return id === "t-p0" ? { ...project(), keyDigest: Buffer.from(project().keyDigest) } : undefined;
  }, 50);
  await Promise.all(Array.from({ length: 20 }, () => cache.get("t-p0")));
  assert.equal(reads, 1);
  await cache.get("t-p0");
  assert.equal(reads, 1);
  await sleep(60);
  await cache.get("t-p0");
  assert.equal(reads, 2, "read again after the ttl");
  assert.equal(await cache.get("nope"), undefined);
  assert.equal(await cache.get("nope"), undefined);
  assert.equal(reads, 4, "an unknown project is read every time");
  const uncached = new ProjectCache(async () => (reads++, undefined), 0);
  await uncached.get("x");
  await uncached.get("x");
  assert.equal(reads, 6);
});

test("a batcher with one batch in flight collects the next batch meanwhile (group commit)", async () => {
  const sizes: number[] = [];
  let inFlight = 0;
  let most = 0;
  const batcher = new Batcher<number, number>(
    async (items) => {
      inFlight++;
      most = Math.max(most, inFlight);
      sizes.push(items.length);
      await sleep(10);
      inFlight--;
      return items.map((i) => i * 2);
    },
    256,
    1,
  );
  const first = Array.from({ length: 5 }, (_, i) => batcher.submit(i));
  await sleep(1);
  const later = Array.from({ length: 30 }, (_, i) => batcher.submit(100 + i));
  assert.deepEqual(await Promise.all([...first, ...later]), [...[0, 1, 2, 3, 4].map((i) => i * 2), ...Array.from({ length: 30 }, (_, i) => (100 + i) * 2)]);
  assert.equal(most, 1);
  assert.deepEqual(sizes, [5, 30]);
});
