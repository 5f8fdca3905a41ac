import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";
import { parseCidr } from "../../src/core/ipv4.js";
import { DEFAULT_VPN_SETTINGS, renderVpnConfig } from "../../src/core/vpnConfig.js";

test("the rendered config is valid YAML with the interface address, mask, ACL, relays, listen and protocol", () => {
  const yaml = renderVpnConfig({
    projectId: 'p "quoted" \\ 1',
    machineId: "m: 1 # not a comment",
    ipv4: "10.1.0.7",
    cidr: parseCidr("10.1.0.0/24")!,
    relayNodes: ["relay-1:3478", "relay-2:3478"],
    settings: DEFAULT_VPN_SETTINGS,
  });
  const doc = parse(yaml) as Record<string, unknown>;
  assert.equal(doc.interfaceAddr, "10.1.0.7/24");
  assert.equal(doc.gateway, "10.1.0.1");
  assert.equal(doc.machineId, "m: 1 # not a comment");
  assert.equal(doc.room, 'p "quoted" \\ 1');
  assert.equal(doc.protocol, "udp");
  assert.equal(doc.listen, ":51820");
  assert.deepEqual(doc.relayNodes, ["relay-1:3478", "relay-2:3478"]);
  assert.deepEqual(
    (doc.acl as { action: string }[]).map((a) => a.action),
    ["allow", "deny"],
  );
});

test("no relays renders an empty list", () => {
  const yaml = renderVpnConfig({
    projectId: "p",
    machineId: "m",
    ipv4: "10.1.0.2",
    cidr: parseCidr("10.1.0.0/24")!,
    relayNodes: [],
    settings: DEFAULT_VPN_SETTINGS,
  });
  assert.deepEqual((parse(yaml) as { relayNodes: unknown }).relayNodes, []);
});
