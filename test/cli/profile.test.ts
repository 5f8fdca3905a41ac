import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { buildRunConfig } from "../../src/cli/options.js";
import { parseProfile, PLACEHOLDERS } from "../../src/driver/profile/spec.js";
import { regbenchAsync, tempDir } from "../helpers.js";

const dir = tempDir();

test("profile init prints a commented skeleton that is a valid profile and names every placeholder", async () => {
  const r = await regbenchAsync(["profile", "init"]);
  assert.equal(r.code, 0, r.stderr);
  const spec = parseProfile(r.stdout, "skeleton");
  assert.equal(spec.request.path, "/register");
  for (const p of PLACEHOLDERS) assert.ok(r.stdout.includes(`{{${p}}}`), p);
  assert.match(r.stdout, /^# /m);
});

test("run refuses a profile with an unknown placeholder before anything runs: exit 2, the flag and the line named", async () => {
  const file = join(dir, "bad.yaml");
  writeFileSync(file, "request:\n  path: /r\n  body:\n    id: '{{machineID}}'\nanswer:\n  address: /ip\n");
  const r = await regbenchAsync(["run", "--target", "http://127.0.0.1:9", "--profile", file, "-n", "10"], { env: { REGBENCH_PROJECTS: "p:k" } });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--profile cannot be used: .*bad\.yaml:4: unknown placeholder \{\{machineID\}\}/);
  const check = await regbenchAsync(["profile", "check", "--target", "http://127.0.0.1:9", "--profile", file], { env: { REGBENCH_PROJECTS: "p:k" } });
  assert.equal(check.code, 2);
  assert.match(check.stderr, /bad\.yaml:4: unknown placeholder/);
});

test("a scenario file may name the profile; --profile on the command line overrides it; without one, regbench's own API", () => {
  const scenario = join(dir, "svc.json");
  writeFileSync(scenario, JSON.stringify({ name: "svc", options: { target: "http://127.0.0.1:9", profile: "examples/device-api/profile.yaml" } }));
  const secrets = { projects: [{ id: "p", key: "k" }], serverKey: undefined, auditToken: undefined };
  const cwd = process.cwd();
  process.chdir(new URL("../../..", import.meta.url).pathname);
  try {
    assert.match(buildRunConfig({ scenario }, secrets).http.profile!.name, /examples\/device-api\/profile\.yaml$/);
    assert.equal(buildRunConfig({ scenario, profile: "regbench" }, secrets).http.profile!.name, "regbench");
    assert.equal(buildRunConfig({ target: "http://127.0.0.1:9" }, secrets).http.profile, undefined);
  } finally {
    process.chdir(cwd);
  }
});

test("--audit-db needs the profile's audit queries, and a password on the command line is flagged", async () => {
  const r = await regbenchAsync(["run", "--target", "http://127.0.0.1:9", "--audit-db", "postgres://u:hunter2@127.0.0.1:5432/x", "-n", "10"], {
    env: { REGBENCH_PROJECTS: "p:k" },
  });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--audit-db needs the queries that list a run's rows, and the built-in profile has no audit section/);
  assert.ok(!r.stderr.includes("hunter2"), r.stderr);
  const flagged = await regbenchAsync(
    [
      "run",
      "--target",
      "http://127.0.0.1:9",
      "--profile",
      "examples/device-api/profile.yaml",
      "--audit-db",
      "postgres://u:hunter2@127.0.0.1:5432/x",
      "-n",
      "10",
      "--no-save",
    ],
    { env: { REGBENCH_PROJECTS: "p:k" }, cwd: new URL("../../..", import.meta.url).pathname },
  );
  assert.match(flagged.stderr, /--audit-db \(its password\) puts a secret on the command line.*REGBENCH_AUDIT_DB_PASSWORD/);
  assert.ok(!flagged.stderr.includes("hunter2"), flagged.stderr);
});
