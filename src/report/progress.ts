import type { RunEvent } from "../model/events.js";

type Progress = Extract<RunEvent, { type: "progress" }>;

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/** The live figures of a run in one line: done, the last second's TPS, errors and p99. */
export function progressFigures(p: Progress): string {
  const of = p.total !== undefined ? `${fmt(p.done)}/${fmt(p.total)}` : `${fmt(p.done)} done`;
  const time = p.durationS !== undefined ? `${p.elapsedS.toFixed(1)}/${p.durationS.toFixed(0)} s` : `${p.elapsedS.toFixed(1)} s`;
  const p99 = p.recent.p99Ms === null ? "n/a" : `${p.recent.p99Ms < 10 ? p.recent.p99Ms.toFixed(2) : Math.round(p.recent.p99Ms)} ms`;
  return `${of} · ${time} · last 1 s: ${fmt(p.recent.tps)}/s, ${fmt(p.recent.errors)} err, p99 ${p99} · failed ${fmt(p.failed)}`;
}

/**
 * Live progress of a run. On a terminal: one line redrawn in place (a bar when the run's length is known), drawn
 * once a strategy has run for a second. Not on a terminal (a CI log): one plain line every `everyMs` (5 s).
 */
export class ProgressBar {
  private started = performance.now();
  private drawn = false;
  private lastLine = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly mode: "tty" | "lines" | "off",
    private readonly everyMs = 5000,
  ) {}

  restart(): void {
    this.started = performance.now();
    this.lastLine = this.started;
  }

  update(label: string, p: Progress): void {
    const now = performance.now();
    if (this.mode === "lines") {
      if (now - this.lastLine < this.everyMs) return;
      this.lastLine = now;
      this.stream.write(`regbench: ${label}: ${progressFigures(p)}\n`);
      return;
    }
    if (this.mode !== "tty" || now - this.started < 1000) return;
    const width = 20;
    const share = p.total !== undefined && p.total > 0 ? Math.min(1, p.done / p.total) : p.durationS ? Math.min(1, p.elapsedS / p.durationS) : 0;
    const filled = Math.round(share * width);
    const columns = this.stream.columns ?? 120;
    const line = `${label} [${"█".repeat(filled)}${"░".repeat(width - filled)}] ${progressFigures(p)}`;
    this.stream.write(`\r\u001b[2K${line.slice(0, columns - 1)}`);
    this.drawn = true;
  }

  clear(): void {
    if (this.drawn) this.stream.write("\r\u001b[2K");
    this.drawn = false;
  }
}
