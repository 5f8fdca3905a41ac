import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, test } from "node:test";
import { BIN, regbench, tempDir } from "../helpers.js";
import { cli } from "../inProcessCli.js";

const cwd = tempDir();

test("an HTTP run end to end: a server process per strategy, regbench's HTTP client, the audit through the endpoint", () => {
  // --db-latency makes the store yield between its read and its write, so `none` races over HTTP as it does in-process.
  const r = regbench(["run", "--mode", "http", "--strategy", "atomic,none", "-c", "20", "-n", "400", "--db-latency", "1", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.config.mode, "http");
  const [atomic, none] = doc.results;
  assert.equal(atomic.succeeded, 400);
  assert.equal(atomic.audit.violations, 0);
  assert.ok(atomic.memory.peakRssMb > 10, "the server's RSS");
  // The broken strategy shows as broken, counted from the server's rows through the audit endpoint.
  assert.equal(none.succeeded, 400);
  assert.ok(none.audit.duplicateIps > 0, JSON.stringify(none.audit));
  assert.equal(none.audit.violations, none.audit.duplicateIps + none.audit.duplicateSystems + none.audit.duplicateMachines + none.audit.lostRegistrations);
});

test("--instances 2: sharded loses its guarantee across processes, db-unique keeps it", () => {
  const r = regbench(["run", "--mode", "http", "--instances", "2", "--strategy", "sharded,db-unique", "-c", "100", "-n", "600", "--db-latency", "1", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  const [sharded, dbUnique] = doc.results;
  assert.equal(doc.config.instances, 2);
  assert.ok(sharded.audit.violations > 0, JSON.stringify(sharded.audit));
  assert.equal(dbUnique.audit.violations, 0, JSON.stringify(dbUnique.audit));
});

test("regbench serve in one process, run --target in another, the audit filled in from the endpoint", async () => {
  const server = spawn(process.execPath, [BIN, "serve", "--strategy", "atomic", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"], cwd });
  let out = "";
  const [, url, secrets] = await new Promise<RegExpExecArray>((resolve, reject) => {
    server.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /regbench run --target (\S+) --secrets-file (\S+)/.exec(out);
      if (match) resolve(match);
    });
    server.once("exit", (code) => reject(new Error(`serve exited ${code}: ${out}`)));
  });
  // Whatever happens below, the server must not outlive the test.
  after(() => server.exitCode === null && server.kill("SIGKILL"));
  const file = JSON.parse(readFileSync(secrets!, "utf8"));
  assert.ok(!out.includes(file.projects[0].key) && !out.includes(file.serverKey) && !out.includes(file.auditToken), "no secret is printed");
  assert.equal(statSync(secrets!).mode & 0o777, 0o600);
  const r = regbench(["run", "--target", url!, "--secrets-file", secrets!, "-c", "10", "-n", "200", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.results[0].strategy, "target");
  assert.equal(doc.results[0].succeeded, 200);
  assert.deepEqual(doc.results[0].audit, {
    duplicateSystems: 0,
    duplicateMachines: 0,
    duplicateIps: 0,
    lostRegistrations: 0,
    violations: 0,
    unacknowledgedRows: 0,
  });
  assert.equal(doc.results[0].memory.peakRssMb, null, "a target's memory is unknown, not 0");
  server.kill("SIGTERM");
  const code = await new Promise<number | null>((resolve) => server.once("exit", resolve));
  assert.equal(code, 0);
  assert.match(out, /stopped · peak RSS/);
  assert.ok(!existsSync(secrets!), "the generated secrets file is removed at exit");
});

test("a target without the audit endpoint: audit n/a, never 0, with a note", async () => {
  const server = spawn(process.execPath, [BIN, "serve", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"], cwd });
  after(() => server.exitCode === null && server.kill("SIGKILL"));
  let out = "";
  const [, url, secrets] = await new Promise<RegExpExecArray>((resolve) => {
    server.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /--target (\S+) --secrets-file (\S+)/.exec(out);
      if (match) resolve(match);
    });
  });
  // A proxy that forwards registrations and knows nothing of /v1/audit/rows.
  const forward = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.url !== "/v1/register") {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const upstream = await fetch(`${url}/v1/register`, { method: "POST", headers: { "content-type": "application/json" }, body: Buffer.concat(chunks) });
    res.writeHead(upstream.status, { "content-type": "application/json" }).end(await upstream.text());
  };
  // A failed forward is a 502 the client counts, not an unhandled rejection.
  const proxy = createServer((req, res) => void forward(req, res).catch(() => res.writeHead(502).end()));
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", () => resolve()));
  after(() => proxy.close());
  const target = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const r = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, "run", "--target", target, "--secrets-file", secrets!, "-c", "5", "-n", "50"], {
      env: { ...process.env, NO_COLOR: "1" },
      cwd,
    });
    let stdout = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.once("exit", (code) => resolve({ code, stdout }));
  });
  proxy.close();
  server.kill("SIGTERM");
  await new Promise((resolve) => (server.exitCode !== null ? resolve(null) : server.once("exit", resolve)));
  assert.equal(r.code, 0);
  assert.match(r.stdout, /note · target: audit n\/a: the target answered 404 on GET \/v1\/audit\/rows/);
  assert.match(r.stdout, /target \? .*n\/a .*n\/a .*n\/a .*n\/a .*n\/a/);
});

test("HTTP flags are checked before anything runs", async () => {
  const cases: [string[], RegExp][] = [
    [["run", "--target", "ftp://x"], /--target is not an http:\/\/ URL/],
    [["run", "--target", "http://127.0.0.1:1"], /--target needs at least one project the target knows/],
    [["run", "--target", "http://127.0.0.1:1", "--project", "p:k", "--strategy", "atomic"], /--strategy cannot be combined with --target/],
    [["run", "--instances", "2"], /--instances needs --mode http/],
    [["run", "--mode", "http", "--store", "memory"], /--store memory cannot be opened by the server, which runs in another process/],
    [["run", "--target", "http://127.0.0.1:1", "--project", "pk"], /--project must be ID:KEY/],
    [["run", "--target", "http://127.0.0.1:1", "--project", "p:k", "--server-key", "abc"], /--server-key must be 64 hex digits/],
    [["run", "--target", "http://127.0.0.1:1", "--project", "p:k", "--fault", "pause:0.1:10"], /--fault cannot be injected into a --target/],
    [["run", "--project", "p:k"], /--project only applies with --target/],
    [["run", "--timeout", "1s"], /--timeout applies to HTTP runs only/],
    [["serve", "--fault", "redis-down:100"], /--fault redis-down cannot be injected by serve/],
    [["serve", "--strategy", "atomic,none"], /--strategy names one strategy for a server/],
    [["serve", "--port", "70000"], /--port must be a port number/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

test("--rate over HTTP: regbench paces, and measures from each request's due time", () => {
  const r = regbench(["run", "--mode", "http", "--strategy", "atomic", "--rate", "1000", "-c", "20", "-n", "1000", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout).results[0];
  assert.equal(result.succeeded, 1000);
  assert.equal(result.pacing.targetRate, 1000);
  // Never sent before they are due (a timer tick early at most): the achieved rate cannot pass the target.
  assert.ok(result.pacing.achievedRate > 0 && result.pacing.achievedRate <= 1000 * 1.01, JSON.stringify(result.pacing));
});
