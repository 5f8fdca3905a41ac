/** What `SingleFlight.do` hands back, as golang.org/x/sync/singleflight does. */
export interface FlightResult<T> {
  readonly value: T;
  /** The value was handed to more than one caller. */
  readonly shared: boolean;
  /** This caller ran the function; the others waited for it. */
  readonly leader: boolean;
}

interface Flight<T> {
  readonly promise: Promise<T>;
  followers: number;
}

/**
 * Concurrent calls with the same key share one execution: the first runs `fn`, the rest wait for its outcome,
 * value or error alike. Once it settles the key is free again, so later calls start a new flight. `forget` frees
 * a key early, so the next call starts a new flight even while one is running.
 */
export class SingleFlight<T> {
  private readonly flights = new Map<string, Flight<T>>();

  async do(key: string, fn: () => Promise<T>): Promise<FlightResult<T>> {
    const running = this.flights.get(key);
    if (running) {
      running.followers++;
      const value = await running.promise;
      return { value, shared: true, leader: false };
    }
    const flight: Flight<T> = { promise: Promise.resolve().then(fn), followers: 0 };
    this.flights.set(key, flight);
    try {
      const value = await flight.promise;
      return { value, shared: flight.followers > 0, leader: true };
    } finally {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    }
  }

  forget(key: string): void {
    this.flights.delete(key);
  }

  /** Keys with a flight under way. */
  get size(): number {
    return this.flights.size;
  }
}
