/** The verifier thread of an AckLog: opens each sealed config of a chunk and checks its address. */
import { parentPort, workerData } from "node:worker_threads";
import { configAgrees } from "./configCheck.js";

const key = Buffer.from((workerData as { key: string }).key, "hex");
parentPort!.on("message", (m: { id: number; configs: string[]; ips: string[] }) => {
  const agrees = new Uint8Array(m.configs.length);
  for (let k = 0; k < m.configs.length; k++) agrees[k] = configAgrees(m.configs[k]!, m.ips[k]!, key) ? 1 : 0;
  parentPort!.postMessage({ id: m.id, agrees }, [agrees.buffer]);
});
