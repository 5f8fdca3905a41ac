import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { parseDurationMs } from "../../src/cli/parsers.js";
import { NemesisRun } from "../../src/driver/nemeses.js";
import { parseNemesis, type Nemesis } from "../../src/faults/nemesis.js";
import { startFaultProxy } from "../../src/faults/proxy.js";

const nemesis = (text: string) => parseNemesis(text, parseDurationMs) as Nemesis;

test("overlapping network nemeses on one service: a reset inside a partition leaves the partition on; the end of the window heals", async () => {
  const upstream = createServer((s) => {
    s.on("error", () => {});
    s.pipe(s);
  });
  upstream.listen(0, "127.0.0.1");
  await once(upstream, "listening");
  const proxy = await startFaultProxy({ host: "127.0.0.1", port: (upstream.address() as { port: number }).port });
  try {
    const run = new NemesisRun([nemesis("partition:store:60s@0ms"), nemesis("reset:store@50ms"), nemesis("partition:redis:1s@0ms")], {});
    assert.deepEqual([...run.proxiedServices()].sort(), ["redis", "store"]);
    run.attachProxies("store", [proxy]);
    // A connection open before the partition is held by it; the reset then ends it.
    const client = connect({ host: "127.0.0.1", port: proxy.port });
    client.on("error", () => {});
    await once(client, "connect");
    run.start();
    for (let i = 0; i < 500 && proxy.stats().reset === 0; i++) await sleep(5);
    assert.equal(proxy.stats().reset, 1);
    assert.equal(proxy.currentMode.kind, "blackhole", "the partition goes on after the reset");
    const [partition, reset, other] = await run.finish();
    assert.equal(proxy.currentMode.kind, "pass", "healed when the window ends");
    assert.equal(partition!.applied, true);
    assert.ok(partition!.endMs !== null && partition!.endMs >= partition!.startMs!);
    assert.equal(reset!.applied, true);
    assert.match(reset!.detail, /reset 1 connection\(s\) with a TCP RST$/);
    assert.equal(other!.applied, false);
    assert.equal(other!.detail, "this strategy does not use Redis");
  } finally {
    await proxy.stop();
    upstream.close();
  }
});
