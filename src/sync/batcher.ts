/**
 * Coalesces calls made in the same turn of the event loop into one batch call (group commit). Calls arriving while
 * a batch is in flight form the next batch, which runs concurrently with it — up to `maxInFlight` batches; beyond,
 * the next batch keeps collecting until one finishes (with 1: one transaction in flight while the next fills up).
 */
export class Batcher<I, O> {
  private pending: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;
  private inFlight = 0;
  /** Batches flushed and the largest one, for the report. */
  readonly stats = { batches: 0, items: 0, largest: 0 };

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly maxBatch = 256,
    private readonly maxInFlight = Infinity,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0 || this.inFlight >= this.maxInFlight) return;
    const batch = this.pending.length > this.maxBatch ? this.pending.splice(0, this.maxBatch) : this.pending;
    if (batch === this.pending) this.pending = [];
    this.stats.batches++;
    this.stats.items += batch.length;
    if (batch.length > this.stats.largest) this.stats.largest = batch.length;
    this.inFlight++;
    this.run(batch.map((b) => b.item))
      .then(
        (outputs) => batch.forEach((b, i) => b.resolve(outputs[i]!)),
        (error) => batch.forEach((b) => b.reject(error)),
      )
      .finally(() => {
        this.inFlight--;
        // What collected meanwhile goes next.
        if (this.pending.length > 0 && !this.scheduled) {
          this.scheduled = true;
          setImmediate(() => this.flush());
        }
      });
  }
}
