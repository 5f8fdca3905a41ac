/**
 * Coalesces calls made in the same turn of the event loop into one batch call (group commit). Nothing is held
 * while a batch is in flight: calls arriving meanwhile form the next batch, which may run concurrently with it.
 */
export class Batcher<I, O> {
  private pending: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;
  /** Batches flushed and the largest one, for the report. */
  readonly stats = { batches: 0, items: 0, largest: 0 };

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly maxBatch = 256,
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
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    this.stats.batches++;
    this.stats.items += batch.length;
    if (batch.length > this.stats.largest) this.stats.largest = batch.length;
    this.run(batch.map((b) => b.item)).then(
      (outputs) => batch.forEach((b, i) => b.resolve(outputs[i]!)),
      (error) => batch.forEach((b) => b.reject(error)),
    );
  }
}
