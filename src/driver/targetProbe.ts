import { connect } from "node:net";

/**
 * What the probe found: `problem` undefined when the target can be load-tested (it speaks HTTP, or stays silent),
 * else the reason, which starts with "does not answer HTTP" when something else listens there (a Redis or
 * PostgreSQL port, say). `silent`: it accepted the connection and sent nothing back within the answer time.
 */
export interface TargetCheck {
  readonly problem: string | undefined;
  readonly silent: boolean;
}

/**
 * Whether a target can be load-tested, before the run starts: something accepts TCP connections at its host and
 * port within `timeoutMs`, and, over plain http, what answers speaks HTTP. Undefined when it does (or stays silent:
 * a target that never answers is measured, each request counted as a timeout), else the reason (see TargetCheck).
 */
export async function probeTarget(target: string, timeoutMs = 3000, answerMs = Math.min(500, timeoutMs)): Promise<string | undefined> {
  return (await checkTarget(target, timeoutMs, answerMs)).problem;
}

/** The probe of probeTarget, and whether the target stayed silent. */
export function checkTarget(target: string, timeoutMs = 3000, answerMs = Math.min(500, timeoutMs)): Promise<TargetCheck> {
  const url = new URL(target);
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const plain = url.protocol === "http:";
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let answer = Buffer.alloc(0);
    let connected = false;
    const done = (problem: string | undefined, silent = false) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ problem, silent });
    };
    const notHttp = (what: string) => done(`does not answer HTTP: ${what}`);
    // Connected and silent for answerMs: not decided here (the run counts each request's timeout).
    let timer = setTimeout(() => done(`no connection within ${timeoutMs} ms`), timeoutMs);
    socket.once("connect", () => {
      connected = true;
      if (!plain) return done(undefined);
      clearTimeout(timer);
      timer = setTimeout(() => done(undefined, true), answerMs);
      // A harmless request any HTTP server answers, if only with a 404; a server that speaks first (MySQL) answers anyway.
      socket.write(`GET ${url.pathname.replace(/\/+$/, "")}/healthz HTTP/1.1\r\nHost: ${url.host}\r\nAccept: */*\r\nConnection: close\r\n\r\n`, "latin1");
    });
    socket.on("data", (chunk: Buffer) => {
      answer = Buffer.concat([answer, chunk]);
      if (answer.length < 5) return;
      if (answer.subarray(0, 5).toString("latin1") === "HTTP/") done(undefined);
      else notHttp(`it answered ${JSON.stringify(answer.toString("latin1", 0, 40).replace(/[^\x20-\x7e]/g, "."))}`);
    });
    socket.once("end", () => {
      if (answer.length > 0) notHttp(`it answered ${JSON.stringify(answer.toString("latin1", 0, 40).replace(/[^\x20-\x7e]/g, "."))} and closed the connection`);
      else notHttp("it closed the connection without an answer");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      if (connected) notHttp(`the connection failed (${error.code ?? error.message}) without an answer`);
      else done(error.code ?? error.message);
    });
  });
}
