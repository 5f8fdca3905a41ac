import { connect } from "node:net";

/**
 * Whether something accepts TCP connections at a target's host and port, within `timeoutMs`: undefined when it
 * does, else the reason (ECONNREFUSED, a timeout…). A target that cannot be reached fails the run before it starts.
 */
export function probeTarget(target: string, timeoutMs = 3000): Promise<string | undefined> {
  const url = new URL(target);
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (reason: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reason);
    };
    const timer = setTimeout(() => done(`no connection within ${timeoutMs} ms`), timeoutMs);
    socket.once("connect", () => done(undefined));
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}
