import { connect } from "node:net";

/**
 * Telling why a service at a URL did not answer, for every client regbench uses (Redis, etcd, PostgreSQL, MySQL):
 * nothing listens there (start one), something listens that speaks another protocol (the URL is wrong), or the
 * service answered and refused (its own message, with a hint that fits it). Each client classifies its own errors;
 * this module holds what they share.
 */

/** Connection-level failures: nothing listens at the address, or it cannot be reached at all. */
const UNREACHABLE = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "EADDRNOTAVAIL"]);

export function unreachableCode(code: string | undefined): boolean {
  return code !== undefined && UNREACHABLE.has(code);
}

/** The host (brackets of an IPv6 literal removed) and port a URL names; undefined when it is not a URL. */
function hostPort(url: string, defaultPort: number): { host: string; port: number } | undefined {
  try {
    const u = new URL(url);
    return { host: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port || defaultPort) };
  } catch {
    return undefined;
  }
}

/**
 * Whether something accepts TCP connections at the URL's host and port within `timeoutMs`: when a client's
 * handshake failed, this tells "nothing is there" from "something else is there".
 */
export function listens(url: string, defaultPort: number, timeoutMs = 1000): Promise<boolean> {
  const at = hostPort(url, defaultPort);
  if (!at) return Promise.resolve(false);
  const { host, port } = at;
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (answer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** The message for a URL at which another protocol's service answers. */
export function notSpeaking(url: string, protocol: string): string {
  return `the service at ${url} does not speak ${protocol}: check the URL's host and port (they may be another service's)`;
}

/**
 * What a service at the URL says first: connects, writes `hello` (if any), and resolves the first bytes it answers
 * within `timeoutMs`; undefined when nothing listens, an empty buffer when it accepts but says nothing (or closes).
 * Used to recognise a protocol by its greeting (MySQL speaks first; PostgreSQL answers an SSLRequest with S or N).
 */
export function firstBytes(url: string, defaultPort: number, hello?: Buffer, timeoutMs = 1000): Promise<Buffer | undefined> {
  const at = hostPort(url, defaultPort);
  if (!at) return Promise.resolve(undefined);
  const { host, port } = at;
  return new Promise((resolve) => {
    let connected = false;
    const socket = connect({ host, port });
    const done = (answer: Buffer | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(connected ? Buffer.alloc(0) : undefined), timeoutMs);
    socket.once("connect", () => {
      connected = true;
      if (hello) socket.write(hello);
    });
    socket.once("data", (chunk: Buffer) => done(chunk));
    socket.once("end", () => done(Buffer.alloc(0)));
    socket.once("error", () => done(connected ? Buffer.alloc(0) : undefined));
  });
}
