import assert from "node:assert/strict";
import { connect, type AddressInfo, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { keyDigest, newServerKey } from "../../src/core/crypto.js";
import { defaultServiceSettings, RegistrationService } from "../../src/core/registration.js";
import { createRegistrationServer, DEFAULT_SERVER_SETTINGS, type ServerSettings } from "../../src/http/server.js";
import { withLatency } from "../../src/store/latency.js";
import { SqliteStore } from "../../src/store/sqlite.js";
import { findStrategy } from "../../src/strategies/registry.js";
import { DEFAULT_STRATEGY_SETTINGS, type Strategy } from "../../src/strategies/strategy.js";
import { mulberry32 } from "../../src/workload/prng.js";
import { project, request, tempDir } from "../helpers.js";

const dir = tempDir();
let n = 0;
const AUDIT_TOKEN = "test-audit-token";
const KEY_B = "project B's own key";
const auth = { authorization: `Bearer ${AUDIT_TOKEN}` };

/** A real server on a real SQLite file, around a strategy; the file's path is returned for direct inspection. */
async function start(
  strategyName = "atomic",
  opts: { cidr?: string; latencyMs?: number; lockTimeoutMs?: number; wrap?: (s: Strategy) => Strategy; settings?: Partial<ServerSettings> } = {},
) {
  const definition = findStrategy(strategyName)!;
  const path = `${dir}/h${n++}.db`;
  const raw = new SqliteStore({ path, constraints: definition.constraints, busyTimeoutMs: 1000 });
  await raw.createProject(project("t-p0", opts.cidr ?? "10.1.0.0/24"));
  await raw.createProject({ ...project("t-p1", "10.2.0.0/24"), keyDigest: keyDigest(KEY_B) });
  const store = withLatency(raw, opts.latencyMs ?? 0);
  const service = new RegistrationService(store, defaultServiceSettings(newServerKey()));
  let strategy = definition.create(service, { ...DEFAULT_STRATEGY_SETTINGS, lockKey: "system", lockTimeoutMs: opts.lockTimeoutMs ?? 5000 });
  if (opts.wrap) strategy = opts.wrap(strategy);
  const logged: string[] = [];
  const server = createRegistrationServer({
    strategy,
    store,
    strategyName,
    auditToken: AUDIT_TOKEN,
    log: (line) => void logged.push(line),
    ...(opts.settings ? { settings: { ...DEFAULT_SERVER_SETTINGS, ...opts.settings } } : {}),
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const rows = () => {
    const db = new Database(path, { readonly: true });
    const count = (table: string) => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
    const out = { machines: count("machines"), systems: count("systems"), projects: count("projects") };
    db.close();
    return out;
  };
  const stop = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await raw.close();
  };
  return { url, rows, logged, stop, server };
}

/** POSTs a body; `contentType` null sends none (a byte body, so that fetch adds none either). */
async function post(url: string, body: string | Buffer, contentType: string | null = "application/json") {
  const res = await fetch(`${url}/v1/register`, {
    method: "POST",
    headers: contentType === null ? {} : { "content-type": contentType },
    body: contentType === null ? Buffer.from(body) : body,
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text);
  } catch {
    // a non-JSON answer is itself asserted against below
  }
  return { status: res.status, json, headers: res.headers };
}

/** Writes raw bytes on a fresh connection and returns all the server answered until it closed the connection. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    let text = "";
    socket.on("data", (c: Buffer) => (text += c.toString()));
    socket.on("close", () => resolve(text));
  });
}

describe("the HTTP API", () => {
  let s: Awaited<ReturnType<typeof start>>;
  before(async () => (s = await start()));
  after(async () => s.stop());

  test("200 with machineId, ipv4 and the sealed config", async () => {
    const r = await post(s.url, JSON.stringify(request(1)));
    assert.equal(r.status, 200);
    assert.equal(r.json.machineId, "t-m1");
    assert.equal(r.json.ipv4, "10.1.0.2");
    assert.equal(typeof r.json.config, "string");
    assert.equal(r.headers.get("content-type"), "application/json; charset=utf-8");
  });

  test("each bad body gets a 4xx with a reason and changes nothing", async () => {
    const before = s.rows();
    const valid = request(2);
    const cases: [string | Buffer, number, RegExp, string?][] = [
      ['{"projectId": "t-p0", "key": ', 400, /malformed JSON/],
      ["", 400, /empty/],
      ["[]", 400, /JSON object/],
      ["null", 400, /JSON object/],
      [JSON.stringify({ ...valid, arch: 64 }), 400, /arch must be a string/],
      [JSON.stringify({ ...valid, machineId: ["x"] }), 400, /machineId must be a string/],
      [JSON.stringify({ ...valid, hostname: "h".repeat(300) }), 400, /hostname is longer than 253/],
      [JSON.stringify({ ...valid, admin: true }), 400, /admin is not a known field/],
      [JSON.stringify({ ...valid, kernelVersion: undefined }), 400, /kernelVersion is missing/],
      [JSON.stringify({ ...valid, hostname: "ok\u0000" }), 400, /control characters/],
      [JSON.stringify({ ...valid, projectId: "t-p0'; DROP TABLE machines; --" }), 404, /unknown project/],
      [JSON.stringify({ ...valid, key: "' OR '1'='1" }), 401, /wrong key/],
      [JSON.stringify({ ...valid, pad: "x".repeat(1024 * 1024) }), 413, /limit/],
      [JSON.stringify(valid), 415, /content-type/, "text/plain"],
      [JSON.stringify(valid), 415, /content-type header is missing/, "none"],
      ['{"projectId":"t-p0","constructor":"x"}', 400, /constructor is not a known field/],
      [JSON.stringify({ ...valid, toString: "x" }), 400, /toString is not a known field/],
      [`{${JSON.stringify(valid).slice(1, -1)},"__proto__":{"admin":true}}`, 400, /__proto__ is not a known field/],
      [JSON.stringify({ ...valid, hostname: "host-\ud800" }), 400, /hostname is not well-formed Unicode/],
      [JSON.stringify({ ...valid, machineId: "m-\udc00x" }), 400, /machineId is not well-formed Unicode/],
    ];
    for (const [body, status, message, type] of cases) {
      const r = await post(s.url, body, type === "none" ? null : type);
      assert.equal(r.status, status, `${String(body).slice(0, 60)} → ${JSON.stringify(r.json)}`);
      assert.match(String(r.json.message), message);
    }
    assert.deepEqual(s.rows(), before, "no row written");
    assert.equal((await fetch(`${s.url}/healthz`)).status, 200, "still serving");
  });

  test("unicode and SQL fragments in a valid request are stored as text", async () => {
    const r = await post(s.url, JSON.stringify(request(3, { hostname: "主机-'; DROP TABLE systems; --", distro: "Débian ✓" })));
    assert.equal(r.status, 200);
    const rows = s.rows();
    assert.ok(rows.systems >= 1 && rows.projects === 2);
  });

  test("unknown routes are 404, wrong methods 405 with Allow", async () => {
    assert.equal((await fetch(`${s.url}/v2/register`)).status, 404);
    const r = await fetch(`${s.url}/v1/register`);
    assert.equal(r.status, 405);
    assert.equal(r.headers.get("allow"), "POST");
  });

  test("the audit endpoint wants the token, and answers the exact run asked for", async () => {
    assert.equal((await fetch(`${s.url}/v1/audit/rows?run=t`)).status, 401);
    assert.equal((await fetch(`${s.url}/v1/audit/rows?run=t`, { headers: { authorization: "Bearer nope" } })).status, 401);
    assert.equal((await post(s.url, JSON.stringify(request(1, { machineId: "tx-m1", systemUuid: "tx-s0" })))).status, 200);
    const rows = (await (await fetch(`${s.url}/v1/audit/rows?run=t`, { headers: auth })).json()) as {
      machines: { machineId: string }[];
      systems: { systemUuid: string }[];
    };
    assert.ok(rows.machines.length > 0);
    assert.ok(
      rows.machines.every((m) => m.machineId.startsWith("t-")),
      "run t is not run tx",
    );
    assert.ok(rows.systems.every((m) => m.systemUuid.startsWith("t-")));
    const other = (await (await fetch(`${s.url}/v1/audit/rows?run=tx`, { headers: auth })).json()) as { machines: { machineId: string }[] };
    assert.deepEqual(
      other.machines.map((m) => m.machineId),
      ["tx-m1"],
    );
    assert.equal((await fetch(`${s.url}/v1/audit/rows?run=t-`, { headers: auth })).status, 400, "a dash ends a run prefix");
  });

  test("the audit endpoint pages: ?limit=…&after=… follows next through the systems, then the machines, to null", async () => {
    const all = (await (await fetch(`${s.url}/v1/audit/rows?run=t`, { headers: auth })).json()) as { machines: unknown[]; systems: unknown[] };
    const paged: { machines: unknown[]; systems: unknown[] } = { machines: [], systems: [] };
    let after: string | null = "";
    let pages = 0;
    while (after !== null) {
      const r = await fetch(`${s.url}/v1/audit/rows?run=t&limit=1${after ? `&after=${after}` : ""}`, { headers: auth });
      assert.equal(r.status, 200);
      const page = (await r.json()) as { machines: unknown[]; systems: unknown[]; next: string | null };
      assert.ok(page.systems.length + page.machines.length <= 1);
      paged.systems.push(...page.systems);
      paged.machines.push(...page.machines);
      after = page.next;
      assert.ok(++pages < 1000);
    }
    assert.deepEqual(paged, { systems: all.systems, machines: all.machines });
    assert.ok(all.machines.length >= 2 && pages > all.machines.length);
    for (const bad of ["limit=0", "limit=x", "limit=50001", "limit=5&after=x:1", "limit=5&after=s:-1"])
      assert.equal((await fetch(`${s.url}/v1/audit/rows?run=t&${bad}`, { headers: auth })).status, 400, bad);
  });

  test("the audit endpoint returns a run's identities and IPs, never keys or configs", async () => {
    const r = await fetch(`${s.url}/v1/audit/rows?run=t`, { headers: auth });
    const body = (await r.json()) as { machines: Record<string, unknown>[]; systems: unknown[] };
    assert.equal(r.status, 200);
    assert.ok(body.machines.length >= 2);
    assert.deepEqual(Object.keys(body.machines[0]!).sort(), ["ipv4", "machineId", "projectId"]);
    assert.equal((await fetch(`${s.url}/v1/audit/rows?run=`, { headers: auth })).status, 400);
    assert.equal((await fetch(`${s.url}/v1/audit/rows?run=a%27b`, { headers: auth })).status, 400);
  });

  test("a fuzz loop of random bodies gets no 500 and the server keeps serving", async () => {
    const random = mulberry32(99);
    const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
    const junk = () =>
      pick<unknown>([
        null,
        true,
        0,
        -1.5,
        1e308,
        "",
        "x".repeat(Math.floor(random() * 400)),
        [],
        {},
        [1, "a"],
        { a: { b: 1 } },
        "\u202e\ud83d\ude00",
        "' OR 1=1 --",
      ]);
    const before = s.rows();
    const statuses = new Map<number, number>();
    const acknowledged = new Set<unknown>();
    for (let i = 0; i < 2000; i++) {
      let body: string;
      const shape = random();
      if (shape < 0.3) {
        const r: Record<string, unknown> = { ...request(10_000 + i) };
        for (const k of Object.keys(r)) if (random() < 0.3) r[k] = junk();
        if (random() < 0.2) r[`x${i}`] = junk();
        body = JSON.stringify(r);
      } else if (shape < 0.6) {
        body = JSON.stringify(junk());
      } else if (shape < 0.8) {
        body = JSON.stringify(request(10_000 + i)).slice(0, Math.floor(random() * 200));
      } else {
        body = Buffer.from(Array.from({ length: Math.floor(random() * 300) }, () => Math.floor(random() * 256))).toString("latin1");
      }
      const r = await post(s.url, body);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.status === 200) acknowledged.add(r.json.machineId);
    }
    assert.equal(statuses.get(500) ?? 0, 0, JSON.stringify([...statuses]));
    assert.ok(
      [...statuses.keys()].every((code) => code === 200 || (code >= 400 && code < 500)),
      JSON.stringify([...statuses]),
    );
    // A junk machineID can repeat (two equal random strings): the second gets the first's row back.
    assert.equal(s.rows().machines - before.machines, acknowledged.size, "every written row was acknowledged, once");
    assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
  });
});

test("project B, with its own key, cannot obtain project A's machine row: 409, nothing of the row told", async () => {
  const s = await start("atomic");
  const a = await post(s.url, JSON.stringify(request(1)));
  assert.equal(a.status, 200);
  const b = await post(s.url, JSON.stringify(request(1, { projectId: "t-p1", key: KEY_B })));
  assert.equal(b.status, 409);
  assert.equal(b.json.error, "machine-conflict");
  assert.ok(!JSON.stringify(b.json).includes(String(a.json.ipv4)) && !JSON.stringify(b.json).includes("t-p0") && b.json.config === undefined);
  assert.equal(s.rows().machines, 1);
  await s.stop();
});

test("a malformed request target is a 400, logged once, never a stack trace per request", async () => {
  const s = await start("atomic");
  const { port } = new URL(s.url);
  for (let i = 0; i < 20; i++) {
    assert.match(await raw(Number(port), "GET //[ HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"), /^HTTP\/1\.1 400 /);
  }
  assert.ok(!s.logged.some((line) => /at .*\(.*:\d+:\d+\)/.test(line)), s.logged.join("\n"));
  await s.stop();
});

test("errors are logged at most once per kind per second, with the count of the rest", async () => {
  const s = await start("atomic", { wrap: (inner) => ({ ...inner, register: () => Promise.reject(new TypeError("boom")) }) });
  const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => post(s.url, JSON.stringify(request(i)))));
  assert.ok(answers.every((r) => r.status === 500 && /^[0-9a-f]{12}$/.test(String(r.json.errorId))));
  assert.equal(s.logged.length, 1, s.logged.join("\n"));
  await new Promise((r) => setTimeout(r, 1100));
  await post(s.url, JSON.stringify(request(99)));
  assert.equal(s.logged.length, 2);
  assert.match(s.logged[1]!, /and 49 more internal since the last line/);
  await s.stop();
});

test("connections beyond the cap, each with a request in progress, are refused politely: 503 with Retry-After", async () => {
  const s = await start("atomic", { settings: { maxConnections: 2 } });
  const { port } = new URL(s.url);
  // Each held connection has a request in progress: its headers are in, its body is awaited.
  const held = await Promise.all(
    [0, 1].map(
      () =>
        new Promise<Socket>((resolve) => {
          const c = connect(Number(port), "127.0.0.1", () => {
            c.write("POST /v1/register HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 10\r\n\r\n{");
            resolve(c);
          });
        }),
    ),
  );
  await new Promise((r) => setTimeout(r, 50));
  const refused = await raw(Number(port), "GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n");
  assert.match(refused, /^HTTP\/1\.1 503 /);
  assert.match(refused, /retry-after: 1/i);
  assert.match(refused, /too-many-connections/);
  for (const c of held) c.destroy();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await fetch(`${s.url}/healthz`)).status, 200, "a freed slot is served again");
  await s.stop();
});

test("409 when the pool is exhausted", async () => {
  const s = await start("atomic", { cidr: "10.1.0.0/29" });
  for (let i = 0; i < 5; i++) assert.equal((await post(s.url, JSON.stringify(request(i)))).status, 200);
  const r = await post(s.url, JSON.stringify(request(9)));
  assert.equal(r.status, 409);
  assert.equal(r.json.error, "pool-exhausted");
  await s.stop();
});

test("503 with Retry-After on a lock timeout", async () => {
  const s = await start("global", { latencyMs: 30, lockTimeoutMs: 20 });
  const results = await Promise.all(Array.from({ length: 4 }, (_, i) => post(s.url, JSON.stringify(request(i)))));
  const busy = results.filter((r) => r.status === 503);
  assert.ok(busy.length >= 1, JSON.stringify(results.map((r) => r.status)));
  assert.equal(busy[0]!.headers.get("retry-after"), "1");
  assert.equal(busy[0]!.json.error, "lock-timeout");
  await s.stop();
});

test("500 with an error id, logged, and the server keeps serving", async () => {
  let calls = 0;
  const s = await start("atomic", {
    wrap: (inner) => ({ ...inner, register: (r) => (++calls === 1 ? Promise.reject(new TypeError("boom")) : inner.register(r)) }),
  });
  const r = await post(s.url, JSON.stringify(request(1)));
  assert.equal(r.status, 500);
  assert.match(String(r.json.errorId), /^[0-9a-f]{12}$/);
  assert.ok(s.logged.some((line) => line.includes(String(r.json.errorId)) && line.includes("boom")));
  assert.equal((await post(s.url, JSON.stringify(request(1)))).status, 200);
  await s.stop();
});

test("invalid UTF-8 in a field is 400 invalid-request naming the field: m-\\xFF and m-\\xFE are not merged", async () => {
  const s = await start("atomic");
  const body = (machineBytes: Buffer) => {
    const json = JSON.stringify(request(1, { machineId: "MACHINE" }));
    const [head, tail] = json.split("MACHINE");
    return Buffer.concat([Buffer.from(head!), machineBytes, Buffer.from(tail!)]);
  };
  for (const bad of [Buffer.from([0x6d, 0x2d, 0xff]), Buffer.from([0x6d, 0x2d, 0xfe]), Buffer.from([0x6d, 0xc3]), Buffer.from([0xed, 0xa0, 0x80])]) {
    const r = await post(s.url, body(bad));
    assert.equal(r.status, 400, JSON.stringify(r.json));
    assert.equal(r.json.error, "invalid-request");
    assert.equal(r.json.field, "machineId", JSON.stringify(r.json));
    assert.match(String(r.json.message), /not valid UTF-8/);
  }
  // Outside a field's value (in a member name), the body is named.
  const inName = await post(s.url, Buffer.concat([Buffer.from('{"'), Buffer.from([0xff]), Buffer.from('": "x"}')]));
  assert.equal(inName.status, 400);
  assert.equal(inName.json.field, "body");
  assert.equal(s.rows().machines, 0, "nothing written");
  // Valid UTF-8 beyond ASCII (and a real U+FFFD) still registers, as two devices.
  assert.equal((await post(s.url, JSON.stringify(request(2, { machineId: "m-é" })))).status, 200);
  assert.equal((await post(s.url, JSON.stringify(request(3, { machineId: "m-\uFFFD" })))).status, 200);
  assert.equal(s.rows().machines, 2);
  await s.stop();
});

test("at the cap, a new connection takes the place of the oldest one without a request in progress", async () => {
  const s = await start("atomic", { settings: { maxConnections: 2 } });
  const { port } = new URL(s.url);
  const idle = await Promise.all(
    [0, 1].map(
      () =>
        new Promise<Socket>((resolve) => {
          const c = connect(Number(port), "127.0.0.1", () => resolve(c));
          c.on("error", () => {});
        }),
    ),
  );
  const closed = new Promise<void>((resolve) => idle[0]!.once("close", () => resolve()));
  try {
    await new Promise((r) => setTimeout(r, 50));
    assert.match(await raw(Number(port), "GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"), /^HTTP\/1\.1 200 /);
    await closed;
    assert.ok(!idle[1]!.closed, "only the oldest one is closed");
  } finally {
    for (const c of idle) c.destroy();
    await s.stop();
  }
});

/** Answers GET /healthz on a fresh connection, or rejects after `ms`. */
function healthz(port: number, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write("GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to /healthz within ${ms} ms`));
    }, ms);
    let text = "";
    socket.on("data", (c: Buffer) => (text += c.toString()));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
}

test("1,000 clients sending their headers at 1 byte/s lock nobody out and are closed after the header timeout", async () => {
  const SLOW = 1000;
  const s = await start("atomic", { settings: { maxConnections: SLOW, headerTimeoutMs: 2000 } });
  const port = Number(new URL(s.url).port);
  const slow: Socket[] = [];
  const answers: string[] = [];
  let drip: NodeJS.Timeout | undefined;
  try {
    await Promise.all(
      Array.from(
        { length: SLOW },
        () =>
          new Promise<void>((resolve) => {
            const c = connect(port, "127.0.0.1", () => resolve());
            const i = slow.push(c) - 1;
            c.on("data", (d: Buffer) => (answers[i] = (answers[i] ?? "") + d.toString()));
            c.on("error", () => resolve());
          }),
      ),
    );
    const header = "GET /healthz HTTP/1.1\r\nx-slow: " + "a".repeat(200);
    let sent = 0;
    drip = setInterval(() => {
      for (const c of slow) if (!c.destroyed) c.write(header[sent % header.length]!);
      sent++;
    }, 1000);
    // Every connection slot is held by a slow client now; a normal client is answered all the same, throughout.
    const until = Date.now() + 3500;
    let probes = 0;
    while (Date.now() < until) {
      assert.match(await healthz(port, 1000), /^HTTP\/1\.1 200 /, `probe ${probes}`);
      probes++;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(probes >= 10, `${probes} probes`);
    const deadline = Date.now() + 10_000;
    while (slow.some((c) => !c.closed) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(slow.filter((c) => !c.closed).length, 0, "every slow client is closed");
    const timedOut = answers.filter((a) => a?.startsWith("HTTP/1.1 408 ")).length;
    assert.ok(timedOut >= SLOW - probes, `${timedOut} answered 408`);
  } finally {
    clearInterval(drip);
    for (const c of slow) c.destroy();
    await s.stop();
  }
});

for (const [name, head] of [
  ["a chunked body that never ends (413)", "transfer-encoding: chunked\r\ncontent-type: application/json"],
  ["a declared body of 10 GB (413)", "content-length: 10000000000\r\ncontent-type: application/json"],
  ["a body of the wrong type (415)", "transfer-encoding: chunked\r\ncontent-type: text/plain"],
] as const) {
  test(`after an early answer to ${name}, the connection is closed and the rest of the body is not read`, async () => {
    const s = await start();
    const port = Number(new URL(s.url).port);
    const accepted: Socket[] = [];
    s.server.on("connection", (c: Socket) => accepted.push(c));
    const chunk = head.includes("chunked") ? `10000\r\n${"x".repeat(0x10000)}\r\n` : "x".repeat(0x10000);
    const socket = connect(port, "127.0.0.1");
    let answer = "";
    socket.on("data", (d: Buffer) => (answer += d.toString()));
    socket.on("error", () => {});
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write(`POST /v1/register HTTP/1.1\r\nhost: x\r\n${head}\r\n\r\n`);
    // Send as fast as the server takes it, for at most 256 MB or 10 s: a server that keeps reading never closes.
    const deadline = Date.now() + 10_000;
    let written = 0;
    while (!socket.closed && !socket.destroyed && written < 2 ** 28 && Date.now() < deadline) {
      written += chunk.length;
      if (!socket.write(chunk)) await Promise.race([new Promise((r) => socket.once("drain", r)), closed, new Promise((r) => setTimeout(r, 200))]);
    }
    await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
    try {
      assert.ok(socket.closed, `the connection is still open after ${written} bytes`);
      assert.match(answer, /^HTTP\/1\.1 41[35] /);
      assert.match(answer, /connection: close/i);
      const read = accepted[0]!.bytesRead;
      assert.ok(read < 4 * 2 ** 20, `the server read ${read} bytes`);
    } finally {
      socket.destroy();
      await s.stop();
    }
  });
}
