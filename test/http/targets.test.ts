import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, test } from "node:test";
import { newServerKey, seal } from "../../src/core/crypto.js";
import { checkRegistration, HttpOutcomeError } from "../../src/driver/httpClient.js";
import { regbenchAsync, tempDir } from "../helpers.js";
import { createServer as createTcpServer, type Socket } from "node:net";
import { mysql, postgres } from "../dbEnv.js";
import { REDIS_URL, skipWithoutRedis } from "../redisEnv.js";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A target written by someone else: a handler per request, and the audit rows it keeps. */
async function target(handle: (body: Record<string, string>, res: ServerResponse, req: IncomingMessage) => void): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString()));
    req.on("end", () => handle(text ? (JSON.parse(text) as Record<string, string>) : {}, res, req));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const json = (res: ServerResponse, status: number, body: string) => res.writeHead(status, { "content-type": "application/json" }).end(body);

test("a 200 counts only with a JSON object carrying machineId and a dotted-quad ipv4 (and config with the server key)", () => {
  const ok = checkRegistration(200, '{"machineId":"m1","ipv4":"10.0.0.2","config":"x"}', true);
  assert.deepEqual(ok, { machineId: "m1", ipv4: "10.0.0.2", config: "x" });
  assert.equal(checkRegistration(200, '{"machineId":"m1","ipv4":"10.0.0.2"}', false).config, "");
  for (const [text, requireConfig] of [
    ["null", false],
    ['{"ok":true}', false],
    ["[]", false],
    ["not json", false],
    ["", false],
    ['{"machineId":1,"ipv4":"10.0.0.2"}', false],
    ['{"machineId":"m","ipv4":"10.0.0.256"}', false],
    ['{"machineId":"m","ipv4":"10.0.0"}', false],
    ['{"machineId":"m","ipv4":"10.0.0.2","config":5}', false],
    ['{"machineId":"m","ipv4":"10.0.0.2"}', true],
  ] as const) {
    assert.throws(
      () => checkRegistration(200, text, requireConfig),
      (e) => e instanceof HttpOutcomeError && e.kind === "malformed-response",
      text,
    );
  }
  assert.throws(
    () => checkRegistration(503, '{"error":"lock-timeout"}', false),
    (e) => e instanceof HttpOutcomeError && e.kind === "lock-timeout",
  );
  assert.throws(
    () => checkRegistration(502, "<html>bad gateway</html>", false),
    (e) => e instanceof HttpOutcomeError && e.kind === "http-502",
  );
  assert.throws(
    () => checkRegistration(400, '{"error":"<script>"}', false),
    (e) => e instanceof HttpOutcomeError && e.kind === "http-400",
  );
});

test("a target at a closed port: exit 3 before measuring, naming the URL", async () => {
  // The spawn's timeout guards against a hang; how fast it fails is a benchmark's matter, not a test's.
  const r = await regbenchAsync(["run", "--target", "http://127.0.0.1:1", "-n", "50", "--no-save"], { env: { REGBENCH_PROJECTS: "p:k" }, timeoutMs: 30_000 });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /cannot reach the target at http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/);
  assert.equal(r.stdout, "", "nothing measured, no table");
});

/** A run against something that is not an HTTP server: exit 3, the URL named, nothing measured. */
async function assertNotHttp(url: string): Promise<void> {
  const r = await regbenchAsync(["run", "--target", url, "-n", "50", "--no-save"], { env: { REGBENCH_PROJECTS: "p:k" }, timeoutMs: 30_000 });
  assert.equal(r.code, 3, r.stderr);
  assert.ok(r.stderr.includes(`the target at ${url} does not answer HTTP`), r.stderr);
  assert.equal(r.stdout, "", "nothing measured, no table");
}

test("a target that answers something else than HTTP, or closes at once: exit 3 within seconds, naming the URL", async () => {
  for (const behave of [(s: import("node:net").Socket) => s.end("-ERR unknown command 'GET'\r\n"), (s: import("node:net").Socket) => s.destroy()]) {
    const srv = createTcpServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", () => behave(socket));
    });
    await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", () => resolve()));
    try {
      await assertNotHttp(`http://127.0.0.1:${(srv.address() as AddressInfo).port}`);
    } finally {
      srv.close();
    }
  }
});

test("--target at Redis's port: exit 3, the target does not answer HTTP", { skip: skipWithoutRedis }, async () => {
  const { port } = new URL(REDIS_URL);
  await assertNotHttp(`http://127.0.0.1:${port || 6379}`);
});

test("--target at PostgreSQL's port: exit 3, the target does not answer HTTP", { skip: postgres.skip }, async () => {
  await assertNotHttp("http://127.0.0.1:5432");
});

test("--target at MySQL's port (the server speaks first): exit 3, the target does not answer HTTP", { skip: mysql.skip }, async () => {
  await assertNotHttp("http://127.0.0.1:3306");
});

test("the run header names the target, not a store of regbench's own", async () => {
  const { url } = await target((_b, res) => json(res, 200, JSON.stringify({ machineId: "x", ipv4: "10.0.0.2" })));
  const r = await regbenchAsync(["run", "--target", url, "-n", "5", "-c", "1", "--workers", "3", "--no-save"], { env: { REGBENCH_PROJECTS: "p:k" } });
  assert.equal(r.code, 0, r.stderr);
  // -c below the thread count: only that many threads.
  assert.match(r.stdout + r.stderr, / 1 generator thread\(s\)/);
  assert.match(r.stdout + r.stderr, new RegExp(`target ${url.replace(/[.]/g, "\\.")}`));
  assert.doesNotMatch(r.stdout + r.stderr, /sqlite \(temporary file\)/);
});

test("a target that accepts and never answers: --timeout 1s -n 50 ends with 50 timeout errors", async () => {
  const { url } = await target(() => {
    // never answers
  });
  const r = await regbenchAsync(["run", "--target", url, "--timeout", "1s", "-n", "50", "--json", "--no-save"], { env: { REGBENCH_PROJECTS: "p:k" } });
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout).results[0];
  assert.deepEqual(result.errors, { timeout: 50 });
  assert.equal(result.succeeded, 0);
  assert.equal(result.audit, null);
});

test("a silent target with --timeout 1s -c 5 -n 50 and the default threads: the last request is sent with all 5 in flight", async () => {
  // The target never answers; it counts the requests it holds when each one arrives.
  let pending = 0;
  const heldAtArrival: number[] = [];
  const { url } = await target((_body, res, req) => {
    if (req.url !== "/v1/register") return; // the probe and the audit read
    heldAtArrival.push(++pending);
    res.on("close", () => pending--);
  });
  const r = await regbenchAsync(["run", "--target", url, "--timeout", "1s", "-c", "5", "-n", "50", "--json", "--no-save"], {
    env: { REGBENCH_PROJECTS: "p:k" },
  });
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout).results[0];
  assert.deepEqual(result.errors, { timeout: 50 });
  // One schedule: 50 requests, 5 in flight, 10 rounds; the last round still has all 5. Static shares (2/2/1
  // connections, a third of -n each) left one connection with 17 requests, alone at the end: it arrived to find 1.
  assert.equal(heldAtArrival.length, 50);
  assert.ok(heldAtArrival.at(-1)! >= 5, `held at the last arrival: ${heldAtArrival.slice(-10).join(", ")}`);
});

test("a target silent through the probe and every request: its audit rows are waited for no longer than --timeout", async () => {
  // Accepts connections, never sends a byte (not even to the audit request).
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const r = await regbenchAsync(["run", "--target", url, "--timeout", "1s", "-n", "5", "-c", "5", "--json", "--no-save"], {
    env: { REGBENCH_PROJECTS: "p:k" },
  });
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout).results[0];
  assert.deepEqual(result.errors, { timeout: 5 });
  assert.equal(result.audit, null);
  assert.match(result.notes.join("\n"), /audit n\/a: GET \/v1\/audit\/rows failed: no answer within 1000 ms/);
});

test("a target that answers its registrations but not the audit is given as long as before: --timeout, at least 2 s", async () => {
  const { url } = await target((body, res, req) => {
    if (req.url?.startsWith("/v1/audit/rows")) return; // never answers
    json(res, 200, JSON.stringify({ machineId: body.machineId, ipv4: "10.0.0.2" }));
  });
  const r = await regbenchAsync(["run", "--target", url, "--timeout", "1s", "-n", "5", "-c", "1", "--json", "--no-save"], {
    env: { REGBENCH_PROJECTS: "p:k" },
  });
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout).results[0];
  assert.equal(result.succeeded, 5);
  assert.equal(result.audit, null);
  assert.match(result.notes.join("\n"), /audit n\/a: GET \/v1\/audit\/rows failed: no answer within 2000 ms/);
});

test("a target answering 200 null, or 200 {ok: true}: counted as malformed-response, never a crash or a success", async () => {
  for (const body of ["null", '{"ok":true}']) {
    const { url } = await target((_b, res) => json(res, 200, body));
    const r = await regbenchAsync(["run", "--target", url, "-n", "50", "-c", "5", "--json", "--no-save"], { env: { REGBENCH_PROJECTS: "p:k" } });
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout).results[0];
    assert.deepEqual(result.errors, { "malformed-response": 50 }, body);
    assert.equal(result.succeeded, 0);
  }
});

test("a correct target whose configs write interfaceAddr unquoted is audited clean: its YAML is read as YAML", async () => {
  const serverKey = newServerKey();
  const token = "a-token-of-the-target";
  const rows: { machineId: string; projectId: string; ipv4: string }[] = [];
  let next = 2;
  const { url } = await target((body, res, req) => {
    if (req.url?.startsWith("/v1/audit/rows")) {
      if (req.headers.authorization !== `Bearer ${token}`) return json(res, 401, '{"error":"unauthorized"}');
      const run = new URL(req.url, "http://x").searchParams.get("run")!;
      return json(res, 200, JSON.stringify({ run, systems: [], machines: rows.filter((m) => m.machineId.startsWith(`${run}-`)) }));
    }
    if (req.url !== "/v1/register") return json(res, 404, '{"error":"not-found"}');
    const ipv4 = `10.0.${Math.floor(next / 250)}.${next++ % 250}`;
    rows.push({ machineId: body.machineId!, projectId: body.projectId!, ipv4 });
    // Another implementation's YAML: unquoted, other key order, a comment.
    const config = `# written by another service\nlisten: ':51820'\ninterfaceAddr: ${ipv4}/12\nmachineId: ${body.machineId}\n`;
    json(res, 200, JSON.stringify({ machineId: body.machineId, ipv4, config: seal(config, serverKey) }));
  });
  const secrets = join(tempDir(), "secrets.json");
  writeFileSync(secrets, JSON.stringify({ projects: [{ id: "p", key: "k" }], serverKey: serverKey.toString("hex"), auditToken: token }), { mode: 0o600 });
  const r = await regbenchAsync(["run", "--target", url, "--secrets-file", secrets, "-n", "200", "-c", "10", "--json", "--no-save"]);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout).results[0];
  assert.equal(result.succeeded, 200);
  assert.deepEqual(result.audit, { duplicateSystems: 0, duplicateMachines: 0, duplicateIps: 0, lostRegistrations: 0, violations: 0, unacknowledgedRows: 0 });
});

test("merge --target whose target does not answer: the audit is n/a, never the agents' sum", async () => {
  const dir = tempDir();
  const { url, server } = await target((body, res, req) => {
    if (req.url?.startsWith("/v1/audit/rows")) return json(res, 200, JSON.stringify({ systems: [], machines: [] }));
    json(res, 200, JSON.stringify({ machineId: body.machineId, ipv4: "10.0.0.2", config: "x" }));
  });
  const agent = join(dir, "agent.json");
  const r = await regbenchAsync(["run", "--target", url, "-n", "20", "-c", "2", "--no-save", "--export-json", agent], { env: { REGBENCH_PROJECTS: "p:k" } });
  assert.equal(r.code, 0, r.stderr);
  assert.notEqual(JSON.parse(readFileSync(agent, "utf8")).results[0].audit, null, "each agent audited its own rows");
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const merged = await regbenchAsync(["merge", agent, agent, "--target", url, "--timeout", "2s"], { cwd: dir });
  assert.equal(merged.code, 0, merged.stderr);
  const doc = JSON.parse(merged.stdout);
  assert.equal(doc.results[0].audit, null);
  assert.match(doc.notes.join("\n"), /target: audit n\/a: GET \/v1\/audit\/rows failed: ECONNREFUSED/);
});

test("secrets can come from the environment; the command line's are flagged as visible", async () => {
  const { url } = await target((body, res, req) => {
    if (req.url?.startsWith("/v1/audit")) return json(res, 404, "{}");
    json(res, body.key === "from-env" ? 200 : 401, JSON.stringify({ machineId: body.machineId, ipv4: "10.0.0.2", error: "wrong-key" }));
  });
  const viaEnv = await regbenchAsync(["run", "--target", url, "-n", "10", "-c", "1", "--json", "--no-save"], { env: { REGBENCH_PROJECTS: "p:from-env" } });
  assert.equal(JSON.parse(viaEnv.stdout).results[0].succeeded, 10);
  assert.doesNotMatch(viaEnv.stderr, /on the command line/);
  const viaFlag = await regbenchAsync(["run", "--target", url, "--project", "p:from-env", "-n", "10", "-c", "1", "--json", "--no-save"]);
  assert.match(viaFlag.stderr, /--project puts a secret on the command line/);
  assert.doesNotMatch(viaFlag.stdout + viaFlag.stderr, /from-env/, "the key itself is never printed");
});
