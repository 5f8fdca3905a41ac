import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { LockLostError, LockServiceUnavailableError } from "../../src/locks/errors.js";
import { LockBatches } from "../../src/locks/lockBatches.js";
import type { Lease } from "../../src/locks/redisLock.js";

/** A lease valid for `validMs` whose release fails with `releaseError`. */
function lease(validMs: number, releaseError?: Error): Lease {
  const until = performance.now() + validMs;
  return {
    key: "k",
    token: "t",
    fence: undefined,
    signal: new AbortController().signal,
    validUntil: () => until,
    release: async () => {
      if (releaseError) throw releaseError;
    },
  };
}

for (const releaseError of [new LockLostError("k", "release"), new LockServiceUnavailableError("redis", "Redis failed while releasing")]) {
  test(`a failed release (${releaseError.kind}) keeps the results written under the valid lock and fails those written after`, async () => {
    const batches = new LockBatches(async () => lease(40, releaseError), 8);
    const early = batches.run("k", async (_lease, written) => {
      written();
      await sleep(60); // finishes (seals its answer, say) after the validity ran out: its write was protected
      return "early";
    });
    const late = batches.run("k", async (_lease, written) => {
      written(); // writes after the validity ran out
      return "late";
    });
    const reader = batches.run("k", async () => "read-only");
    assert.equal(await early, "early");
    await assert.rejects(late, (e) => e === releaseError);
    assert.equal(await reader, "read-only", "a section that wrote nothing cannot have written beside another holder");
  });
}

test("a clean release hands every result out, however late", async () => {
  const batches = new LockBatches(async () => lease(5), 8);
  const slow = batches.run("k", async (_lease, written) => {
    await sleep(20);
    written();
    return 1;
  });
  assert.equal(await slow, 1);
});
