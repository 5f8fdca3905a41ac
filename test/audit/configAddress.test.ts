import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";
import { interfaceIpv4 } from "../../src/audit/configAddress.js";
import { parseCidr } from "../../src/core/ipv4.js";
import { DEFAULT_VPN_SETTINGS, renderVpnConfig } from "../../src/core/vpnConfig.js";
import { mulberry32 } from "../../src/workload/prng.js";

test("a config's interface address is read as YAML, whatever style writes it", () => {
  const cases: [string, string | undefined][] = [
    ['interfaceAddr: "10.0.0.2/12"\n', "10.0.0.2"],
    ["interfaceAddr: 10.0.0.2/12\n", "10.0.0.2"],
    ["interfaceAddr: '10.0.0.2/12'\n", "10.0.0.2"],
    ["{machineId: m1, interfaceAddr: 10.0.0.9/24}", "10.0.0.9"],
    ["# a comment\nlisten: ':51820'\ninterfaceAddr: 10.1.2.3/16 # trailing\nacl: []\n", "10.1.2.3"],
    ["interfaceAddr: >-\n  10.0.0.4/12\n", "10.0.0.4"],
    ["interfaceAddr: 10.0.0.2\n", undefined],
    ["interfaceAddr: 10.0.0.256/12\n", undefined],
    ["interfaceAddr: 10.0.0.2/33\n", undefined],
    ["interfaceAddr: [10.0.0.2/12]\n", undefined],
    ["interfaceAddr: 1\n", undefined],
    ["- interfaceAddr: 10.0.0.2/12\n", undefined],
    ["nested:\n  interfaceAddr: 10.0.0.2/12\n", undefined],
    ['interfaceAddr: "10.0.0.2/12"\ninterfaceAddr: "10.0.0.3/12"\n', undefined],
    ["not: [valid\n", undefined],
    ["null", undefined],
    ["", undefined],
  ];
  for (const [yaml, expected] of cases) assert.equal(interfaceIpv4(yaml), expected, JSON.stringify(yaml));
});

test("regbench's own configs read the same through the shortcut as through the YAML library", () => {
  const random = mulberry32(11);
  const alphabet = ["a", "Z", "9", " ", ":", "#", '"', "'", "\\", "-", "é", "主", "\u2028", "{", "]", "\t", "\n"];
  const text = () => Array.from({ length: 1 + Math.floor(random() * 12) }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
  for (let i = 0; i < 300; i++) {
    const prefix = 8 + Math.floor(random() * 22);
    const cidr = parseCidr(`10.0.0.0/${prefix}`)!;
    const ipv4 = `10.0.${Math.floor(random() * 4)}.${2 + Math.floor(random() * 200)}`;
    const relays = Array.from({ length: Math.floor(random() * 3) }, text);
    const yaml = renderVpnConfig({ projectId: text(), machineId: text(), ipv4, cidr, relayNodes: relays, settings: DEFAULT_VPN_SETTINGS });
    const viaLibrary = String((parse(yaml) as { interfaceAddr: string }).interfaceAddr).split("/")[0];
    assert.equal(interfaceIpv4(yaml), viaLibrary, yaml);
    assert.equal(interfaceIpv4(yaml), ipv4);
  }
});
