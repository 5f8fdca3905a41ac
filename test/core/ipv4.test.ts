import assert from "node:assert/strict";
import { test } from "node:test";
import { formatIpv4, parseAddress, parseCidr, parseIpv4, poolSize } from "../../src/core/ipv4.js";
import { mulberry32 } from "../../src/workload/prng.js";

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

test("the one-pass address readers agree with the patterns they replace, on random text", () => {
  // What the answer reader accepted before (a regular expression), and what parseIpv4 did (split and test).
  const quad = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
  const bySplit = (text: string) => {
    const parts = text.split(".");
    if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
    return parts.reduce((v, p) => v * 256 + Number(p), 0);
  };
  const random = mulberry32(16);
  const alphabet = "0123456789.12.5-a ";
  for (let k = 0; k < 200_000; k++) {
    let text = "";
    if (random() < 0.5) {
      // Near a dotted quad: three to five parts of one to four digits.
      const parts = 3 + Math.floor(random() * 3);
      for (let p = 0; p < parts; p++)
        text += (p > 0 ? "." : "") + String(Math.floor(random() * 10 ** (1 + Math.floor(random() * 4)))).padStart(random() < 0.2 ? 3 : 0, "0");
    } else {
      const length = 1 + Math.floor(random() * 16);
      for (let i = 0; i < length; i++) text += alphabet[Math.floor(random() * alphabet.length)];
    }
    const expected = quad.test(text) ? bySplit(text) : undefined;
    assert.equal(parseAddress(text), expected, JSON.stringify(text));
    assert.equal(parseIpv4(text), bySplit(text), JSON.stringify(text));
  }
  for (const [text, value] of [
    ["0.0.0.0", 0],
    ["255.255.255.255", 0xffffffff],
    ["01.2.3.4", 0x01020304],
    ["10.0.0.2", 0x0a000002],
  ] as const) {
    assert.equal(parseAddress(text), value, text);
  }
  for (const bad of ["001.2.3.4", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "1..2.3", "1.2.3.4.", "1.2.3.-4", "099.1.1.1"])
    assert.equal(parseAddress(bad), undefined, bad);
});
