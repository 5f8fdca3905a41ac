import { closeSync, fstatSync, openSync, readSync } from "node:fs";

/** A JSON file as read: its value, or what is wrong with it in words that never quote the file's content. */
export type JsonRead = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly problem: string };

/** The largest file read (a day-long soak's results with timelines and histograms stays far below). */
export const MAX_JSON_BYTES = 512 * 1024 * 1024;

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads and parses a JSON file. Problems name the file's kind of fault — unreadable, not a regular file, too large,
 * not UTF-8 text, not JSON (with the line and column when known) — and never quote its bytes: the path may be a
 * file the user did not mean to show (`--scenario /etc/shadow`), and an error message ends up in logs.
 */
export function readJsonFile(path: string, maxBytes = MAX_JSON_BYTES): JsonRead {
  let bytes: Buffer;
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { ok: false, problem: `${path} is not a regular file` };
    if (stat.size > maxBytes) return { ok: false, problem: `${path} is larger than ${Math.round(maxBytes / 1024 / 1024)} MiB` };
    bytes = Buffer.alloc(stat.size);
    let read = 0;
    while (read < bytes.length) {
      const n = readSync(fd, bytes, read, bytes.length - read, read);
      if (n === 0) break;
      read += n;
    }
    bytes = bytes.subarray(0, read);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, problem: `cannot read ${path} (${code ?? "read error"})` };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return parseJsonText(bytes, path);
}

/** Parses JSON bytes named `path` in messages; the same problems as `readJsonFile`. */
export function parseJsonText(bytes: Uint8Array, path: string): JsonRead {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return { ok: false, problem: `${path} is not UTF-8 text (is it a binary file?)` };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, problem: `${path} is not valid JSON${where(text, (error as Error).message)}` };
  }
}

/** " (line L, column C)" from the parser's "at position N", when it says; else "" (its message quotes the input). */
function where(text: string, message: string): string {
  if (/end of JSON input/i.test(message)) return " (it ends too early)";
  const position = /at position (\d+)/.exec(message);
  if (!position) return "";
  const at = Math.min(Number(position[1]), text.length);
  const before = text.slice(0, at);
  const line = before.split("\n").length;
  return ` (line ${line}, column ${at - before.lastIndexOf("\n")})`;
}
