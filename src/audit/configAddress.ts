import { createRequire } from "node:module";
import type * as Yaml from "yaml";

// yaml is loaded by the first document parsed, not by every process and thread that imports this file (start-up time).
const require = createRequire(import.meta.url);
const loadYaml = () => require("yaml") as typeof Yaml;

/** A dotted-quad IPv4 with each part from 0 to 255. */
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

// A YAML double-quoted scalar as JSON.stringify writes it (every JSON string literal is one).
const Q = String.raw`"(?:[^"\\\u0000-\u001f]|\\.)*"`;

/**
 * regbench's own rendering (see renderVpnConfig), as a grammar over the whole document: a document this matches
 * is YAML whose top-level `interfaceAddr` is the captured value, so the YAML library need not be asked. It is
 * only a shortcut: the library costs about 150 µs per config, 1.5 s for a 10,000-request audit, and every other
 * form (unquoted, single-quoted, flow style, other keys or order, comments) goes to the library.
 */
const CANONICAL = new RegExp(
  String.raw`^machineId: ${Q}\nroom: ${Q}\nweb: ${Q}\nmdns: (?:true|false)\nprotocol: ${Q}\nlisten: ${Q}\ninterfaceName: ${Q}\n` +
    String.raw`interfaceAddr: "([0-9.]+)/(?:3[0-2]|[12]?\d)"\ngateway: ${Q}\nlogLevel: ${Q}\n` +
    String.raw`acl:\n(?:  - action: ${Q}\n    src: ${Q}\n    dst: ${Q}\n)*relayNodes:(?: \[\]\n|\n(?:  - ${Q}\n)*)$`,
);

/**
 * The device address a config carries: its top-level `interfaceAddr`, an `IPv4/prefix` string, read as YAML.
 * Undefined when the text is not a YAML mapping, has no such key, or the value is not an address with a prefix.
 */
export function interfaceIpv4(yaml: string): string | undefined {
  const canonical = CANONICAL.exec(yaml);
  if (canonical) return IPV4.test(canonical[1]!) ? canonical[1] : undefined;
  let doc: unknown;
  try {
    doc = loadYaml().parse(yaml, { prettyErrors: false });
  } catch {
    return undefined;
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return undefined;
  const value = (doc as Record<string, unknown>).interfaceAddr;
  if (typeof value !== "string") return undefined;
  const slash = value.indexOf("/");
  if (slash < 0) return undefined;
  const ip = value.slice(0, slash).trim();
  const prefix = value.slice(slash + 1).trim();
  if (!IPV4.test(ip) || !/^(3[0-2]|[12]?\d)$/.test(prefix)) return undefined;
  return ip;
}
