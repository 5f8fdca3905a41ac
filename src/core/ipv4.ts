/** IPv4 and CIDR arithmetic on unsigned 32-bit numbers. */

export interface Cidr {
  readonly text: string;
  readonly network: number;
  readonly prefix: number;
  readonly broadcast: number;
  /** The gateway takes the first host address; devices never get it. */
  readonly gateway: number;
  /** First and last address a device may get. */
  readonly firstHost: number;
  readonly lastHost: number;
}

export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return `${(value >>> 24) & 255}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** Parses `a.b.c.d/p`; the pool must leave room for at least one device (prefix ≤ 29). */
export function parseCidr(text: string): Cidr | undefined {
  const match = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!match) return undefined;
  const address = parseIpv4(match[1]!);
  const prefix = Number(match[2]);
  if (address === undefined || prefix < 1 || prefix > 29) return undefined;
  const size = 2 ** (32 - prefix);
  const network = address - (address % size);
  if (network !== address) return undefined;
  const broadcast = network + size - 1;
  return { text, network, prefix, broadcast, gateway: network + 1, firstHost: network + 2, lastHost: broadcast - 1 };
}

/** How many devices a pool can hold. */
export function poolSize(cidr: Cidr): number {
  return cidr.lastHost - cidr.firstHost + 1;
}
