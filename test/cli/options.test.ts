import assert from "node:assert/strict";
import { test } from "node:test";
import { buildRunConfig, UsageError } from "../../src/cli/options.js";
import { LIMITS } from "../../src/cli/parsers.js";
import { serveCommand } from "../../src/cli/commands/serve.js";
import type { Io } from "../../src/cli/shared.js";

/** The UsageError `fn` throws (fails the test if it throws none, or another error). */
function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  assert.fail("no UsageError");
}

test("every numeric option has an upper bound, checked without 32-bit truncation: exit 2 naming the flag and the bound", () => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    // 2^32 + 16 passed `n & (n - 1)`, which sees only its low 32 bits (16).
    [{ shards: String(2 ** 32 + 16) }, "--shards", /at most 65536/],
    [{ shards: "1073741824" }, "--shards", /at most 65536/],
    [{ shards: "131072" }, "--shards", /at most 65536/],
    [{ shards: String(2 ** 53 + 2) }, "--shards", /whole number/],
    [{ requests: "1000000000" }, "--requests (-n)", /at most 100000000/],
    // A /1 pool, so that only the sum is wrong (10.0.0.0/1 is no network: every option is parsed before the rules).
    [{ requests: "60000000", warmup: "60000000", cidr: "0.0.0.0/1" }, "--warmup", /more than 100000000/],
    [{ concurrency: "10000000" }, "--concurrency (-c)", /at most 100000/],
    [{ warmup: "200000000" }, "--warmup", /at most 100000000/],
    [{ systems: String(2 ** 32) }, "--systems", /at most 4294967295/],
    [{ projects: "1000000", systems: "2000000" }, "--projects", /at most 10000/],
    [{ seed: String(2 ** 32) }, "--seed", /at most 4294967295/],
    [{ instances: "1000", mode: "http" }, "--instances", /at most 64/],
    [{ lockTimeout: "40000m" }, "--lock-timeout", /at most 2147483647 ms/],
    [{ duration: "40000m" }, "--duration", /at most 2147483647 ms/],
    [{ lockTtl: "40000m" }, "--lock-ttl", /at most 2147483647 ms/],
    [{ lockWait: "40000m" }, "--lock-wait", /at most 2147483647 ms/],
    [{ dbLatency: "40000m" }, "--db-latency", /at most 2147483647 ms/],
    [{ warmup: "40000m" }, "--warmup", /at most 2147483647 ms/],
    [{ timeout: "40000m", mode: "http" }, "--timeout", /at most 2147483647 ms/],
    [{ stages: "40000m:10" }, "--stages", /longer than 2147483647 ms/],
    [{ stages: "1s:1000000" }, "--stages", /concurrency above 100000/],
    // Past the last instant a Date holds (8.64e15 ms), toISOString threw a RangeError.
    [{ startAt: "99999999999999999" }, "--start-at", /more than a day ahead .* it must be from 1000000000000 \(2001\) to \d+ \(20/],
    [{ startAt: "9".repeat(400) }, "--start-at", /more than a day ahead/],
    [{ startAt: "9999-12-31T23:59:59Z" }, "--start-at", /more than a day ahead \(9999-12-31T23:59:59\.000Z\)/],
  ];
  for (const [options, flag, problem] of cases) {
    const error = usageError(() => buildRunConfig({ strategy: "atomic", ...options }));
    assert.equal(error.flag, flag, JSON.stringify(options));
    assert.match(error.message, problem, JSON.stringify(options));
  }
});

test("the bounds themselves are accepted", () => {
  const config = buildRunConfig({
    strategy: "atomic",
    shards: String(LIMITS.shards.max),
    seed: String(LIMITS.seed.max),
    systems: String(LIMITS.systems.max),
    lockTimeout: "35791m",
    concurrency: String(LIMITS.concurrency.max),
  });
  assert.equal(config.strategy.shards, 65_536);
  assert.equal(config.workload.seed, 2 ** 32 - 1);
  assert.equal(config.strategy.lockTimeoutMs, 35_791 * 60_000);
  assert.equal(usageError(() => buildRunConfig({ strategy: "atomic", shards: "12" })).flag, "--shards");
});

test("serve --header-timeout: a duration from 1 ms to 5 minutes, refused before anything starts", async () => {
  const io = { stdout: process.stdout, stderr: process.stderr, env: {} } as unknown as Io;
  for (const value of ["0", "6m", "soon", "1e400"]) {
    await assert.rejects(serveCommand({ headerTimeout: value }, io), (error: unknown) => {
      assert.ok(error instanceof UsageError, String(error));
      assert.equal(error.flag, "--header-timeout");
      assert.match(error.message, /from 1ms to 5m/);
      return true;
    });
  }
});
