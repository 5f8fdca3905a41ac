/** A one-line progress bar on a TTY stream; it draws only once a run has lasted a second. */
export class ProgressBar {
  private started = performance.now();
  private drawn = false;

  constructor(private readonly stream: NodeJS.WriteStream, private readonly enabled: boolean) {}

  restart(): void {
    this.started = performance.now();
  }

  update(label: string, done: number, total: number): void {
    if (!this.enabled || performance.now() - this.started < 1000) return;
    const width = 30;
    const share = total > 0 ? Math.min(1, done / total) : 0;
    const filled = Math.round(share * width);
    const elapsed = (performance.now() - this.started) / 1000;
    this.stream.write(`\r\u001b[2K${label} [${"█".repeat(filled)}${"░".repeat(width - filled)}] ${done}/${total} ${elapsed.toFixed(1)} s`);
    this.drawn = true;
  }

  clear(): void {
    if (this.drawn) this.stream.write("\r\u001b[2K");
    this.drawn = false;
  }
}
