/**
 * The largest and smallest of a list, by a loop. `Math.max(...values)` passes every value as an argument, and past
 * about 125,000 of them (a day-long soak's timeline) that overflows the stack; the lint rule against spreading into
 * a call (eslint.config.js) sends every such use here.
 */
export function maxOf(values: Iterable<number>, empty = -Infinity): number {
  let best = empty;
  let any = false;
  for (const v of values) {
    if (!any || v > best || Number.isNaN(v)) best = v;
    any = true;
  }
  return best;
}

export function minOf(values: Iterable<number>, empty = Infinity): number {
  let best = empty;
  let any = false;
  for (const v of values) {
    if (!any || v < best || Number.isNaN(v)) best = v;
    any = true;
  }
  return best;
}
