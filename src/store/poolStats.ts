/**
 * How long registrations waited for a database connection: on a real database the pool is often the bottleneck, and
 * a user must see it in the strategy's stats rather than guess it from the latency.
 */
export class PoolStats {
  private acquisitions = 0;
  private waited = 0;
  private waitedMs = 0;
  private maxWaitMs = 0;
  private opened = 0;
  private lost = 0;

  constructor(readonly size: number) {}

  /** One acquisition that took `ms`; `busy` when every connection was in use as it was asked for. */
  record(ms: number, busy: boolean): void {
    this.acquisitions++;
    this.waitedMs += ms;
    if (ms > this.maxWaitMs) this.maxWaitMs = ms;
    if (busy) this.waited++;
  }

  /** The pool opened a connection: more than its size in a run means connections were lost or thrown away. */
  connectionOpened(): void {
    this.opened++;
  }

  /** A connection in use broke (the server ended it, the network dropped it) and the pool let it go. */
  connectionLost(): void {
    this.lost++;
  }

  summary(): Readonly<Record<string, number>> {
    return {
      poolSize: this.size,
      poolAcquisitions: this.acquisitions,
      poolWaits: this.waited,
      poolWaitMs: Math.round(this.waitedMs),
      poolMaxWaitMs: Math.round(this.maxWaitMs),
      poolConnectionsOpened: this.opened,
      poolConnectionsLost: this.lost,
    };
  }
}
