import { ValidationError } from "../core/errors.js";

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decodes a request body as UTF-8, strictly (RFC 8259 §8.1: JSON exchanged between systems is UTF-8). A lenient
 * decoder would turn every invalid byte into U+FFFD, so that `m-\xFF` and `m-\xFE` became one machineID and the
 * second device got the first one's address and config. Invalid bytes are a ValidationError naming the field whose
 * string holds them (`body` when they are outside a field's value), never any of the bytes themselves.
 */
export function decodeUtf8Body(bytes: Uint8Array): string {
  try {
    return strict.decode(bytes);
  } catch {
    throw new ValidationError(fieldAt(bytes, firstInvalidByte(bytes)), "is not valid UTF-8");
  }
}

/**
 * The offset of the first invalid byte: the longest prefix a streaming decoder accepts (a prefix that ends inside
 * a valid sequence is held back, not refused, so acceptance is monotonic and a binary search finds the edge).
 */
function firstInvalidByte(bytes: Uint8Array): number {
  let ok = 0;
  let bad = bytes.length;
  while (bad - ok > 1) {
    const mid = (ok + bad) >>> 1;
    try {
      new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes.subarray(0, mid), { stream: true });
      ok = mid;
    } catch {
      bad = mid;
    }
  }
  return ok;
}

/** The name of the JSON member whose string value is open at `offset`, read from the valid text before it. */
function fieldAt(bytes: Uint8Array, offset: number): string {
  const before = new TextDecoder("utf-8").decode(bytes.subarray(0, offset));
  const member = /"((?:[^"\\\u0000-\u001f]|\\.){1,64})"\s*:\s*"(?:[^"\\]|\\.)*$/.exec(before);
  return member ? member[1]! : "body";
}
