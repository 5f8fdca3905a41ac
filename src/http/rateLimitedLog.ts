/**
 * A log that writes at most one line per kind per interval: a client that sends ten thousand bad requests a second
 * gets one line a second, with the count of the lines it stood for, not ten thousand stack traces.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly sink: (line: string) => void,
    private readonly intervalMs = 1000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  write(kind: string, line: string): void {
    const at = this.now();
    const seen = this.last.get(kind);
    if (seen && at - seen.at < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    const suppressed = seen?.suppressed ?? 0;
    this.last.set(kind, { at, suppressed: 0 });
    this.sink(suppressed > 0 ? `${line} (and ${suppressed} more ${kind} since the last line)` : line);
  }
}
