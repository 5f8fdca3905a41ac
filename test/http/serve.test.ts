import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { test } from "node:test";
import { childEnv, SECRET_ENV_NAMES, secretsUnset } from "../../src/process/children.js";
import { BIN, descendants, regbench, request, tempDir } from "../helpers.js";
import { skipWithoutRedis } from "../redisEnv.js";
import { startServe } from "../serveProcess.js";

const serve = startServe;

async function register(url: string, body: object) {
  const res = await fetch(`${url}/v1/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

function secretsFile(projects: { id: string; key: string }[]): string {
  const path = join(tempDir(), "secrets.json");
  writeFileSync(path, JSON.stringify({ projects }), { mode: 0o600 });
  return path;
}

test("two projects on one serve: project B with its own key cannot obtain project A's machine row", async () => {
  const s = await serve([
    "--secrets-file",
    secretsFile([
      { id: "t-pa", key: "key-of-a" },
      { id: "t-pb", key: "key-of-b" },
    ]),
  ]);
  const a = await register(s.url, request(1, { projectId: "t-pa", key: "key-of-a" }));
  assert.equal(a.status, 200);
  const b = await register(s.url, request(1, { projectId: "t-pb", key: "key-of-b" }));
  assert.equal(b.status, 409);
  assert.equal(b.json.error, "machine-conflict");
  assert.ok(!JSON.stringify(b.json).includes(String(a.json.ipv4)), JSON.stringify(b.json));
  assert.equal((await register(s.url, request(1, { projectId: "t-pb", key: "key-of-a" }))).status, 401, "A's key does not open B");
  await s.stop();
});

test("a kept store follows the key it is started with: the old key is refused, the new one accepted", async () => {
  const store = join(tempDir(), "kept.db");
  const first = await serve(["--store", `sqlite:${store}`, "--secrets-file", secretsFile([{ id: "t-p", key: "old-key" }])]);
  assert.equal((await register(first.url, request(1, { projectId: "t-p", key: "old-key" }))).status, 200);
  await first.stop();
  const second = await serve(["--store", `sqlite:${store}`], { REGBENCH_PROJECTS: "t-p:new-key" });
  assert.match(second.out(), /note · project t-p: the stored key was replaced by the one given now; the old key is refused/);
  assert.equal((await register(second.url, request(2, { projectId: "t-p", key: "old-key" }))).status, 401);
  assert.equal((await register(second.url, request(2, { projectId: "t-p", key: "new-key" }))).status, 200);
  await second.stop();
  const other = spawnSync(process.execPath, [BIN, "serve", "--port", "0", "--store", `sqlite:${store}`, "--cidr", "10.9.0.0/16"], {
    encoding: "utf8",
    env: { ...process.env, REGBENCH_PROJECTS: "t-p:new-key" },
    timeout: 20_000,
  });
  assert.equal(other.status, 3, other.stderr);
  assert.match(other.stderr, /project t-p exists in .* with the pool 10\.0\.0\.0\/12, not 10\.9\.0\.0\/16/);
});

test("the default store and the secrets live in a private folder with an unpredictable name; no secret is printed", async () => {
  const s = await serve([]);
  const store = /store (\S+) \(removed at exit\)/.exec(s.out())![1]!;
  assert.notEqual(basename(store), `regbench-serve-${s.child.pid}.db`);
  assert.equal(dirname(store), dirname(s.secrets));
  assert.equal(statSync(dirname(store)).mode & 0o777, 0o700);
  assert.equal(statSync(s.secrets).mode & 0o777, 0o600);
  const secrets = JSON.parse(readFileSync(s.secrets, "utf8"));
  for (const secret of [secrets.serverKey, secrets.auditToken, secrets.projects[0].key]) assert.ok(!s.out().includes(secret) && !s.err().includes(secret));
  await s.stop();
});

test("--host beyond loopback warns on stderr", async () => {
  const s = await serve(["--host", "0.0.0.0"]);
  assert.match(s.err(), /warning: --host 0\.0\.0\.0 exposes the registration API beyond this machine/);
  await s.stop();
});

test("cluster instances get the keys over IPC, never in their environment", async () => {
  const s = await serve(["--instances", "2"]);
  const secrets = JSON.parse(readFileSync(s.secrets, "utf8"));
  const workers = descendants(s.child.pid!);
  assert.equal(workers.length, 2);
  for (const pid of workers) {
    const environ = readFileSync(`/proc/${pid}/environ`, "utf8");
    assert.ok(!environ.includes(secrets.projects[0].key) && !environ.includes(secrets.serverKey) && !environ.includes(secrets.auditToken), `pid ${pid}`);
  }
  assert.equal((await register(s.url, request(1, { projectId: secrets.projects[0].id, key: secrets.projects[0].key }))).status, 200);
  await s.stop();
});

test("redis-down over HTTP is injected in the server: registrations fail as lock-service-unavailable, no violation", { skip: skipWithoutRedis }, () => {
  const r = regbench(["run", "--mode", "http", "--strategy", "redis", "--fault", "redis-down:300", "-n", "20000", "-c", "50", "--json", "--no-save"]);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout).results[0];
  assert.ok(result.succeeded > 0, JSON.stringify(result.errors));
  assert.ok((result.errors["lock-service-unavailable"] ?? 0) > 0, JSON.stringify(result.errors));
  assert.equal(result.audit.violations, 0);
});

test("singleflight over HTTP: a wrong key that joins a registration in flight gets 401, never the victim's answer", async () => {
  const s = await serve(["--strategy", "singleflight", "--db-latency", "20ms", "--secrets-file", secretsFile([{ id: "t-p", key: "right-key" }])]);
  for (let round = 0; round < 5; round++) {
    const victim = register(s.url, request(10 + round, { projectId: "t-p", key: "right-key", systemUuid: `t-s${round}` }));
    const attackers = Array.from({ length: 4 }, (_, i) =>
      register(s.url, request(100 + round * 10 + i, { projectId: "t-p", key: "wrong-key", systemUuid: `t-s${round}` })),
    );
    const [v, ...a] = await Promise.all([victim, ...attackers]);
    assert.equal(v.status, 200);
    for (const x of a) {
      assert.equal(x.status, 401, JSON.stringify(x.json));
      assert.ok(!JSON.stringify(x.json).includes(String(v.json.ipv4)), JSON.stringify(x.json));
    }
  }
  await s.stop();
});

test("every secret variable regbench reads is removed from its children's environment (the lock namespace is a name, kept)", () => {
  // The variables cli/secrets.ts reads, from its source: a secret added there and not to SECRET_ENV_NAMES fails here.
  const source = readFileSync(new URL("../../../src/cli/secrets.ts", import.meta.url), "utf8");
  const read = new Set([...source.matchAll(/\benv\.(REGBENCH_[A-Z_]+)/g)].map((m) => m[1]!));
  assert.ok(read.has("REGBENCH_AUDIT_DB") && read.has("REGBENCH_AUDIT_DB_PASSWORD") && read.has("REGBENCH_PROJECTS"), [...read].join(" "));
  const secrets = [...read].filter((name) => name !== "REGBENCH_LOCK_NAMESPACE");
  const env = Object.fromEntries([...read, "PATH"].map((name) => [name, `value-of-${name}`]));
  const child = childEnv(env);
  for (const name of secrets) {
    assert.ok(SECRET_ENV_NAMES.includes(name), `${name} is not in SECRET_ENV_NAMES`);
    assert.equal(child[name], undefined, name);
    assert.ok(name in secretsUnset() && secretsUnset()[name] === undefined, name);
  }
  assert.equal(child.REGBENCH_LOCK_NAMESPACE, "value-of-REGBENCH_LOCK_NAMESPACE");
  assert.equal(child.PATH, "value-of-PATH");
});

test("cluster instances do not inherit the REGBENCH_* secrets of serve's environment", async () => {
  const env = {
    REGBENCH_PROJECTS: "t-env:env-project-key-1234",
    REGBENCH_SERVER_KEY: "ab".repeat(32),
    REGBENCH_AUDIT_TOKEN: "env-audit-token-5678",
    REGBENCH_AUDIT_DB: "postgres://audit:env-db-url-password-9012@127.0.0.1:5432/devices",
    REGBENCH_AUDIT_DB_PASSWORD: "env-db-password-3456",
  };
  const s = await serve(["--instances", "2"], env);
  const workers = descendants(s.child.pid!);
  assert.equal(workers.length, 2);
  for (const pid of workers) {
    const environ = readFileSync(`/proc/${pid}/environ`, "utf8");
    for (const [name, value] of Object.entries(env)) assert.ok(!environ.includes(name) && !environ.includes(value), `pid ${pid} has ${name}`);
  }
  assert.equal((await register(s.url, request(1, { projectId: "t-env", key: "env-project-key-1234" }))).status, 200);
  await s.stop();
});
