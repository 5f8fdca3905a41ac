import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, test } from "node:test";
import { PASS, startFaultProxy, throughProxy, upstreamOf, type FaultProxy } from "../../src/faults/proxy.js";

/** A real echo server on loopback that counts the connections it accepted and keeps them, to see them end. */
interface Echo {
  readonly server: Server;
  readonly port: number;
  readonly sockets: Socket[];
}

async function startEcho(): Promise<Echo> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => {});
    socket.pipe(socket);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, port: (server.address() as { port: number }).port, sockets };
}

/** A client of the proxy that collects what it receives and how it ended. */
async function client(port: number): Promise<{ socket: Socket; received: () => string; error: () => NodeJS.ErrnoException | undefined }> {
  const socket = connect({ host: "127.0.0.1", port });
  let data = "";
  let error: NodeJS.ErrnoException | undefined;
  socket.on("data", (c: Buffer) => (data += c.toString()));
  socket.on("error", (e) => (error = e));
  await once(socket, "connect");
  return { socket, received: () => data, error: () => error };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (condition()) return;
    await sleep(10);
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** Whether something accepts connections on the port now. */
async function accepts(port: number): Promise<boolean> {
  const socket = connect({ host: "127.0.0.1", port });
  return new Promise((resolve) => {
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

let echo: Echo;
let proxy: FaultProxy;
beforeEach(async () => {
  echo = await startEcho();
  proxy = await startFaultProxy({ host: "127.0.0.1", port: echo.port });
});
afterEach(async () => {
  await proxy.stop();
  for (const s of echo.sockets) s.destroy();
  await new Promise((resolve) => echo.server.close(resolve));
});

test("pass: bytes go through both ways, unchanged", async () => {
  const c = await client(proxy.port);
  c.socket.write("hello ");
  c.socket.write("world");
  await until(() => c.received() === "hello world", "the echo");
  assert.equal(echo.sockets.length, 1);
  c.socket.destroy();
});

test("blackhole: open connections stay open and deliver nothing; new ones are accepted, not forwarded; the heal delivers what was held", async () => {
  const old = await client(proxy.port);
  old.socket.write("a");
  await until(() => old.received() === "a", "the echo before the partition");
  proxy.setMode({ kind: "blackhole" });
  old.socket.write("b");
  const fresh = await client(proxy.port);
  fresh.socket.write("c");
  await sleep(300);
  assert.equal(old.received(), "a", "nothing crosses a partition");
  assert.equal(fresh.received(), "");
  assert.equal(echo.sockets.length, 1, "a connection made during the partition does not reach the server");
  assert.equal(old.socket.destroyed || fresh.socket.destroyed, false, "connections stay open");
  assert.equal(old.error() ?? fresh.error(), undefined);
  proxy.setMode(PASS);
  await until(() => old.received() === "ab" && fresh.received() === "c", "what the partition held, delivered after the heal");
  assert.equal(echo.sockets.length, 2);
  old.socket.destroy();
  fresh.socket.destroy();
});

test("latency: every chunk arrives at least the delay later each way, in order", async () => {
  const c = await client(proxy.port);
  proxy.setMode({ kind: "latency", ms: 100 });
  const sent = performance.now();
  c.socket.write("ping");
  await until(() => c.received() === "ping", "the echo");
  // Out and back through the proxy: two delays of 100 ms at least.
  assert.ok(performance.now() - sent >= 195, "the delay applies each way");
  const expected: string[] = [];
  for (let i = 0; i < 40; i++) {
    expected.push(`${i},`);
    c.socket.write(`${i},`);
    // A shorter delay from the middle on never lets a chunk overtake one queued before it.
    if (i === 19) {
      await sleep(20);
      proxy.setMode({ kind: "latency", ms: 5 });
    }
  }
  await until(() => c.received() === `ping${expected.join("")}`, "every chunk, in order");
  c.socket.destroy();
});

test("reset: open connections are reset both ways, new ones too while it lasts; pass lets them through again", async () => {
  const c = await client(proxy.port);
  c.socket.write("x");
  await until(() => c.received() === "x", "the echo");
  const serverSide = echo.sockets[0]!;
  let serverError: NodeJS.ErrnoException | undefined;
  serverSide.on("error", (e) => (serverError = e));
  proxy.setMode({ kind: "reset" });
  await until(() => c.error() !== undefined && serverError !== undefined, "both sides reset");
  assert.equal(c.error()!.code, "ECONNRESET");
  assert.equal(serverError!.code, "ECONNRESET");
  const during = connect({ host: "127.0.0.1", port: proxy.port });
  const [e] = (await once(during, "error")) as [NodeJS.ErrnoException];
  assert.equal(e.code, "ECONNRESET");
  assert.equal(proxy.stats().reset, 2);
  proxy.setMode(PASS);
  const after = await client(proxy.port);
  after.socket.write("y");
  await until(() => after.received() === "y", "the echo after the reset");
  after.socket.destroy();
});

test("an orderly end travels through: what was queued is delivered before the end", async () => {
  const c = await client(proxy.port);
  proxy.setMode({ kind: "latency", ms: 50 });
  c.socket.end("last words");
  await once(c.socket, "close");
  assert.equal(c.received(), "last words");
  await until(() => proxy.stats().open === 0, "the pair forgotten");
});

test("stop: every connection ends and the port is released", async () => {
  const c = await client(proxy.port);
  c.socket.write("z");
  await until(() => c.received() === "z", "the echo");
  const port = proxy.port;
  await proxy.stop();
  await until(() => c.socket.destroyed, "the client's connection closed");
  await until(() => echo.sockets.every((s) => s.destroyed || s.readableEnded), "the server's side closed");
  assert.equal(await accepts(port), false, "nothing listens on the proxy's port after stop");
  assert.equal(proxy.stats().open, 0);
});

test("a service URL reached through the proxy keeps its scheme, credentials and path", async () => {
  assert.deepEqual(upstreamOf("postgres://postgres@127.0.0.1:5432/test", 5432), { host: "127.0.0.1", port: 5432 });
  assert.deepEqual(upstreamOf("redis://[::1]", 6379), { host: "::1", port: 6379 });
  assert.equal(throughProxy("postgres://postgres:pw@127.0.0.1:5432/test?x=1", proxy), `postgres://postgres:pw@127.0.0.1:${proxy.port}/test?x=1`);
  assert.equal(throughProxy("http://localhost:2379", proxy), `http://127.0.0.1:${proxy.port}`);
});
