import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { newServerKey } from "../../src/core/crypto.js";
import { defaultServiceSettings, RegistrationService } from "../../src/core/registration.js";
import { createRegistrationServer } from "../../src/http/server.js";
import { withLatency } from "../../src/store/latency.js";
import { SqliteStore } from "../../src/store/sqlite.js";
import { findStrategy } from "../../src/strategies/registry.js";
import { DEFAULT_STRATEGY_SETTINGS, type Strategy } from "../../src/strategies/strategy.js";
import { mulberry32 } from "../../src/workload/prng.js";
import { project, request, tempDir } from "../helpers.js";

const dir = tempDir();
let n = 0;

/** A real server on a real SQLite file, around a strategy; the file's path is returned for direct inspection. */
async function start(strategyName = "atomic", opts: { cidr?: string; latencyMs?: number; lockTimeoutMs?: number; wrap?: (s: Strategy) => Strategy } = {}) {
  const definition = findStrategy(strategyName)!;
  const path = `${dir}/h${n++}.db`;
  const raw = new SqliteStore({ path, constraints: definition.constraints, busyTimeoutMs: 1000 });
  await raw.createProject(project("t-p0", opts.cidr ?? "10.1.0.0/24"));
  const store = withLatency(raw, opts.latencyMs ?? 0);
  const service = new RegistrationService(store, defaultServiceSettings(newServerKey()));
  let strategy = definition.create(service, { ...DEFAULT_STRATEGY_SETTINGS, lockKey: "system", lockTimeoutMs: opts.lockTimeoutMs ?? 5000 });
  if (opts.wrap) strategy = opts.wrap(strategy);
  const logged: string[] = [];
  const server = createRegistrationServer({ strategy, store, strategyName, log: (line) => logged.push(line) });
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
  return { url, rows, logged, stop };
}

async function post(url: string, body: string | Buffer, contentType = "application/json") {
  const res = await fetch(`${url}/v1/register`, { method: "POST", headers: { "content-type": contentType }, body });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text);
  } catch {
    // a non-JSON answer is itself asserted against below
  }
  return { status: res.status, json, headers: res.headers };
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
    ];
    for (const [body, status, message, type] of cases) {
      const r = await post(s.url, body, type);
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
    assert.ok(rows.systems >= 1 && rows.projects === 1);
  });

  test("unknown routes are 404, wrong methods 405 with Allow", async () => {
    assert.equal((await fetch(`${s.url}/v2/register`)).status, 404);
    const r = await fetch(`${s.url}/v1/register`);
    assert.equal(r.status, 405);
    assert.equal(r.headers.get("allow"), "POST");
  });

  test("the audit endpoint returns a run's identities and IPs, never keys or configs", async () => {
    const r = await fetch(`${s.url}/v1/audit/rows?run=t-`);
    const body = (await r.json()) as { machines: Record<string, unknown>[]; systems: unknown[] };
    assert.equal(r.status, 200);
    assert.ok(body.machines.length >= 2);
    assert.deepEqual(Object.keys(body.machines[0]!).sort(), ["ipv4", "machineId", "projectId"]);
    assert.equal((await fetch(`${s.url}/v1/audit/rows?run=`)).status, 400);
    assert.equal((await fetch(`${s.url}/v1/audit/rows?run=a%27b`)).status, 400);
  });

  test("a fuzz loop of random bodies gets no 500 and the server keeps serving", async () => {
    const random = mulberry32(99);
    const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
    const junk = () => pick<unknown>([null, true, 0, -1.5, 1e308, "", "x".repeat(Math.floor(random() * 400)), [], {}, [1, "a"], { a: { b: 1 } }, "\u202e\ud83d\ude00", "' OR 1=1 --"]);
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
    assert.ok([...statuses.keys()].every((code) => code === 200 || (code >= 400 && code < 500)), JSON.stringify([...statuses]));
    // A junk machineID can repeat (two equal random strings): the second gets the first's row back.
    assert.equal(s.rows().machines - before.machines, acknowledged.size, "every written row was acknowledged, once");
    assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
  });
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
