import assert from "node:assert/strict";
import { test } from "node:test";
import { formatIpv4, parseCidr, parseIpv4, poolSize } from "../../src/core/ipv4.js";

test("parses and formats IPv4 addresses", () => {
  assert.equal(parseIpv4("10.0.0.1"), 0x0a000001);
  assert.equal(parseIpv4("255.255.255.255"), 0xffffffff);
  assert.equal(formatIpv4(0xc0a80101), "192.168.1.1");
  for (const bad of ["10.0.0", "10.0.0.256", "a.b.c.d", "10.0.0.1.2", "", "01.2.3.4444"]) assert.equal(parseIpv4(bad), undefined, bad);
});

test("a CIDR skips network, gateway and broadcast", () => {
  const c = parseCidr("10.1.0.0/24")!;
  assert.equal(formatIpv4(c.network), "10.1.0.0");
  assert.equal(formatIpv4(c.gateway), "10.1.0.1");
  assert.equal(formatIpv4(c.firstHost), "10.1.0.2");
  assert.equal(formatIpv4(c.lastHost), "10.1.0.254");
  assert.equal(formatIpv4(c.broadcast), "10.1.0.255");
  assert.equal(poolSize(c), 253);
  assert.equal(poolSize(parseCidr("10.0.0.0/29")!), 5);
});

test("refuses CIDRs that are not a network address or leave no room", () => {
  for (const bad of ["10.1.0.1/24", "10.0.0.0/30", "10.0.0.0/0", "10.0.0.0", "10.0.0.0/33", "x/8"]) assert.equal(parseCidr(bad), undefined, bad);
});
