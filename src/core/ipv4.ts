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

/** A dotted quad (each part one to three digits, 0 to 255) as a number; undefined otherwise. */
export function parseIpv4(text: string): number | undefined {
  return dottedQuad(text, false);
}

/**
 * An answer's address as a number: a dotted quad whose parts are 0 to 255, a three-digit part starting with 1 or 2
 * (what `/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(…)){3}$/` accepts); undefined otherwise. One pass over the characters, no
 * string made: it runs once per answer.
 */
export function parseAddress(text: string): number | undefined {
  return dottedQuad(text, true);
}

function dottedQuad(text: string, strict: boolean): number | undefined {
  const n = text.length;
  if (n < 7 || n > 15) return undefined;
  let value = 0;
  let part = 0;
  let digits = 0;
  let first = 0;
  let dots = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || part > 255 || (strict && digits === 3 && first !== 1 && first !== 2)) return undefined;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
      continue;
    }
    const d = c - 48;
    if (d < 0 || d > 9 || digits === 3) return undefined;
    if (digits === 0) first = d;
    part = part * 10 + d;
    digits++;
  }
  return dots === 4 ? value : undefined;
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
