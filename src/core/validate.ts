import { ValidationError } from "./errors.js";
import type { RegisterRequest } from "./types.js";

/** Maximum length of each request field, in characters. */
export const FIELD_LIMITS: Readonly<Record<keyof RegisterRequest, number>> = Object.freeze({
  projectId: 64,
  key: 128,
  systemUuid: 64,
  systemName: 128,
  machineId: 64,
  peerId: 128,
  hostname: 253,
  arch: 32,
  distro: 128,
  kernelVersion: 128,
});

export const REQUEST_FIELDS = Object.freeze(Object.keys(FIELD_LIMITS) as (keyof RegisterRequest)[]);

// Control characters would end up in YAML and logs; no device has a reason to send them.
const CONTROL = /[\u0000-\u001f\u007f]/;
// A lone surrogate has no UTF-8 encoding: stored, it would become invalid UTF-8 (or a replacement character).
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

// Requests already checked: the HTTP layer validates before the strategy sees a request, and the core validates
// again for callers that come straight in; the second look at the same object is free.
const validated = new WeakSet<object>();

/**
 * Checks an untrusted value (a parsed JSON body, say) field by field and returns it typed.
 * Unknown fields are refused rather than ignored, so that a client's typo is an error, not silence.
 */
export function validateRequest(body: unknown): RegisterRequest {
  if (typeof body === "object" && body !== null && validated.has(body)) return body as RegisterRequest;
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ValidationError("body", "must be a JSON object");
  }
  const record = body as Record<string, unknown>;
  for (const name of Object.keys(record)) {
    // An own-property check: `in` would accept inherited names such as constructor, toString or __proto__.
    if (!Object.hasOwn(FIELD_LIMITS, name)) throw new ValidationError(name, "is not a known field");
  }
  for (const field of REQUEST_FIELDS) {
    const value = record[field];
    if (value === undefined) throw new ValidationError(field, "is missing");
    if (typeof value !== "string") throw new ValidationError(field, `must be a string, not ${value === null ? "null" : typeof value}`);
    if (value.length === 0) throw new ValidationError(field, "must not be empty");
    if (value.length > FIELD_LIMITS[field]) throw new ValidationError(field, `is longer than ${FIELD_LIMITS[field]} characters`);
    if (CONTROL.test(value)) throw new ValidationError(field, "contains control characters");
    if (LONE_SURROGATE.test(value)) throw new ValidationError(field, "is not well-formed Unicode (a lone surrogate)");
  }
  validated.add(record);
  return record as unknown as RegisterRequest;
}
