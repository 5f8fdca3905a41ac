import type { MachineRecord, Project } from "../core/types.js";

/** A project row as every SQL store returns it (the documented schema's column names). */
export interface ProjectColumns {
  readonly id: string;
  readonly name: string;
  readonly cidr: string;
  readonly key_sha256: Buffer;
  readonly relay_nodes: string;
}

/** A machine row as every SQL store returns it. */
export interface MachineColumns {
  readonly machine_id: string;
  readonly project_id: string;
  readonly system_uuid: string;
  readonly ipv4: string;
  readonly config: string;
}

export function toProject(row: ProjectColumns): Project {
  return { id: row.id, name: row.name, cidr: row.cidr, keyDigest: row.key_sha256, relayNodes: JSON.parse(row.relay_nodes) as string[] };
}

export function toRecord(row: MachineColumns): MachineRecord {
  return { machineId: row.machine_id, projectId: row.project_id, systemUuid: row.system_uuid, ipv4: row.ipv4, config: row.config };
}
