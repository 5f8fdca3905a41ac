import assert from "node:assert/strict";
import { test } from "node:test";
import { parseDurationMs } from "../../src/cli/parsers.js";
import { DEFAULT_NEMESIS_AT_MS, parseNemesis, renderNemesisKinds } from "../../src/faults/nemesis.js";
import { regbench } from "../helpers.js";
import { cli } from "../inProcessCli.js";

const parse = (text: string) => parseNemesis(text, parseDurationMs);

test("nemeses parse with the durations of every other flag, @AT from the measured window's start", () => {
  assert.deepEqual(parse("pause:instance:3s@2s"), { kind: "pause-instance", spec: "pause:instance:3s@2s", atMs: 2000, durationMs: 3000 });
  assert.deepEqual(parse("pause:instance#2:500ms@1.5s"), {
    kind: "pause-instance",
    spec: "pause:instance#2:500ms@1.5s",
    atMs: 1500,
    durationMs: 500,
    instance: 2,
  });
  assert.deepEqual(parse("kill:instance@2s"), { kind: "kill-instance", spec: "kill:instance@2s", atMs: 2000 });
  assert.deepEqual(parse("restart:instance#1"), { kind: "restart-instance", spec: "restart:instance#1", atMs: DEFAULT_NEMESIS_AT_MS, instance: 1 });
  assert.deepEqual(parse("restart:redis@250ms"), { kind: "restart-redis", spec: "restart:redis@250ms", atMs: 250 });
  assert.deepEqual(parse("kill-connections:store@1s"), { kind: "kill-connections-store", spec: "kill-connections:store@1s", atMs: 1000 });
});

test("network and etcd-member nemeses parse: the service, the delay, how long", () => {
  assert.deepEqual(parse("partition:etcd:3s@1s"), { kind: "partition", spec: "partition:etcd:3s@1s", atMs: 1000, service: "etcd", durationMs: 3000 });
  assert.deepEqual(parse("latency:redis:200ms:3s@2s"), {
    kind: "latency",
    spec: "latency:redis:200ms:3s@2s",
    atMs: 2000,
    service: "redis",
    delayMs: 200,
    durationMs: 3000,
  });
  assert.deepEqual(parse("reset:store@2s"), { kind: "reset", spec: "reset:store@2s", atMs: 2000, service: "store", durationMs: 0 });
  assert.deepEqual(parse("reset:store:1s@2s"), { kind: "reset", spec: "reset:store:1s@2s", atMs: 2000, service: "store", durationMs: 1000 });
  assert.deepEqual(parse("kill:etcd-member@2s"), { kind: "kill-etcd-member", spec: "kill:etcd-member@2s", atMs: 2000 });
  assert.deepEqual(parse("kill:etcd-member#3"), { kind: "kill-etcd-member", spec: "kill:etcd-member#3", atMs: DEFAULT_NEMESIS_AT_MS, member: 3 });
  assert.deepEqual(parse("pause:etcd-leader:2s@2s"), { kind: "pause-etcd-leader", spec: "pause:etcd-leader:2s@2s", atMs: 2000, durationMs: 2000 });
  assert.match(parse("partition:etcd@1s") as string, /needs how long/);
  assert.match(parse("partition:etcd:0s") as string, /above 0/);
  assert.match(parse("latency:redis:3s") as string, /needs the delay and how long/);
  assert.match(parse("latency:redis:fast:3s") as string, /the delay must be a duration/);
  assert.match(parse("reset:store:1s:2s") as string, /at most how long/);
  assert.match(parse("partition:consul:1s") as string, /expected one of/);
  assert.match(parse("kill:etcd-member#0") as string, /counted from 1/);
  assert.match(parse("pause:etcd-leader") as string, /needs how long/);
});

test("a malformed nemesis says what is wrong", () => {
  assert.match(parse("pause:instance@2s") as string, /needs how long/);
  assert.match(parse("pause:instance:0s") as string, /above 0/);
  assert.match(parse("kill:instance@soon") as string, /after @ must be a duration/);
  assert.match(parse("kill:instance#0") as string, /counted from 1/);
  assert.match(parse("kill:instance@1s@2s") as string, /one @/);
  assert.match(parse("flood:redis") as string, /expected one of .*regbench nemeses/);
});

test("regbench nemeses lists every kind with what it needs", () => {
  const r = regbench(["nemeses"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), renderNemesisKinds());
  for (const form of [
    "pause:instance",
    "kill:instance",
    "restart:instance",
    "restart:redis",
    "kill-connections:store",
    "partition:redis\\|etcd\\|store",
    "latency:redis\\|etcd\\|store",
    "reset:redis\\|etcd\\|store",
    "kill:etcd-member",
    "pause:etcd-leader",
  ])
    assert.match(r.stdout, new RegExp(form));
});

test("a nemesis the run cannot apply is exit 2 naming why, before anything runs", async () => {
  const cases: [string[], RegExp][] = [
    [["--nemesis", "pause:instance:1s"], /in-process run has none.*--mode http/],
    [["--mode", "http", "--nemesis", "kill:instance"], /only instance.*--instances 2/],
    [["--mode", "http", "--instances", "2", "--nemesis", "kill:instance#3"], /names instance #3, but the run has 2/],
    [["--strategy", "redis", "--redis", "redis://127.0.0.1:6379", "--nemesis", "restart:redis"], /never restarts a server it did not start.*--redis auto/],
    [["--strategy", "atomic", "--redis", "auto", "--nemesis", "restart:redis"], /needs a Redis strategy/],
    [["--nemesis", "kill-connections:store"], /has no connections to end.*postgres/],
    [["--duration", "2s", "--nemesis", "kill-connections:store@3s", "--store", "postgres://postgres@127.0.0.1:5432/test"], /after the 2000 ms measured window/],
    [["--target", "http://127.0.0.1:9", "--project", "p:k", "--nemesis", "kill:instance"], /--target: regbench does not control/],
    [["--nemesis", "flood:redis"], /is not understood/],
    [["--strategy", "etcd-fenced", "--nemesis", "partition:etcd:1s"], /in-process run has none.*--mode http/],
    [["--mode", "http", "--strategy", "redis", "--nemesis", "partition:etcd:1s"], /no strategy of the run connects to it.*etcd strategy/],
    [["--mode", "http", "--strategy", "atomic", "--nemesis", "latency:redis:100ms:1s"], /needs a strategy that uses Redis/],
    [["--mode", "http", "--strategy", "atomic", "--nemesis", "reset:store"], /opened in the instances' own processes.*postgres/],
    [["--strategy", "etcd-fenced", "--etcd", "auto", "--nemesis", "kill:etcd-member"], /three members or more.*--etcd auto:3/],
    [
      ["--strategy", "etcd-fenced", "--etcd", "http://127.0.0.1:2379", "--nemesis", "pause:etcd-leader:1s"],
      /never kills or stops a server it did not start.*auto:3/,
    ],
    [["--strategy", "atomic", "--etcd", "auto:3", "--nemesis", "kill:etcd-member"], /needs an etcd strategy/],
    [["--strategy", "etcd", "--etcd", "auto:3", "--nemesis", "kill:etcd-member#4"], /names etcd member #4, but the cluster has 3/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(["run", "--no-save", ...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /--nemesis/);
    assert.match(r.stderr, message, args.join(" "));
  }
});

test("a server instance that died makes a clean result ⚠, never a silent ✓", async () => {
  const { fixtureReport } = await import("../report/fixture.js");
  const { verdictState, verdictText } = await import("../../src/report/verdict.js");
  const clean = fixtureReport().results.find((r) => verdictState(r) === "pass")!;
  assert.ok(clean, "the fixture has a passing result");
  const died = { ...clean, instanceDeaths: [{ instance: 2, pid: 4242, atMs: 2010, reason: "exited on SIGKILL", nemesis: "kill:instance@2s" }] };
  assert.equal(verdictState(died), "warn");
  assert.match(verdictText({ ...died, verdict: "warn" }, [died]), /#2 exited on SIGKILL/);
});

test("the reports show each nemesis window: the Markdown timeline shades its seconds, the HTML timeline its span", async () => {
  const { fixtureReport } = await import("../report/fixture.js");
  const { EXPORTERS } = await import("../../src/report/exporters/registry.js");
  const report = fixtureReport();
  const [first, ...rest] = report.results;
  const timeline = [0, 1, 2, 3].map((t) => ({ t, spanS: 1, completed: 100 - t, errors: t === 2 ? 7 : 0, p50Ms: 1, p99Ms: 2 }));
  const struck = {
    ...first!,
    timeline,
    nemeses: [{ spec: "pause:instance:1s@1s", startMs: 1200, endMs: 2300, applied: true, detail: "instance #1 (pid 42) froze itself" }],
    instanceDeaths: [{ instance: 2, pid: 43, atMs: 2500, reason: "exited on SIGKILL" }],
  };
  const withNemeses = { ...report, config: { ...report.config, nemeses: ["pause:instance:1s@1s: …"] }, results: [struck, ...rest] };
  const md = EXPORTERS.md!.render(withNemeses);
  assert.match(md, /\| nemeses \| pause:instance:1s@1s: … \|/);
  assert.match(md, /## Nemeses/);
  assert.match(md, /\| pause:instance:1s@1s \| 1\.20 \| 2\.30 \| yes \| instance #1 \(pid 42\) froze itself \|/);
  // Seconds 1 and 2 overlap the window [1.2, 2.3]; 0 and 3 do not.
  assert.match(md, /\| 1 \| 99 \| 0 \| ▓ pause:instance:1s@1s \|/);
  assert.match(md, /\| 2 \| 98 \| 7 \| ▓ pause:instance:1s@1s \|/);
  assert.match(md, /\| 3 \| 97 \| 0 \| {2}\|/);
  assert.match(md, /instance #2 \(pid 43\) exited on SIGKILL at 2\.50 s: no nemesis asked for it/);
  const html = EXPORTERS.html!.render(withNemeses);
  assert.match(html, /"nemeses":\[\{"spec":"pause:instance:1s@1s","from":1\.2,"to":2\.3\}\]/);
  assert.match(html, /nemesis pause:instance:1s@1s 1\.20–2\.30 s: instance #1 \(pid 42\) froze itself/);
  // Without nemeses, nothing of this appears (the golden files stay as they are).
  assert.doesNotMatch(EXPORTERS.md!.render(report), /Nemeses/);
});
