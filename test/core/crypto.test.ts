import assert from "node:assert/strict";
import { test } from "node:test";
import { keyDigest, keyMatches, newServerKey, open, seal } from "../../src/core/crypto.js";

test("seal and open round-trip, with a fresh nonce every time", () => {
  const key = newServerKey();
  const a = seal("interfaceAddr: 10.0.0.2/24", key);
  const b = seal("interfaceAddr: 10.0.0.2/24", key);
  assert.notEqual(a, b);
  assert.equal(open(a, key), "interfaceAddr: 10.0.0.2/24");
  const nonces = new Set(Array.from({ length: 3000 }, () => Buffer.from(seal("x", key), "base64").subarray(0, 12).toString("hex")));
  assert.equal(nonces.size, 3000);
});

test("open refuses another key and altered ciphertext", () => {
  const key = newServerKey();
  const sealed = seal("secret", key);
  assert.equal(open(sealed, newServerKey()), undefined);
  const raw = Buffer.from(sealed, "base64");
  raw[raw.length - 1]! ^= 1;
  assert.equal(open(raw.toString("base64"), key), undefined);
  assert.equal(open("", key), undefined);
});

test("key check compares digests", () => {
  const digest = keyDigest("k1");
  assert.equal(keyMatches("k1", digest), true);
  assert.equal(keyMatches("k2", digest), false);
  assert.equal(keyMatches("", digest), false);
  assert.equal(keyMatches("k1".repeat(100), digest), false);
});
