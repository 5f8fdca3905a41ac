/** What a device sends to register. Every field is a string; see `validate.ts` for limits. */
export interface RegisterRequest {
  readonly projectId: string;
  readonly key: string;
  readonly systemUuid: string;
  readonly systemName: string;
  readonly machineId: string;
  readonly peerId: string;
  readonly hostname: string;
  readonly arch: string;
  readonly distro: string;
  readonly kernelVersion: string;
}

/** What a device gets back: its IP in clear and its VPN config sealed under the server key. */
export interface RegisterResponse {
  readonly machineId: string;
  readonly ipv4: string;
  /** base64(nonce ‖ tag ‖ AES-256-GCM ciphertext) of the YAML config. */
  readonly config: string;
  /**
   * Set by a client that checked a config in clear itself (a request profile's `config.check: plain`): whether it
   * carried the answer's address. Undefined: the config is sealed (checked by the audit) or not checked.
   */
  readonly configAgrees?: boolean;
}

/** A project as stored: its address pool and the digest of its key (the key itself is never stored). */
export interface Project {
  readonly id: string;
  readonly name: string;
  readonly cidr: string;
  /** sha256 of the project key, compared in constant time. */
  readonly keyDigest: Buffer;
  readonly relayNodes: readonly string[];
}

/** A machine row as the registration path needs it. */
export interface MachineRecord {
  readonly machineId: string;
  readonly projectId: string;
  readonly systemUuid: string;
  readonly ipv4: string;
  readonly config: string;
}
