import { open } from "../core/crypto.js";
import { interfaceIpv4 } from "./configAddress.js";

/** A sealed config opens under `key` and its `interfaceAddr` is `ipv4`. */
export function configAgrees(sealed: string, ipv4: string, key: Buffer): boolean {
  const yaml = open(sealed, key);
  return yaml !== undefined && interfaceIpv4(yaml) === ipv4;
}
