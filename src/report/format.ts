/** Shared number formatting for every human-readable output. Unknown is `n/a`, never 0. */

export const NA = "n/a";

export function fmtInt(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? NA : Math.round(n).toLocaleString("en-US");
}

export function fmtMs(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return NA;
  if (n >= 100) return n.toFixed(0);
  if (n >= 10) return n.toFixed(1);
  if (n >= 1) return n.toFixed(2);
  return n.toFixed(3);
}

export function fmtPct(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return NA;
  return `${(ratio * 100).toFixed(ratio > 0 && ratio < 0.001 ? 3 : 2)}%`;
}

export function fmtRatio(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? NA : n.toFixed(2);
}

export function fmtMb(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? NA : `${n.toFixed(0)} MB`;
}
