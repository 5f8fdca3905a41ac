#!/usr/bin/env node
// The HTTP client's answer parser alone against http-parser-js (the maintained pure-JS HTTP/1 parser on npm): nginx's
// 200 answer to a registration parsed in a loop, answer after answer as on a keep-alive connection, alternating the two
// for 5 rounds; the median of each, in answers per second. Needs the build (npm run build) and http-parser-js, which
// regbench does not depend on:
//   npm install --no-save http-parser-js@0.5.10 && node scripts/parser-compare.js
// or point HTTP_PARSER_JS at a copy installed elsewhere (its http-parser.js).
import { createRequire } from "node:module";
import { ResponseParser } from "../dist/src/driver/http1.js";

const require = createRequire(import.meta.url);
let HTTPParser;
try {
  ({ HTTPParser } = require(process.env.HTTP_PARSER_JS ?? "http-parser-js"));
} catch {
  console.error("needs http-parser-js: npm install --no-save http-parser-js@0.5.10 (or HTTP_PARSER_JS=/path/to/http-parser.js)");
  process.exit(3);
}

const body = '{"machineId":"m","ipv4":"10.0.0.2","config":"x"}';
const answer = Buffer.from(
  "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Wed, 02 Dec 2026 04:00:00 GMT\r\nContent-Type: application/json\r\n" +
    `Content-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n${body}`,
);
const N = Number(process.argv[2] ?? 300_000);

function handWritten() {
  const parser = new ResponseParser();
  let bytes = 0;
  const t = performance.now();
  for (let i = 0; i < N; i++) {
    parser.reset("POST");
    const step = parser.push(answer);
    bytes += step.done.body.length;
  }
  if (bytes !== N * body.length) throw new Error("hand-written: wrong bodies");
  return (N * 1000) / (performance.now() - t);
}

function httpParserJs() {
  const parser = new HTTPParser(HTTPParser.RESPONSE);
  let bytes = 0;
  let done = 0;
  parser[HTTPParser.kOnHeadersComplete] = () => {};
  parser[HTTPParser.kOnBody] = (chunk, offset, length) => {
    bytes += length;
  };
  parser[HTTPParser.kOnMessageComplete] = () => {
    done++;
  };
  const t = performance.now();
  for (let i = 0; i < N; i++) parser.execute(answer);
  if (done !== N || bytes !== N * body.length) throw new Error("http-parser-js: wrong bodies");
  return (N * 1000) / (performance.now() - t);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ours = [];
const theirs = [];
for (let round = 0; round < 5; round++) {
  ours.push(handWritten());
  theirs.push(httpParserJs());
}
const a = median(ours);
const b = median(theirs);
console.log(
  `parser alone, ${N} answers × 5 alternating rounds (median): hand-written ${Math.round(a)} answers/s; http-parser-js ${Math.round(b)}/s; ${(a / b).toFixed(2)}×`,
);
