import assert from "node:assert/strict";
import { test } from "node:test";
import { ResponseParser, type ParseStep } from "../../src/driver/http1.js";

const BODY = '{"machineId":"m","ipv4":"10.0.0.2"}';

/** What a case must parse to: an answer (status, body, close), or an error of a kind. */
type Expected = { status: number; body: string; close: boolean } | { kind: string };

interface Case {
  readonly name: string;
  readonly wire: string;
  /** Whether the server closes the connection after the bytes (close-delimited bodies need it). */
  readonly ends?: boolean;
  readonly method?: string;
  readonly expect: Expected;
}

const h = (lines: string[], body = "") => `${lines.join("\r\n")}\r\n\r\n${body}`;
const ok = (close = false, body = BODY) => ({ status: 200, body, close });

/** Every rule of RFC 9112 §6.3 and RFC 9110 §7.6.1 the client follows, one row each. */
const CASES: Case[] = [
  // Content-Length.
  { name: "Content-Length", wire: h(["HTTP/1.1 200 OK", `Content-Length: ${BODY.length}`], BODY), expect: ok() },
  { name: "content-length in any case, with whitespace", wire: h(["HTTP/1.1 200 OK", `cOnTeNt-LeNgTh:   ${BODY.length}  `], BODY), expect: ok() },
  {
    name: "the same Content-Length twice",
    wire: h(["HTTP/1.1 200 OK", `Content-Length: ${BODY.length}`, `Content-Length: ${BODY.length}`], BODY),
    expect: ok(),
  },
  { name: "a Content-Length list of one value", wire: h(["HTTP/1.1 200 OK", `Content-Length: ${BODY.length}, ${BODY.length}`], BODY), expect: ok() },
  { name: "Content-Length 0", wire: h(["HTTP/1.1 200 OK", "Content-Length: 0"]), expect: ok(false, "") },
  {
    name: "two different Content-Lengths",
    wire: h(["HTTP/1.1 200 OK", `Content-Length: ${BODY.length}`, "Content-Length: 3"], BODY),
    expect: { kind: "malformed-response" },
  },
  {
    name: "a Content-Length list of different values",
    wire: h(["HTTP/1.1 200 OK", `Content-Length: ${BODY.length}, 3`], BODY),
    expect: { kind: "malformed-response" },
  },
  { name: "a negative Content-Length", wire: h(["HTTP/1.1 200 OK", "Content-Length: -1"], BODY), expect: { kind: "malformed-response" } },
  { name: "a non-numeric Content-Length", wire: h(["HTTP/1.1 200 OK", "Content-Length: 1e3"], BODY), expect: { kind: "malformed-response" } },
  { name: "a hex Content-Length", wire: h(["HTTP/1.1 200 OK", "Content-Length: 0x10"], BODY), expect: { kind: "malformed-response" } },
  { name: "an empty Content-Length", wire: h(["HTTP/1.1 200 OK", "Content-Length:"], BODY), expect: { kind: "malformed-response" } },
  { name: "a Content-Length past 16 MiB", wire: h(["HTTP/1.1 200 OK", "Content-Length: 99999999999"], BODY), expect: { kind: "malformed-response" } },
  // Transfer-Encoding.
  {
    name: "chunked",
    wire: h(
      ["HTTP/1.1 200 OK", "Transfer-Encoding: chunked"],
      `5\r\n${BODY.slice(0, 5)}\r\n${(BODY.length - 5).toString(16)}\r\n${BODY.slice(5)}\r\n0\r\n\r\n`,
    ),
    expect: ok(),
  },
  {
    name: "chunked in any case, upper-case hex, extensions and trailers",
    wire: h(["HTTP/1.1 200 OK", "transfer-encoding: CHUNKED"], `${BODY.length.toString(16).toUpperCase()};ext=1\r\n${BODY}\r\n0\r\nX-Trailer: t\r\n\r\n`),
    expect: ok(),
  },
  {
    name: "a coding list with chunked last, over two fields",
    wire: h(["HTTP/1.1 200 OK", "Transfer-Encoding: identity", "Transfer-Encoding: x-custom , Chunked"], `${BODY.length.toString(16)}\r\n${BODY}\r\n0\r\n\r\n`),
    expect: ok(),
  },
  { name: "chunked not last: read to the close", wire: h(["HTTP/1.1 200 OK", "Transfer-Encoding: chunked, x-custom"], BODY), ends: true, expect: ok(true) },
  {
    name: "Transfer-Encoding overrides Content-Length, and the connection closes after",
    wire: h(["HTTP/1.1 200 OK", "Content-Length: 3", "Transfer-Encoding: chunked"], `${BODY.length.toString(16)}\r\n${BODY}\r\n0\r\n\r\n`),
    expect: ok(true),
  },
  {
    name: "an HTTP/1.0 answer with Transfer-Encoding is faulty",
    wire: h(["HTTP/1.0 200 OK", "Transfer-Encoding: chunked"], `0\r\n\r\n`),
    expect: { kind: "malformed-response" },
  },
  {
    name: "a malformed chunk size",
    wire: h(["HTTP/1.1 200 OK", "Transfer-Encoding: chunked"], `zz\r\n${BODY}\r\n0\r\n\r\n`),
    expect: { kind: "malformed-response" },
  },
  {
    name: "a chunk longer than its size",
    wire: h(["HTTP/1.1 200 OK", "Transfer-Encoding: chunked"], `2\r\n${BODY}\r\n0\r\n\r\n`),
    expect: { kind: "malformed-response" },
  },
  // Close-delimited.
  { name: "no length: the body runs to the close", wire: h(["HTTP/1.1 200 OK", "Content-Type: application/json"], BODY), ends: true, expect: ok(true) },
  { name: "HTTP/1.0 with no length", wire: h(["HTTP/1.0 200 OK"], BODY), ends: true, expect: ok(true) },
  // Answers without a body.
  {
    name: "204 ends at the head, whatever it says",
    wire: h(["HTTP/1.1 204 No Content", "Content-Length: 10"]),
    expect: { status: 204, body: "", close: false },
  },
  { name: "304 ends at the head", wire: h(["HTTP/1.1 304 Not Modified", "Transfer-Encoding: chunked"]), expect: { status: 304, body: "", close: false } },
  {
    name: "an answer to HEAD ends at the head",
    wire: h(["HTTP/1.1 200 OK", `Content-Length: ${BODY.length}`]),
    method: "HEAD",
    expect: { status: 200, body: "", close: false },
  },
  // Interim answers.
  { name: "100 Continue, then the answer", wire: h(["HTTP/1.1 100 Continue"]) + h(["HTTP/1.1 200 OK", `Content-Length: ${BODY.length}`], BODY), expect: ok() },
  {
    name: "103 Early Hints with headers, 102, then the answer",
    wire:
      h(["HTTP/1.1 103 Early Hints", "Link: </a.css>; rel=preload", "Connection: close"]) +
      h(["HTTP/1.1 102 Processing"]) +
      h(["HTTP/1.1 201 Created", "Content-Length: 2"], "{}"),
    expect: { status: 201, body: "{}", close: false },
  },
  {
    name: "101 Switching Protocols is an error",
    wire: h(["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: upgrade"]),
    expect: { kind: "protocol-switch" },
  },
  // Connection.
  { name: "Connection: close", wire: h(["HTTP/1.1 200 OK", "Connection: close", `Content-Length: ${BODY.length}`], BODY), expect: ok(true) },
  { name: "Connection: cLoSe", wire: h(["HTTP/1.1 200 OK", "Connection: cLoSe", `Content-Length: ${BODY.length}`], BODY), expect: ok(true) },
  {
    name: "close after keep-alive in a list",
    wire: h(["HTTP/1.1 200 OK", "Connection: keep-alive, close", `Content-Length: ${BODY.length}`], BODY),
    expect: ok(true),
  },
  {
    name: "close in a second Connection field",
    wire: h(["HTTP/1.1 200 OK", "connection: Upgrade", "CONNECTION:  , CLOSE ", `Content-Length: ${BODY.length}`], BODY),
    expect: ok(true),
  },
  {
    name: "a token that only contains close does not close",
    wire: h(["HTTP/1.1 200 OK", "Connection: x-close, closed", `Content-Length: ${BODY.length}`], BODY),
    expect: ok(false),
  },
  {
    name: "a header value mentioning close does not close",
    wire: h(["HTTP/1.1 200 OK", "X-Note: Connection: close", `Content-Length: ${BODY.length}`], BODY),
    expect: ok(false),
  },
  { name: "HTTP/1.0 closes by default", wire: h(["HTTP/1.0 200 OK", `Content-Length: ${BODY.length}`], BODY), expect: ok(true) },
  {
    name: "HTTP/1.0 with keep-alive stays open",
    wire: h(["HTTP/1.0 200 OK", "Connection: Keep-Alive", `Content-Length: ${BODY.length}`], BODY),
    expect: ok(false),
  },
  // Status lines and heads.
  { name: "an error status with its body", wire: h(["HTTP/1.1 409 Conflict", "Content-Length: 2"], "{}"), expect: { status: 409, body: "{}", close: false } },
  { name: "an empty reason phrase", wire: h(["HTTP/1.1 200 ", "Content-Length: 2"], "{}"), expect: { status: 200, body: "{}", close: false } },
  { name: "not HTTP at all (a Redis error)", wire: "-ERR unknown command 'POST'\r\n\r\n", expect: { kind: "malformed-response" } },
  { name: "a four-digit status", wire: h(["HTTP/1.1 2000 OK", "Content-Length: 2"], "{}"), expect: { kind: "malformed-response" } },
  { name: "a header line without a colon", wire: h(["HTTP/1.1 200 OK", "Content-Length 2"], "{}"), expect: { kind: "malformed-response" } },
];

/** Feeds `wire` in the pieces given, then the connection's end if `ends`; the first answer or error. */
function parse(c: Case, pieces: readonly Buffer[]): Expected {
  const parser = new ResponseParser();
  parser.reset(c.method ?? "POST");
  let step: ParseStep;
  for (const piece of pieces) {
    step = parser.push(piece);
    if (step) break;
  }
  if (!step && c.ends) step = parser.end();
  if (!step) return { kind: "incomplete" };
  if ("error" in step) return { kind: step.kind };
  assert.equal(step.extra, 0, `${c.name}: no bytes past the answer`);
  return { status: step.done.status, body: step.done.body.toString("latin1"), close: step.done.close };
}

for (const c of CASES) {
  test(`framing: ${c.name}`, () => {
    assert.deepEqual(parse(c, [Buffer.from(c.wire, "latin1")]), c.expect);
  });
}

test("every valid answer split at every byte offset (and byte by byte) parses the same as whole", () => {
  for (const c of CASES.filter((c) => !("kind" in c.expect))) {
    const wire = Buffer.from(c.wire, "latin1");
    for (let at = 1; at < wire.length; at++) {
      assert.deepEqual(parse(c, [Buffer.from(wire.subarray(0, at)), Buffer.from(wire.subarray(at))]), c.expect, `${c.name}, split at ${at}`);
    }
    const bytes = [...wire].map((b) => Buffer.from([b]));
    assert.deepEqual(parse(c, bytes), c.expect, `${c.name}, byte by byte`);
  }
});

test("an answer cut short by the connection's end is a connection error, never a success", () => {
  for (const c of CASES.filter((c) => !("kind" in c.expect) && !c.ends)) {
    const wire = Buffer.from(c.wire, "latin1");
    for (let at = 0; at < wire.length; at++) {
      const parser = new ResponseParser();
      parser.reset(c.method ?? "POST");
      const first = at > 0 ? parser.push(Buffer.from(wire.subarray(0, at))) : undefined;
      if (first) continue; // complete before the cut (an answer without a body, say)
      const step = parser.end();
      assert.ok(step && "error" in step && step.kind === "connection-error", `${c.name}, cut at ${at}: ${JSON.stringify(step)}`);
    }
  }
});

test("bytes after a complete answer are reported, not swallowed", () => {
  const parser = new ResponseParser();
  parser.reset();
  const step = parser.push(Buffer.from(h(["HTTP/1.1 200 OK", "Content-Length: 2"], "{}garbage")));
  assert.ok(step && "done" in step);
  assert.equal(step.extra, 7);
});

test("bytes that cannot begin a status line fail as they arrive, before any line end (a target speaking another protocol)", () => {
  for (const greeting of ["-ERR unknown command", "N", "\x00\x00\x00\x08", "HTTP/2", "http/1.1 200"]) {
    const parser = new ResponseParser();
    parser.reset();
    const step = parser.push(Buffer.from(greeting, "latin1"));
    assert.deepEqual(step && "error" in step ? step.kind : step, "malformed-response", JSON.stringify(greeting));
  }
  // A prefix of a status line is only incomplete.
  for (const prefix of ["H", "HTTP/", "HTTP/1.1 2"]) {
    const parser = new ResponseParser();
    parser.reset();
    assert.equal(parser.push(Buffer.from(prefix)), undefined, prefix);
  }
});

test("a head of more than 64 KiB is malformed, not held for ever", () => {
  const parser = new ResponseParser();
  parser.reset();
  const step = parser.push(Buffer.from(`HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(70 * 1024)}`));
  assert.deepEqual(step && "error" in step ? step.kind : step, "malformed-response");
});
