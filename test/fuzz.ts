import { mulberry32 } from "../src/workload/prng.js";

/** How many cases each fuzz test tries: 10,000 in the slow tier (REGBENCH_SLOW_TESTS=1), fewer otherwise. */
export const FUZZ_CASES = process.env.REGBENCH_SLOW_TESTS === "1" ? 10_000 : 1_000;

/** Values a mutation puts in place of another: every JSON type, edge numbers, hostile strings, deep nesting. */
function hostileValue(random: () => number): unknown {
  const choices: (() => unknown)[] = [
    () => null,
    () => true,
    () => 0,
    () => -1,
    () => 1e308,
    () => -1e308,
    () => 0.5,
    () => 2 ** 53 + 1,
    () => "",
    () => "\u001b]0;pwned\u0007\u001b[31m<script>alert(1)</script>|`*",
    () => "x".repeat(1 + Math.floor(random() * 10_000)),
    () => [],
    () => [null],
    () => ({}),
    () => ({ __proto__: { polluted: true } }),
    () => JSON.parse(`${"[".repeat(100)}${"]".repeat(100)}`),
    () => Array.from({ length: 1 + Math.floor(random() * 50) }, () => random()),
  ];
  return choices[Math.floor(random() * choices.length)]!();
}

/** Every container path of a JSON value (arrays and objects), with the keys/indices below it. */
function containers(root: unknown): { parent: Record<string, unknown> | unknown[]; key: string | number }[] {
  const found: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const stack: unknown[] = [root];
  while (stack.length) {
    const v = stack.pop();
    if (Array.isArray(v)) v.forEach((x, i) => (found.push({ parent: v, key: i }), stack.push(x)));
    else if (typeof v === "object" && v !== null)
      for (const [k, x] of Object.entries(v)) {
        found.push({ parent: v as Record<string, unknown>, key: k });
        stack.push(x);
      }
  }
  return found;
}

/**
 * One random mutation of a JSON document: structural (replace, delete, duplicate or retype a member, 1–3 times) or,
 * one case in five, textual (truncate, flip, insert or delete bytes of its serialisation). Returns the bytes.
 */
export function mutate(doc: unknown, seed: number): Buffer {
  const random = mulberry32(seed);
  const copy = JSON.parse(JSON.stringify(doc)) as unknown;
  if (random() < 0.2) {
    const bytes = Buffer.from(JSON.stringify(copy));
    const at = Math.floor(random() * bytes.length);
    const kind = Math.floor(random() * 4);
    if (kind === 0) return bytes.subarray(0, at);
    if (kind === 1) return Buffer.concat([bytes.subarray(0, at), Buffer.from([Math.floor(random() * 256)]), bytes.subarray(at + 1)]);
    if (kind === 2) return Buffer.concat([bytes.subarray(0, at), Buffer.from([Math.floor(random() * 256)]), bytes.subarray(at)]);
    return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + Math.floor(random() * 8))]);
  }
  const times = 1 + Math.floor(random() * 3);
  for (let i = 0; i < times; i++) {
    const places = containers(copy);
    if (!places.length) break;
    const { parent, key } = places[Math.floor(random() * places.length)]!;
    const kind = Math.floor(random() * 4);
    if (kind === 0 && !Array.isArray(parent)) delete parent[key as string];
    else if (kind === 1 && Array.isArray(parent)) parent.push(parent[key as number]);
    else if (kind === 2 && typeof (parent as Record<string, unknown>)[key] === "number")
      (parent as Record<string, unknown>)[key] = String((parent as Record<string, unknown>)[key]);
    else (parent as Record<string, unknown>)[key] = hostileValue(random);
  }
  return Buffer.from(JSON.stringify(copy));
}
