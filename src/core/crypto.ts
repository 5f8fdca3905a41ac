import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from "node:crypto";

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** A fresh random 256-bit server key. */
export function newServerKey(): Buffer {
  return randomBytes(32);
}

/** The digest under which a project key is stored. */
export function keyDigest(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}

/**
 * Compares a presented key with a stored digest in constant time. Hashing first makes both sides the same
 * length, so neither the length nor the content of the key leaks through timing.
 */
export function keyMatches(presented: string, digest: Buffer): boolean {
  return timingSafeEqual(keyDigest(presented), digest);
}

// Random nonces are drawn from the CSPRNG in blocks: one call per 1024 seals instead of one per seal, which was
// a measurable share of a registration's CPU time. Every nonce is still 96 fresh random bits.
const NONCE_BLOCK = 1024;
let noncePool = Buffer.alloc(0);
let nonceOffset = 0;

function nextNonce(): Buffer {
  if (nonceOffset + NONCE_BYTES > noncePool.length) {
    noncePool = randomBytes(NONCE_BYTES * NONCE_BLOCK);
    nonceOffset = 0;
  }
  const nonce = noncePool.subarray(nonceOffset, nonceOffset + NONCE_BYTES);
  nonceOffset += NONCE_BYTES;
  return nonce;
}

/** AES-256-GCM with a random nonce: base64(nonce ‖ tag ‖ ciphertext). */
export function seal(plaintext: string, key: Buffer): string {
  const nonce = nextNonce();
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([nonce, cipher.getAuthTag(), body]).toString("base64");
}

/** The inverse of `seal`; undefined when the text was not sealed under this key or was altered. */
export function open(sealed: string, key: Buffer): string | undefined {
  const raw = Buffer.from(sealed, "base64");
  if (raw.length < NONCE_BYTES + TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, NONCE_BYTES));
    decipher.setAuthTag(raw.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
  } catch {
    return undefined;
  }
}
