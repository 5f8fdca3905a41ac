import assert from "node:assert/strict";
import { test } from "node:test";
import { ValidationError } from "../../src/core/errors.js";
import { FIELD_LIMITS, validateRequest } from "../../src/core/validate.js";
import { request } from "../helpers.js";

function rejects(body: unknown, field: string, reason: RegExp) {
  assert.throws(
    () => validateRequest(body),
    (e: unknown) => e instanceof ValidationError && e.field === field && reason.test(e.reason),
    `${JSON.stringify(body)?.slice(0, 80)} should fail on ${field}`,
  );
}

test("a complete request passes and comes back typed", () => {
  const r = request(1);
  assert.deepEqual(validateRequest({ ...r }), r);
  assert.deepEqual(validateRequest({ ...r, hostname: "主机-ü" }).hostname, "主机-ü");
});

test("every malformed request is refused with the field and the reason", () => {
  const r = request(1);
  rejects(null, "body", /object/);
  rejects([r], "body", /object/);
  rejects("text", "body", /object/);
  const { machineId: _m, ...missing } = r;
  rejects(missing, "machineId", /missing/);
  rejects({ ...r, arch: 64 }, "arch", /string, not number/);
  rejects({ ...r, arch: null }, "arch", /string, not null/);
  rejects({ ...r, key: "" }, "key", /empty/);
  rejects({ ...r, hostname: "h".repeat(FIELD_LIMITS.hostname + 1) }, "hostname", /longer than 253/);
  rejects({ ...r, distro: "deb\nian" }, "distro", /control/);
  rejects({ ...r, admin: true }, "admin", /not a known field/);
});
