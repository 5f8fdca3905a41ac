/**
 * A TCP fault proxy on node's `net`, put between a run's server instances and a service (Redis, etcd, the database)
 * for the network nemeses: it forwards bytes unchanged until told to stop delivering them (a partition), to delay
 * them (latency), or to reset the connections (a proxy or a failover dropping them).
 */

import { connect, createServer, type Server, type Socket } from "node:net";

/** What the proxy does to the bytes and connections that cross it. */
export type ProxyMode =
  /** Forward every byte as it comes. */
  | { readonly kind: "pass" }
  /**
   * A partition: connections stay open and nothing is delivered either way; new connections are accepted but not
   * forwarded. Bytes are held (the sockets stop reading, so the kernel's buffers fill as on a real cut), not dropped:
   * when the partition heals, TCP would deliver them, and so does the proxy.
   */
  | { readonly kind: "blackhole" }
  /** Every chunk delivered `ms` later, each way, in order. */
  | { readonly kind: "latency"; readonly ms: number }
  /** Every open connection reset (RST) both ways at once; new ones reset as they come, while the mode lasts. */
  | { readonly kind: "reset" };

export const PASS: ProxyMode = Object.freeze({ kind: "pass" });

/** What the proxy saw, for a nemesis's detail. */
export interface ProxyStats {
  readonly accepted: number;
  /** Connections reset by the reset mode. */
  readonly reset: number;
  /** Connections open now. */
  readonly open: number;
}

/** One direction of a connection: what came from `from` and waits to go to `to`. */
interface Lane {
  readonly from: Socket;
  to: Socket | undefined;
  readonly queue: { due: number; chunk: Buffer | null }[];
  timer: NodeJS.Timeout | undefined;
  ended: boolean;
}

/** A client connection and its upstream twin (none while a partition holds a connection made during it). */
interface Pair {
  readonly client: Socket;
  upstream: Socket | undefined;
  readonly up: Lane;
  readonly down: Lane;
  closed: boolean;
}

/** A TCP proxy on 127.0.0.1 (a free port) to `upstream`; see ProxyMode. Started with `startFaultProxy`. */
export class FaultProxy {
  private mode: ProxyMode = PASS;
  private readonly pairs = new Set<Pair>();
  private accepted = 0;
  private resets = 0;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly server: Server,
    readonly port: number,
    readonly upstream: { readonly host: string; readonly port: number },
  ) {
    server.on("connection", (socket) => this.accept(socket));
  }

  readonly host = "127.0.0.1";

  get currentMode(): ProxyMode {
    return this.mode;
  }

  stats(): ProxyStats {
    return { accepted: this.accepted, reset: this.resets, open: this.pairs.size };
  }

  /** Changes what the proxy does from now on; leaving a partition delivers what it held, in order. */
  setMode(mode: ProxyMode): void {
    if (this.stopping) return;
    this.mode = mode;
    for (const pair of [...this.pairs]) {
      if (mode.kind === "reset") {
        this.reset(pair);
        continue;
      }
      if (mode.kind !== "blackhole" && !pair.upstream) this.dial(pair);
      for (const lane of [pair.up, pair.down]) {
        if (mode.kind === "blackhole") lane.from.pause();
        else this.pump(lane);
      }
    }
  }

  /** Closes the port and every connection; resolves once the port is released. */
  stop(): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const pair of [...this.pairs]) this.close(pair);
    });
    return this.stopping;
  }

  private accept(client: Socket): void {
    if (this.stopping) {
      client.destroy();
      return;
    }
    this.accepted++;
    client.setNoDelay(true);
    if (this.mode.kind === "reset") {
      this.resets++;
      client.on("error", () => {});
      client.resetAndDestroy();
      return;
    }
    const pair: Pair = {
      client,
      upstream: undefined,
      up: { from: client, to: undefined, queue: [], timer: undefined, ended: false },
      down: { from: client, to: client, queue: [], timer: undefined, ended: false },
      closed: false,
    };
    this.pairs.add(pair);
    client.on("data", (chunk: Buffer) => this.enqueue(pair.up, chunk));
    client.on("end", () => this.enqueue(pair.up, null));
    client.on("error", () => this.close(pair));
    client.on("close", () => this.closed(pair));
    if (this.mode.kind === "blackhole") client.pause();
    else this.dial(pair);
  }

  /** Connects the pair's upstream side; bytes the client sent meanwhile wait in its lane. */
  private dial(pair: Pair): void {
    if (pair.upstream || pair.closed) return;
    const upstream = connect({ host: this.upstream.host, port: this.upstream.port, allowHalfOpen: true });
    upstream.setNoDelay(true);
    pair.upstream = upstream;
    pair.up.to = upstream;
    (pair as { down: Lane }).down = { from: upstream, to: pair.client, queue: [], timer: undefined, ended: false };
    upstream.on("connect", () => this.pump(pair.up));
    upstream.on("data", (chunk: Buffer) => this.enqueue(pair.down, chunk));
    upstream.on("end", () => this.enqueue(pair.down, null));
    upstream.on("error", () => this.close(pair));
    upstream.on("close", () => this.closed(pair));
    if (pair.client.isPaused()) pair.client.resume();
  }

  private enqueue(lane: Lane, chunk: Buffer | null): void {
    const delay = this.mode.kind === "latency" ? this.mode.ms : 0;
    const last = lane.queue.at(-1)?.due ?? 0;
    // Order is kept: a chunk never overtakes the one before it, whatever the delay was then.
    lane.queue.push({ due: Math.max(performance.now() + delay, last), chunk });
    if (this.mode.kind === "blackhole") lane.from.pause();
    this.pump(lane);
  }

  /** Delivers what is due, in order; waits for the next chunk's time, the upstream's connection, or a heal. */
  private pump(lane: Lane): void {
    if (lane.timer) {
      clearTimeout(lane.timer);
      lane.timer = undefined;
    }
    if (this.mode.kind === "blackhole" || this.mode.kind === "reset" || this.stopping) return;
    const to = lane.to;
    if (!to || to.connecting || to.destroyed) return;
    const now = performance.now();
    while (lane.queue.length > 0 && lane.queue[0]!.due <= now) {
      const { chunk } = lane.queue.shift()!;
      if (chunk === null) {
        lane.ended = true;
        to.end();
        return;
      }
      // Back-pressure: a slow receiver stops the sender's reads rather than filling this process's memory.
      if (!to.write(chunk)) {
        lane.from.pause();
        to.once("drain", () => {
          if (this.mode.kind !== "blackhole") lane.from.resume();
        });
      }
    }
    if (lane.queue.length > 0) {
      lane.timer = setTimeout(() => this.pump(lane), Math.max(0, lane.queue[0]!.due - now));
    } else if (!to.writableNeedDrain) {
      lane.from.resume();
    }
  }

  private reset(pair: Pair): void {
    this.resets++;
    pair.closed = true;
    this.pairs.delete(pair);
    for (const lane of [pair.up, pair.down]) if (lane.timer) clearTimeout(lane.timer);
    for (const socket of [pair.client, pair.upstream]) {
      if (!socket || socket.destroyed) continue;
      // Only a connected socket can send an RST; one still connecting is simply destroyed.
      if (socket.connecting) socket.destroy();
      else socket.resetAndDestroy();
    }
  }

  /**
   * A socket of the pair closed. An orderly end travels through the lanes (what was queued is delivered first), so
   * the pair is forgotten once both sides are closed; a connection held by a partition has only its client side.
   */
  private closed(pair: Pair): void {
    if (pair.client.destroyed && (!pair.upstream || pair.upstream.destroyed)) this.close(pair);
    else if (pair.client.destroyed && pair.upstream && !pair.up.ended && pair.up.queue.length === 0) pair.upstream.end();
  }

  /** Ends the pair at once, both sides (an error, a stop). */
  private close(pair: Pair): void {
    if (pair.closed) return;
    pair.closed = true;
    this.pairs.delete(pair);
    for (const lane of [pair.up, pair.down]) if (lane.timer) clearTimeout(lane.timer);
    pair.client.destroy();
    pair.upstream?.destroy();
  }
}

/** Starts a proxy to `upstream` on a free loopback port; resolves once it listens. */
export function startFaultProxy(upstream: { readonly host: string; readonly port: number }): Promise<FaultProxy> {
  return new Promise((resolve, reject) => {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: false });
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      const address = server.address();
      if (typeof address !== "object" || !address) {
        server.close();
        reject(new Error("the fault proxy got no port"));
        return;
      }
      resolve(new FaultProxy(server, address.port, upstream));
    });
  });
}

/** The host and port a service URL names (brackets of an IPv6 literal removed), its default port when it has none. */
export function upstreamOf(url: string, defaultPort: number): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port || defaultPort) };
}

/** `url` with its host and port replaced by the proxy's: the same service, reached through the proxy. */
export function throughProxy(url: string, proxy: FaultProxy): string {
  const u = new URL(url);
  u.hostname = proxy.host;
  u.port = String(proxy.port);
  const text = u.toString();
  // URL adds a path of "/" to a bare http://host:port; an etcd endpoint is given without it.
  return text.endsWith("/") && !url.endsWith("/") ? text.slice(0, -1) : text;
}
