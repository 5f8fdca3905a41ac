/**
 * The server process of `regbench run --mode http`: forked by the load generator's process, so that the two never
 * share a core's event loop. It receives a ServeSpec, answers with the URL, and on "stop" with its stats.
 */
import { serve, type ServeSpec } from "./serve.js";

process.once("message", async (spec: ServeSpec) => {
  try {
    const server = await serve(spec);
    process.send!({ type: "listening", url: server.url });
    process.on("message", async (m: { type: string }) => {
      if (m.type !== "stop") return;
      const stats = await server.stop();
      process.send!({ type: "stats", stats }, undefined, undefined, () => process.exit(0));
    });
  } catch (error) {
    process.send!({ type: "failed", message: (error as Error).message }, undefined, undefined, () => process.exit(1));
  }
});
