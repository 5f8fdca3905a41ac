import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { HttpOutcomeError } from "../../src/driver/httpClient.js";
import { compileProfile } from "../../src/driver/profile/compile.js";
import { loadProfile, parseProfile, ProfileError, regbenchProfile } from "../../src/driver/profile/spec.js";
import { rawHttpRegistration } from "../../src/driver/rawHttp.js";
import { httpRegistration } from "../../src/driver/httpClient.js";
import { STATUS_OF } from "../../src/http/server.js";
import { Workload } from "../../src/workload/generator.js";
import { DEFAULT_WORKLOAD } from "../../src/config/run.js";
import { tempDir } from "../helpers.js";

const workload = new Workload({ ...DEFAULT_WORKLOAD, systems: 3, seed: 7 }, "rbtest01");
const request = { ...workload.request(5), hostname: 'edge "5"/ü&x=1 y' };

test("the built-in profile renders regbench's request byte for byte: POST /v1/register, the registration as JSON", () => {
  const p = compileProfile(regbenchProfile(), "http://127.0.0.1:9/base/", "rbtest01");
  assert.equal(p.method, "POST");
  assert.equal(p.path(request), "/base/v1/register");
  assert.equal(p.headerLines(request), "content-type: application/json\r\n");
  for (const i of [0, 1, 2, 17]) {
    const r = { ...workload.request(i), systemName: i === 17 ? "tab\there \\ \u2028 \ud800" : workload.request(i).systemName };
    assert.equal(p.body!(r), JSON.stringify(r));
  }
  assert.equal(loadProfile("regbench").name, "regbench");
});

test("the built-in profile counts every kind regbench's server answers as itself, and any other code as http-<status>", () => {
  const p = compileProfile(regbenchProfile(), "http://127.0.0.1:9/", "rb");
  const kind = (status: number, body: string) => p.explain(status, body, undefined, "m", false).error?.kind;
  // Every kind of the registration core (STATUS_OF is the server's one table of them) and of the HTTP front.
  const front = ["body-too-large", "unsupported-media-type", "method-not-allowed", "not-found", "too-many-connections"];
  for (const k of [...Object.keys(STATUS_OF), ...front]) assert.equal(kind(503, JSON.stringify({ error: k, message: "m" })), k, k);
  assert.equal(kind(503, '{"error":"some-new-kind"}'), "http-503");
  assert.equal(kind(409, '{"error":"toString"}'), "http-409");
  assert.equal(kind(502, "<html>bad gateway</html>"), "http-502");
});

test("placeholders: percent-encoded in a path, JSON-escaped in a JSON body, form-encoded in a form body, as they are in a header", () => {
  const spec = parseProfile(
    [
      "request:",
      "  method: put",
      "  path: /tenants/{{projectId}}/devices/{{hostname}}?run={{run}}",
      "  headers:",
      "    Authorization: Bearer {{key}}",
      "    x-device: '{{ index }}'",
      "  body:",
      "    host: '{{hostname}}'",
      "    n: 3",
      "    label: 'run {{run}}: {{index}}'",
      "answer:",
      "  address: /ip",
    ].join("\n"),
    "t.yaml",
  );
  const p = compileProfile(spec, "http://h:1", "rbtest01");
  assert.equal(p.method, "PUT");
  assert.equal(p.path(request), `/tenants/${request.projectId}/devices/edge%20%225%22%2F%C3%BC%26x%3D1%20y?run=rbtest01`);
  assert.equal(p.headerLines(request), `content-type: application/json\r\nauthorization: Bearer ${request.key}\r\nx-device: 5\r\n`);
  assert.deepEqual(JSON.parse(p.body!(request)), { host: request.hostname, n: 3, label: "run rbtest01: 5" });
  const form = compileProfile(
    parseProfile(
      "request:\n  path: /r\n  contentType: application/x-www-form-urlencoded\n  body:\n    host name: 'h {{hostname}}'\n    key: '{{key}}'\nanswer:\n  address: /ip\n",
      "f.yaml",
    ),
    "http://h:1",
    "rb",
  );
  const fields = new URLSearchParams(form.body!(request));
  assert.equal(fields.get("host name"), `h ${request.hostname}`);
  assert.equal(fields.get("key"), request.key);
  assert.ok(!form.body!(request).includes(" "));
});

test("an unknown placeholder, a bad pointer or an unknown key is refused when the profile is read, naming the line", () => {
  const base = "request:\n  path: /r\nanswer:\n  address: /ip\n";
  assert.throws(
    () => parseProfile("request:\n  path: /r\n  headers:\n    authorization: Bearer {{token}}\nanswer:\n  address: /ip\n", "p.yaml"),
    (e) => e instanceof ProfileError && /^p\.yaml:4: unknown placeholder \{\{token\}\}/.test(e.message),
  );
  assert.throws(
    () => parseProfile(`${base}  body: '{"a": "{{machineId}"}'\n`, "p.yaml"),
    (e) => e instanceof ProfileError && /malformed placeholder/.test(e.message),
  );
  assert.throws(
    () => parseProfile("request:\n  path: /r\nanswer:\n  address: device.address\n", "p.yaml"),
    (e) => e instanceof ProfileError && /p\.yaml:4: answer\.address must be a JSON pointer/.test(e.message),
  );
  assert.throws(
    () => parseProfile(`${base}answr: {}\n`, "p.yaml"),
    (e) => e instanceof ProfileError && /p\.yaml:5: answr is not a profile key/.test(e.message),
  );
  assert.throws(
    () => parseProfile(`${base}errors:\n  status:\n    409: Conflict!\n`, "p.yaml"),
    (e) => e instanceof ProfileError && /errors\.status\.409 must be an error kind/.test(e.message),
  );
  assert.throws(
    () => parseProfile(`${base}audit:\n  systems: SELECT 1\n  machines: SELECT 1\n`, "p.yaml"),
    (e) => e instanceof ProfileError && /audit\.systems must be a query with the parameter :run/.test(e.message),
  );
  assert.throws(
    () => loadProfile("no-such-profile"),
    (e) => e instanceof ProfileError && /no shipped profile/.test(e.message),
  );
});

test("a file that is not a profile is named with its line and problem, never its content (keys, values, YAML's own messages)", () => {
  const base = "request:\n  path: /r\nanswer:\n  address: /ip\n";
  const cases: [string, string, RegExp][] = [
    ["shadow", "root:$6$SECRET$abc:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n", /^f is not a profile: line 1 is not a `key: value` profile entry/],
    ["an env file", "x: 1\nAPI_TOKEN: SECRET\n", /^f is not a profile: line 1 is not a `key: value` profile entry/],
    ["JSON of another kind", '{"name": "x", "options": {"SECRET": 1,}}', /^f is not a profile: line 1/],
    ["a scalar", "root:x:0:0:SECRET:/root:/bin/bash\n", /^f is not a profile: a profile is a mapping/],
    ["an alias", `request: &SECRET {path: /r}\nanswer: *SECRET\n`, /^f is not a profile: it uses YAML aliases/],
    ["YAML's messages quote", 'request: "\\qSECRET"\n', /^f:1:11 is not valid YAML or JSON: an invalid escape sequence/],
    ["a block header", "request: |SECRET\n  x\n", /^f:1:11 is not valid YAML or JSON: an unexpected character/],
    ["a template of another tool", `${base}  body: '{{ SECRET("x") }}'\n`, /^f:5: unknown placeholder \(known: /],
    ["a malformed placeholder", `${base}  body: '{"a": "{{SECRET}"}'\n`, /^f:5: an unclosed or malformed placeholder/],
    ["a placeholder in a key", `${base}  body:\n    '{{machineId}}-SECRET': x\n`, /^f:6: a key cannot hold a placeholder/],
    ["a value", `${base.replace("/r", "/r\n  method: SECRET")}`, /^f:3: request\.method must be one of POST/],
    ["a pointer", `${base.replace("/ip", "SECRET")}`, /^f:4: answer\.address must be a JSON pointer/],
    ["a header name", base.replace("/r\n", "/r\n  headers:\n    'SECRET header': x\n"), /^f:4: request\.headers\.<key> is not a valid header name/],
    ["a kind", `${base}errors:\n  codes:\n    e: SECRET\n`, /^f:7: errors\.codes\.e must be an error kind/],
    ["config.check", `${base}config:\n  check: SECRET\n`, /^f:6: config\.check must be sealed, plain or none/],
  ];
  for (const [what, text, why] of cases) {
    assert.throws(
      () => parseProfile(text, "f"),
      (e) => {
        assert.ok(e instanceof ProfileError, what);
        assert.ok(!e.message.includes("SECRET") && !e.message.includes("root"), `${what}: ${e.message}`);
        assert.match(e.message, why, what);
        return true;
      },
    );
  }
  // In a file that is a profile, a misspelt key is still named (a short identifier-like key).
  assert.throws(() => parseProfile(`${base}answr: {}\n`, "p.yaml"), /p\.yaml:5: answr is not a profile key/);
});

test("--profile resolution: a bare name is the shipped profile before a file of that name here; a path or an extension is a file", () => {
  const dir = tempDir();
  const custom = "request:\n  path: /custom\nanswer:\n  address: /ip\n";
  writeFileSync(join(dir, "regbench"), "not: a profile\n");
  writeFileSync(join(dir, "mine"), custom);
  writeFileSync(join(dir, "other.yaml"), custom);
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    // The shipped one, whatever lies in the current folder: a stray file cannot take over every --target run.
    const shipped = loadProfile("regbench");
    assert.equal(shipped.name, "regbench");
    assert.equal(shipped.request.path, "/v1/register");
    // Written as a path, the file here is read (and this one is no profile).
    assert.throws(
      () => loadProfile("./regbench"),
      (e) => e instanceof ProfileError && e.message.startsWith(`${join(dir, "regbench")} is not a profile`),
    );
    // A bare name no shipped profile has: the file of that name.
    assert.equal(loadProfile("mine").request.path, "/custom");
    assert.equal(loadProfile("mine").name, join(dir, "mine"));
    // An extension makes it a path: the file here, never a shipped profile.
    assert.equal(loadProfile("other.yaml").request.path, "/custom");
    assert.throws(
      () => loadProfile("regbench.yaml"),
      (e) =>
        e instanceof ProfileError &&
        e.message === `no profile file at ${join(dir, "regbench.yaml")} (the shipped profile is named without a path or extension: regbench)`,
    );
  } finally {
    process.chdir(cwd);
  }
});

test("an answer is read as the profile says: success statuses, the address at a pointer, errors by code then status", () => {
  const p = compileProfile(
    parseProfile(
      [
        "request: {path: /r}",
        "answer:",
        "  success: [201, 200]",
        "  address: /device/address",
        "  id: /device/id",
        "errors:",
        "  code: /code",
        "  codes: {device_taken: conflict, 1002: pool-exhausted}",
        "  status: {409: conflict, 503: unavailable}",
        "config:",
        "  check: plain",
        "  at: /device/config",
        "  address: /interface/address",
      ].join("\n"),
      "a.yaml",
    ),
    "http://h:1",
    "rb",
  );
  const ok = p.explain(201, '{"device":{"id":42,"address":"10.1.0.7","config":"interface:\\n  address: 10.1.0.7/16\\n"}}', undefined, "rb-m1", false);
  assert.deepEqual(ok.response, { machineId: "rb-m1", ipv4: "10.1.0.7", config: "", configAgrees: true });
  assert.deepEqual(ok.extracted, { id: "42", address: "10.1.0.7", configAddress: "10.1.0.7" });
  const other = p.read(200, '{"device":{"address":"10.1.0.7","config":"interface: {address: 10.1.0.8}"}}', undefined, "rb-m1", false);
  assert.equal(other.configAgrees, false);
  const kind = (status: number, body: string) => {
    try {
      p.read(status, body, undefined, "m", false);
      return "ok";
    } catch (e) {
      assert.ok(e instanceof HttpOutcomeError);
      return e.kind;
    }
  };
  assert.equal(kind(201, '{"device":{"address":"10.1.0.7"}}'), "malformed-response");
  assert.equal(kind(201, '{"device":{"address":"10.1.0.300","config":"a: b"}}'), "malformed-response");
  assert.equal(kind(409, '{"code":"device_taken"}'), "conflict");
  assert.equal(kind(409, '{"code":1002}'), "pool-exhausted", "a numeric code, listed");
  // "anything unmapped is http-<status>": a code the profile does not list is never counted as it is, even one that
  // reads like a kind (or like one of regbench's), nor one that names a property every object has.
  assert.equal(kind(422, '{"code":"bad-field"}'), "http-422");
  assert.equal(kind(500, '{"code":"lock-timeout"}'), "http-500");
  assert.equal(kind(503, '{"code":"pool-exhausted"}'), "unavailable", "an unlisted code falls to the status");
  assert.equal(kind(422, '{"code":"constructor"}'), "http-422");
  assert.equal(kind(422, '{"code":"Not A Kind"}'), "http-422");
  assert.equal(kind(409, "busy"), "conflict");
  assert.equal(kind(503, ""), "unavailable");
  assert.equal(kind(500, "<html>"), "http-500");
  assert.equal(kind(204, ""), "http-204");
});

test("an address pointer reads own members only, one, two or more levels deep, array indices by number (RFC 6901)", () => {
  const at = (pointer: string, body: string) => {
    const p = compileProfile(
      parseProfile(`request: {path: /r}\nanswer: {success: [200], address: "${pointer}"}\nconfig: {check: none}`, "p.yaml"),
      "http://h:1",
      "rb",
    );
    try {
      return p.read(200, body, undefined, "m", false).ipv4;
    } catch (e) {
      assert.ok(e instanceof HttpOutcomeError);
      return e.kind;
    }
  };
  assert.equal(at("/ip", '{"ip":"10.0.0.1"}'), "10.0.0.1");
  assert.equal(at("/d/ip", '{"d":{"ip":"10.0.0.2"}}'), "10.0.0.2");
  assert.equal(at("/d/ip", '{"d":[{"ip":"10.0.0.2"}]}'), "malformed-response", "an array has no member ip");
  assert.equal(at("/d/0/ip", '{"d":[{"ip":"10.0.0.3"}]}'), "10.0.0.3");
  assert.equal(at("/d/0", '{"d":{"0":"10.0.0.4"}}'), "10.0.0.4", "a numeric token names an object's member too");
  assert.equal(at("/a~1b/c~0d", '{"a/b":{"c~d":"10.0.0.5"}}'), "10.0.0.5");
  assert.equal(at("/constructor/name", '{"x":1}'), "malformed-response", "not the prototype's");
  assert.equal(at("/ip", '["10.0.0.1"]'), "malformed-response");
  assert.equal(at("/ip", "null"), "malformed-response");
});

test("scripts/ceiling.sh's nginx answers what its profiles send: the built-in, scripts/ceiling-profile.yaml and device-api's, each read as acknowledged", () => {
  const script = readFileSync(new URL("../../../scripts/ceiling.sh", import.meta.url), "utf8");
  const answers = [...script.matchAll(/location (= )?(\S+) \{ default_type application\/json; return (\d+) '([^']*)'; \}/g)].map((m) => ({
    exact: m[1] !== undefined,
    path: m[2]!,
    status: Number(m[3]),
    body: m[4]!,
  }));
  assert.equal(answers.length, 2, "the regbench route and the /api/v2/ one");
  for (const ref of ["regbench", "scripts/ceiling-profile.yaml", "examples/device-api/profile.yaml"]) {
    const p = compileProfile(loadProfile(ref === "regbench" ? ref : fileURLToPath(new URL(`../../../${ref}`, import.meta.url))), "http://127.0.0.1:1/", "rb");
    const path = p.path(request);
    const answer = answers.find((a) => (a.exact ? path === a.path : path.startsWith(a.path)));
    assert.ok(answer, `${ref}: the nginx has no location for ${path}`);
    const read = p.explain(answer.status, answer.body, undefined, request.machineId, false);
    assert.equal(read.error, undefined, `${ref}: ${read.error?.message}`);
    assert.equal(read.response!.ipv4, "10.0.0.2", ref);
    assert.notEqual(read.response!.configAgrees, false, ref);
  }
});

/** A service with another API than regbench's: PUT with the IDs in the path, the key in a header, the address in a header. */
async function headerService(): Promise<{ url: string; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = [];
  let n = 0;
  const server = createServer((req, res) => {
    seen.push(req);
    req.resume();
    req.on("end", () => {
      if (req.headers["x-api-key"] !== request.key) return void res.writeHead(401, { "content-type": "application/json" }).end('{"code":"unauthorized"}');
      n++;
      res.writeHead(201, { "x-device-address": `10.9.0.${n}`, "content-type": "text/plain" }).end("created");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/svc`, seen };
}

test("both HTTP clients speak a profile: the path, method and headers rendered, the address read from a header", async () => {
  const { url, seen } = await headerService();
  const spec = parseProfile(
    "request:\n  method: PUT\n  path: /devices/{{machineId}}\n  headers:\n    x-api-key: '{{key}}'\nanswer:\n  success: [201]\n  address: {header: X-Device-Address}\nerrors:\n  code: /code\n  codes: {unauthorized: wrong-key}\n",
    "h.yaml",
  );
  for (const make of [rawHttpRegistration, httpRegistration]) {
    const client = make(url, { connections: 2, timeoutMs: 5000, requireConfig: false }, compileProfile(spec, url, "rbtest01"));
    try {
      const r = await client.register(request);
      assert.equal(r.machineId, request.machineId);
      assert.match(r.ipv4, /^10\.9\.0\.\d+$/);
      const last = seen.at(-1)!;
      assert.equal(last.method, "PUT");
      assert.equal(last.url, `/svc/devices/${request.machineId}`);
      await assert.rejects(client.register({ ...request, key: "wrong" }), (e) => e instanceof HttpOutcomeError && e.kind === "wrong-key");
    } finally {
      await client.close();
    }
  }
});
