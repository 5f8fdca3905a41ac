/** 32-bit FNV-1a over the UTF-16 code units of a string (what the seed's sharded lock hashes with). */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // Hash UTF-16 units byte by byte so ASCII keys hash exactly as Go's fnv.New32a over their bytes.
    if (unit > 0xff) {
      hash ^= unit >>> 8;
      hash = Math.imul(hash, 0x01000193);
    }
    hash ^= unit & 0xff;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The smallest power of two ≥ n (and ≥ 1). */
export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
