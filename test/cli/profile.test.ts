import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { renderProfileCheck } from "../../src/cli/commands/profile.js";
import { buildRunConfig } from "../../src/cli/options.js";
import { parseProfile, PLACEHOLDERS } from "../../src/driver/profile/spec.js";
import { regbenchAsync, tempDir } from "../helpers.js";
import { cli as inProcess } from "../inProcessCli.js";

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

/** The CLI in this process (main is what bin/regbench runs), as a user with one project: no start-up per case. */
const cli = (argv: string[], env: NodeJS.ProcessEnv = { REGBENCH_PROJECTS: "p:k" }) => inProcess(argv, env);

test("profile check --timeout is parsed as run's: the same bound (exit 2 naming it), not a probe of the target", async () => {
  const check = ["profile", "check", "--target", "http://127.0.0.1:1", "--profile", "regbench"];
  for (const [timeout, why] of [
    ["99999999999s", /--timeout must be at most 2147483647 ms/],
    ["0s", /--timeout must be a duration .* above 0/],
    ["soon", /--timeout must be a duration/],
  ] as const) {
    const r = await cli([...check, "--timeout", timeout]);
    assert.equal(r.code, 2, `${timeout}: ${r.stderr}`);
    assert.match(r.stderr, why);
  }
  const run = await cli(["run", "--target", "http://127.0.0.1:1", "--timeout", "99999999999s", "-n", "10", "--no-save"]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /--timeout must be at most 2147483647 ms/, "run says the same");
});

test("profile check shows the answer's control characters and newlines escaped: no terminal escape, no line that passes for regbench's", () => {
  const esc = "\u001b]0;pwned\u0007\u001b[2J\u009b31m\r";
  const fields = {
    projectId: "p",
    key: "***",
    systemUuid: "s",
    systemName: "n",
    machineId: "m",
    peerId: "x",
    hostname: "h",
    arch: "a",
    distro: "d",
    kernelVersion: "k",
    run: "r",
  };
  const text = renderProfileCheck({
    request: { method: "POST", url: "http://127.0.0.1:1/register", headers: { "content-type": "application/json" }, body: "{}", fields },
    answer: { status: 200, headers: { [`x-evil${esc}`]: `v${esc}` }, body: `{"ip":"10.0.0.2"}${esc}\nextracted\n  outcome: acknowledged`, ms: 1 },
    extracted: {
      outcome: "failed",
      kind: `code${esc}`,
      message: `why${esc}`,
      id: `id${esc}`,
      address: `10.0.0.2${esc}`,
      machineId: `m${esc}`,
      config: { check: "plain", address: `10.0.0.2${esc}`, agrees: false },
    },
  });
  assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, "no control character but the line ends");
  assert.match(text, /x-evil\\x1b\]0;pwned\\x07\\x1b\[2J\\x9b31m\\x0d: v\\x1b/);
  assert.match(text, /body: \{"ip":"10\.0\.0\.2"\}\\x1b.*\\x0aextracted\\x0a {2}outcome: acknowledged\n/);
  assert.equal(text.match(/^extracted$/gm)?.length, 1, "the body cannot print a section of its own");
  for (const line of ["failed, counted as code\\x1b", "why: why\\x1b", "id: id\\x1b", "address: 10.0.0.2\\x1b", "machineId: m\\x1b", "address 10.0.0.2\\x1b"])
    assert.ok(text.includes(line), line);
});
