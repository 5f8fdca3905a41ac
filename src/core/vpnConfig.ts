import type { Cidr } from "./ipv4.js";
import { formatIpv4 } from "./ipv4.js";

/** Settings every rendered config shares; one frozen default, overridable per service. */
export interface VpnSettings {
  readonly web: string;
  readonly mdns: boolean;
  readonly protocol: "udp" | "tcp";
  readonly listen: string;
  readonly interfaceName: string;
  readonly logLevel: "debug" | "info" | "warn" | "error";
}

export const DEFAULT_VPN_SETTINGS: VpnSettings = Object.freeze({
  web: "0.0.0.0:8080",
  mdns: false,
  protocol: "udp",
  listen: ":51820",
  interfaceName: "rb0",
  logLevel: "info",
});

export interface VpnConfigInput {
  readonly projectId: string;
  readonly machineId: string;
  readonly ipv4: string;
  readonly cidr: Cidr;
  readonly relayNodes: readonly string[];
  readonly settings: VpnSettings;
}

// JSON string literals are valid YAML double-quoted scalars, which makes quoting exact without a YAML library
// on the hot path (the tests parse the output with a real YAML parser).
const q = JSON.stringify;

/** Renders a device's VPN config as YAML: interface address with mask, ACL, relays, listen, protocol. */
export function renderVpnConfig(input: VpnConfigInput): string {
  const pool = `${formatIpv4(input.cidr.network)}/${input.cidr.prefix}`;
  const relays = input.relayNodes.length === 0 ? "relayNodes: []\n" : `relayNodes:\n${input.relayNodes.map((r) => `  - ${q(r)}\n`).join("")}`;
  return (
    `machineId: ${q(input.machineId)}\n` +
    `room: ${q(input.projectId)}\n` +
    `web: ${q(input.settings.web)}\n` +
    `mdns: ${input.settings.mdns}\n` +
    `protocol: ${q(input.settings.protocol)}\n` +
    `listen: ${q(input.settings.listen)}\n` +
    `interfaceName: ${q(input.settings.interfaceName)}\n` +
    `interfaceAddr: ${q(`${input.ipv4}/${input.cidr.prefix}`)}\n` +
    `gateway: ${q(formatIpv4(input.cidr.gateway))}\n` +
    `logLevel: ${q(input.settings.logLevel)}\n` +
    `acl:\n  - action: "allow"\n    src: ${q(pool)}\n    dst: ${q(pool)}\n  - action: "deny"\n    src: "0.0.0.0/0"\n    dst: ${q(pool)}\n` +
    relays
  );
}
