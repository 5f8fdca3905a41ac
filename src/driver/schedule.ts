/**
 * One schedule for every generator thread of a run: the next request's index comes from one shared counter
 * (SharedArrayBuffer + Atomics), so a thread with a free connection takes the next request whoever "owns" it, and
 * the open loop's due times count from one shared start. No thread idles while another holds a backlog, and the
 * last requests go out with the whole concurrency in flight.
 */
export class SharedSchedule {
  private readonly counter: Int32Array;
  private readonly startUs: BigInt64Array;

  /** The buffer to hand to every thread (workerData shares it, it is not copied). */
  static buffer(): SharedArrayBuffer {
    return new SharedArrayBuffer(16);
  }

  constructor(readonly sab: SharedArrayBuffer) {
    this.counter = new Int32Array(sab, 0, 1);
    this.startUs = new BigInt64Array(sab, 8, 1);
  }

  /** The next index of the window, counting from 0; every call in every thread gets a different one. */
  take(): number {
    return Atomics.add(this.counter, 0, 1);
  }

  /**
   * The window's start as this thread's performance.now(): the first thread to ask sets it (its `now`), the others
   * read it (each thread has its own time origin, so it travels as epoch µs).
   */
  start(now: number): number {
    const mine = BigInt(Math.round((performance.timeOrigin + now) * 1000));
    const had = Atomics.compareExchange(this.startUs, 0, 0n, mine);
    const epochUs = had === 0n ? mine : had;
    return Number(epochUs) / 1000 - performance.timeOrigin;
  }
}
