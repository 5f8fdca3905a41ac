import assert from "node:assert/strict";
import { test } from "node:test";
import { evaluateThresholds, parseThreshold, ThresholdSyntaxError } from "../../src/gate/thresholds.js";
import { fixtureReport, histogramOf } from "../report/fixture.js";

const resultFor = (strategy: string) => ({ ...fixtureReport().results[0]!, strategy });

test("valid expressions parse into metric, operator and value in the metric's unit", () => {
  const cases: [string, object][] = [
    ["p99<50ms", { strategy: undefined, metric: "p99", op: "<", value: 50 }],
    ["p50<=2ms", { metric: "p50", op: "<=", value: 2 }],
    ["p99 < 1.5s", { metric: "p99", op: "<", value: 1500 }],
    ["p90<250us", { metric: "p90", op: "<", value: 0.25 }],
    ["tps>=1000", { metric: "tps", op: ">=", value: 1000 }],
    ["tps>1e9", { metric: "tps", op: ">", value: 1e9 }],
    ["errorRate<0.01", { metric: "errorRate", op: "<", value: 0.01 }],
    ["errorRate<1%", { metric: "errorRate", op: "<", value: 0.01 }],
    ["violations==0", { metric: "violations", op: "==", value: 0 }],
    ["lostRegistrations==0", { metric: "lostRegistrations", op: "==", value: 0 }],
    ["atomic:p99<20ms", { strategy: "atomic", metric: "p99", op: "<", value: 20 }],
    ["db-unique:tps!=0", { strategy: "db-unique", metric: "tps", op: "!=", value: 0 }],
  ];
  for (const [source, expected] of cases) {
    const t = parseThreshold(source);
    for (const [k, v] of Object.entries(expected)) assert.deepEqual((t as unknown as Record<string, unknown>)[k], v, `${source}: ${k}`);
  }
});

test("invalid expressions fail at the exact position with what was expected", () => {
  const cases: [string, number, RegExp][] = [
    ["", 0, /expected a metric/],
    ["p100<5ms", 0, /expected a metric .*not "p100"/],
    ["p99", 3, /expected a comparison/],
    ["p99=<5", 3, /expected a comparison/],
    ["p99<<5", 4, /expected a number/],
    ["p99<fast", 4, /expected a number/],
    ["p99<5kg", 5, /expected a unit for p99 \(ms, s, m, us, µs\)/],
    ["violations==0ms", 13, /violations takes no unit/],
    ["tps>5%", 5, /expected a unit for tps/],
    ["atomic:", 7, /expected a metric/],
    ["nosuch:p99<5ms", 0, /expected a strategy of this run/],
  ];
  for (const [source, position, message] of cases) {
    assert.throws(
      () => parseThreshold(source, ["atomic", "sharded"]),
      (e: unknown) => e instanceof ThresholdSyntaxError && e.position === position && message.test(e.expected),
      `${JSON.stringify(source)} should fail at ${position}`,
    );
  }
});

test("thresholds are checked per strategy in scope; unknown values fail", () => {
  const report = fixtureReport();
  const outcomes = evaluateThresholds([parseThreshold("violations==0"), parseThreshold("atomic:p99<20ms"), parseThreshold("p99<1000ms")], report.results);
  const by = (expr: string, s: string) => outcomes.find((o) => o.threshold.source === expr && o.strategy === s)!;
  assert.equal(by("violations==0", "atomic").passed, true);
  assert.equal(by("violations==0", "none").passed, false);
  assert.equal(by("violations==0", "target").measured, null, "a target without audit");
  assert.equal(by("violations==0", "target").passed, false);
  assert.equal(outcomes.filter((o) => o.threshold.source === "atomic:p99<20ms").length, 1);
  assert.equal(by("p99<1000ms", "global").passed, true);
});

test("p95, p99.9 and any other percentile parse, and are read from the result's histogram", () => {
  assert.deepEqual(parseThreshold("atomic:p99.9<500ms"), { source: "atomic:p99.9<500ms", strategy: "atomic", metric: "p99.9", op: "<", value: 500 });
  assert.equal(parseThreshold("p95 <= 250us").value, 0.25);
  assert.equal(parseThreshold("max<1m").value, 60_000);
  assert.equal(parseThreshold("p50<2µs").value, 0.002);
  const { histogram, latencyMs } = histogramOf(Array.from({ length: 1000 }, (_, i) => i + 1));
  const result = { ...resultFor("x"), histogram, latencyMs };
  const [p999] = evaluateThresholds([parseThreshold("p99.9<1000ms")], [result]);
  assert.equal(p999!.measured, latencyMs!.p999);
  assert.ok(p999!.passed);
  const [p75] = evaluateThresholds([parseThreshold("p75<=751ms")], [result]);
  assert.ok(p75!.measured! >= 749 && p75!.measured! <= 751, String(p75!.measured));
});
