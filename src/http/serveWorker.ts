/** A cluster worker of `serve`: one instance on the shared port, stopped by its primary. */
import { startInstance, type ServeSpec } from "./serve.js";

const spec = JSON.parse(process.env.REGBENCH_SERVE_SPEC ?? "{}") as ServeSpec;
try {
  const instance = await startInstance(spec, spec.port);
  process.send!({ type: "listening", port: instance.port });
  process.on("message", async (m: { type: string }) => {
    if (m.type !== "stop") return;
    const stats = await instance.stop();
    process.send!({ type: "stats", stats }, undefined, undefined, () => process.exit(0));
  });
} catch (error) {
  process.send!({ type: "failed", message: (error as Error).message }, undefined, undefined, () => process.exit(1));
}
