import assert from "node:assert/strict";
import net from "node:net";
import { after, test } from "node:test";
import { rawHttpRegistration } from "../../src/driver/rawHttp.js";
import { request } from "../helpers.js";

const OK = JSON.stringify({ machineId: "t-m1", ipv4: "10.0.0.2", config: "c" });

/** A server that answers each request (whole, by Content-Length) with what `answer` writes, in as many writes as it likes. */
function server(answer: (socket: net.Socket, body: string, n: number) => void): Promise<{ url: string; requests: () => number }> {
  let n = 0;
  const srv = net.createServer((socket) => {
    let buf = "";
    socket.on("data", (d) => {
      buf += d.toString("latin1");
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(buf.slice(0, end))![1]);
        if (buf.length < end + 4 + length) return;
        const body = buf.slice(end + 4, end + 4 + length);
        buf = buf.slice(end + 4 + length);
        answer(socket, Buffer.from(body, "latin1").toString("utf8"), ++n);
      }
    });
    socket.on("error", () => {});
  });
  after(() => srv.close());
  return new Promise((resolve) =>
    srv.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`, requests: () => n })),
  );
}

const settings = { connections: 4, timeoutMs: 1000, requireConfig: false };

test("a response split across reads, chunked bodies and Connection: close are all read whole", async () => {
  const { url } = await server((socket, _body, n) => {
    if (n % 3 === 1) {
      // Content-Length, written a byte at a time.
      const text = `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${OK.length}\r\n\r\n${OK}`;
      let i = 0;
      const drip = () => {
        if (i < text.length) socket.write(text[i++]!, () => setImmediate(drip));
      };
      drip();
    } else if (n % 3 === 2) {
      const half = OK.length >> 1;
      socket.write(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${half.toString(16)}\r\n${OK.slice(0, half)}\r\n`);
      setTimeout(() => socket.write(`${(OK.length - half).toString(16)}\r\n${OK.slice(half)}\r\n0\r\n\r\n`), 5);
    } else {
      socket.end(`HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n${OK}`);
    }
  });
  const client = rawHttpRegistration(url, settings);
  try {
    for (let i = 0; i < 9; i++) assert.deepEqual(await client.register(request(1)), { machineId: "t-m1", ipv4: "10.0.0.2", config: "c" });
  } finally {
    await client.destroy();
  }
});

test("non-ASCII fields are sent as UTF-8 with their byte length", async () => {
  let seen = "";
  const { url } = await server((socket, body) => {
    seen = body;
    socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${OK.length}\r\n\r\n${OK}`);
  });
  const client = rawHttpRegistration(url, settings);
  try {
    await client.register(request(1, { hostname: "höst-名前" }));
    assert.equal(JSON.parse(seen).hostname, "höst-名前");
  } finally {
    await client.destroy();
  }
});

test("failures are counted by kind: an error status with its kind, a malformed answer, a timeout, a refused connection", async () => {
  const { url } = await server((socket, _body, n) => {
    if (n === 1) socket.write(`HTTP/1.1 409 Conflict\r\nContent-Length: 28\r\n\r\n{"error":"machine-conflict"}`);
    else if (n === 2) socket.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnull");
    else if (n === 3) socket.write("garbage\r\n\r\n");
    // n === 4: never answers.
  });
  const client = rawHttpRegistration(url, { ...settings, connections: 1, timeoutMs: 300 });
  const kind = (p: Promise<unknown>) =>
    p.then(
      () => "ok",
      (e: { kind: string }) => e.kind,
    );
  try {
    assert.equal(await kind(client.register(request(1))), "machine-conflict");
    assert.equal(await kind(client.register(request(2))), "malformed-response");
    assert.equal(await kind(client.register(request(3))), "malformed-response");
    assert.equal(await kind(client.register(request(4))), "timeout");
  } finally {
    await client.destroy();
  }
  const refused = rawHttpRegistration("http://127.0.0.1:1", settings);
  assert.equal(await kind(refused.register(request(1))), "connection-error");
  await refused.destroy();
});

test("more requests than connections wait for one, and all are answered", async () => {
  const { url, requests } = await server((socket) => setTimeout(() => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${OK.length}\r\n\r\n${OK}`), 2));
  const client = rawHttpRegistration(url, { ...settings, connections: 3 });
  try {
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => client.register(request(i))));
    assert.equal(answers.length, 30);
    assert.equal(requests(), 30);
  } finally {
    await client.destroy();
  }
});

test("the requests of one event-loop turn are written at its end, each marked at its write; one waiting for the connect or for a connection is not marked", async () => {
  const { url, requests } = await server((socket) => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${OK.length}\r\n\r\n${OK}`));
  const client = rawHttpRegistration(url, { ...settings, connections: 2 });
  try {
    // The first request opens a connection and is written once it is made: its latency includes the connect.
    const first = { at: NaN };
    await client.register(request(0), first);
    assert.ok(Number.isNaN(first.at), "written at the connect: not marked");
    const marks = [{ at: NaN }, { at: NaN }, { at: NaN }];
    const calledAt = performance.now();
    const answers = marks.map((mark, i) => client.register(request(i + 1), mark));
    const returnedAt = performance.now();
    await Promise.all(answers);
    // The idle connection's request was written after the calls returned (at the turn's end) and marked then; the
    // second connection's was written at its connect, the third request waited for a connection: neither marked.
    assert.ok(marks[0]!.at >= returnedAt && marks[0]!.at >= calledAt, `marked at ${marks[0]!.at}, the calls returned at ${returnedAt}`);
    assert.ok(Number.isNaN(marks[1]!.at), "written at the connect: not marked");
    assert.ok(Number.isNaN(marks[2]!.at), "waited for a connection: not marked");
    assert.equal(requests(), 4);
  } finally {
    await client.destroy();
  }
});

test("close() waits for the answers in flight, then closes every connection", async () => {
  const { url } = await server((socket) => setTimeout(() => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${OK.length}\r\n\r\n${OK}`), 20));
  const client = rawHttpRegistration(url, { ...settings, connections: 2 });
  await client.register(request(0));
  const inFlight = [client.register(request(1)), client.register(request(2))];
  await client.close();
  assert.deepEqual(
    (await Promise.all(inFlight)).map((r) => r.ipv4),
    ["10.0.0.2", "10.0.0.2"],
  );
  await assert.rejects(client.register(request(3)), /the client was closed/);
});

test("interim answers are skipped, 204 ends at its head, and Connection: close in any spelling closes (RFC 9112 §6.3, RFC 9110 §7.6.1)", async () => {
  const closes = ["cLoSe", "keep-alive, close", "Upgrade, CLOSE"];
  const { url, requests } = await server((socket, _body, n) => {
    if ((socket as net.Socket & { closing?: boolean }).closing) return; // a closing server reads no more requests
    const k = n % 5;
    if (k === 1)
      socket.write(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: ${OK.length}\r\n\r\n${OK}`);
    else if (k === 2) socket.write("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n");
    else if (k === 3) {
      // Says close, then closes a little later, as a server lingering on its socket does.
      (socket as net.Socket & { closing?: boolean }).closing = true;
      socket.write(`HTTP/1.1 200 OK\r\nConnection: ${closes[n % closes.length]}\r\nContent-Length: ${OK.length}\r\n\r\n${OK}`);
      setTimeout(() => socket.destroy(), 30);
    } else socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${OK.length}\r\n\r\n${OK}`);
  });
  const client = rawHttpRegistration(url, { ...settings, connections: 1, timeoutMs: 2000 });
  const outcomes: string[] = [];
  try {
    for (let i = 0; i < 20; i++) {
      outcomes.push(
        await client.register(request(i)).then(
          () => "ok",
          (e: { kind: string }) => e.kind,
        ),
      );
    }
  } finally {
    await client.destroy();
  }
  // Nothing waited for a body that never comes: such a wait ends as "timeout", not "http-204" or "ok".
  assert.equal(requests(), 20, "every request reached the server");
  assert.deepEqual(
    outcomes,
    Array.from({ length: 20 }, (_, i) => ((i + 1) % 5 === 2 ? "http-204" : "ok")),
  );
});
