/** Addresses a chunk holds in a small set before it becomes a bitmap: about the bitmap's 8 KiB in a hash set. */
export const SMALL_CHUNK = 512;

/** One chunk: a /16 of the IPv4 space, 65,536 addresses. */
const CHUNK_BITS = 16;
const CHUNK_SIZE = 2 ** CHUNK_BITS;

/**
 * A set of address numbers (a 32-bit IPv4 address as an unsigned number, or any other number: the audit gives a
 * malformed stored text one of 2^32 and up) that says, as each is added, whether it was there already. Built for a
 * run's million addresses: the 32-bit space is cut into /16 chunks allocated as they are first used; a chunk keeps
 * its first SMALL_CHUNK addresses in a small set and then turns into a bitmap of 65,536 bits (8 KiB), so a
 * project's million addresses in a /12 take 16 bitmaps (128 KiB) instead of a hash set's ~20 MB, and a project
 * with a handful of rows a handful of entries. Numbers outside the 32-bit range are kept in a set of their own.
 */
export class AddressSet {
  private readonly chunks = new Map<number, Set<number> | Uint8Array>();
  private readonly others = new Set<number>();
  private count = 0;

  /** Distinct numbers added. */
  get size(): number {
    return this.count;
  }

  /** Adds `n`; true when it was in the set already (a duplicate), false when it is new. */
  add(n: number): boolean {
    if (!isAddress(n)) {
      if (this.others.has(n)) return true;
      this.others.add(n);
      this.count++;
      return false;
    }
    const high = Math.floor(n / CHUNK_SIZE);
    const low = n % CHUNK_SIZE;
    const chunk = this.chunks.get(high);
    if (chunk === undefined) {
      this.chunks.set(high, new Set([low]));
      this.count++;
      return false;
    }
    if (chunk instanceof Uint8Array) {
      const bit = 1 << (low & 7);
      if ((chunk[low >>> 3]! & bit) !== 0) return true;
      chunk[low >>> 3] = chunk[low >>> 3]! | bit;
      this.count++;
      return false;
    }
    if (chunk.has(low)) return true;
    chunk.add(low);
    this.count++;
    if (chunk.size > SMALL_CHUNK) {
      const bits = new Uint8Array(CHUNK_SIZE / 8);
      for (const l of chunk) bits[l >>> 3] = bits[l >>> 3]! | (1 << (l & 7));
      this.chunks.set(high, bits);
    }
    return false;
  }

  has(n: number): boolean {
    if (!isAddress(n)) return this.others.has(n);
    const chunk = this.chunks.get(Math.floor(n / CHUNK_SIZE));
    const low = n % CHUNK_SIZE;
    if (chunk === undefined) return false;
    if (chunk instanceof Uint8Array) return (chunk[low >>> 3]! & (1 << (low & 7))) !== 0;
    return chunk.has(low);
  }

  /** How many chunks are bitmaps, and how many small sets (for the tests, and to see what a set costs). */
  shape(): { readonly bitmaps: number; readonly small: number; readonly others: number } {
    let bitmaps = 0;
    for (const chunk of this.chunks.values()) if (chunk instanceof Uint8Array) bitmaps++;
    return { bitmaps, small: this.chunks.size - bitmaps, others: this.others.size };
  }
}

function isAddress(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}
