// The registry's commands as they travel in the Raft log (msgpack), one shape per type. The node
// that takes a request validates it fully before proposing; apply re-checks everything that
// depends on state (a rejection there is deterministic and changes nothing).

import type { HealthChecker, InstanceFields, Selector } from './model.ts';

/** The fields of an instance a client sets (everything but `rev`). */
export type InstanceInput = InstanceFields;

/** Names one service: namespace and `group@@service`. */
export interface ServiceRef {
  ns: string;
  service: string;
}

/** Names one instance of a service. */
export interface InstanceRef extends ServiceRef {
  ip: string;
  port: number;
  cluster: string;
}

export interface RegisterCommand extends ServiceRef {
  type: 'register';
  instance: InstanceInput;
}

export interface DeregisterCommand extends InstanceRef {
  type: 'deregister';
  /** Set when the instance must be of this kind (Nacos looks it up among ephemeral or persistent). */
  ephemeral?: boolean;
}

/** PUT: replaces weight and enabled, and puts the metadata over the existing map when
 * `mergeMetadata` (else replaces it); health, kind and rev are kept (Nacos' updateInstance). */
export interface UpdateCommand extends ServiceRef {
  type: 'update';
  instance: InstanceInput;
  mergeMetadata: boolean;
}

/** PATCH: only the fields given change (metadata merged); `healthy` is never patched. */
export interface PatchCommand extends InstanceRef {
  type: 'patch';
  metadata?: Record<string, string>;
  weight?: number;
  enabled?: boolean;
}

export interface ServiceCreateCommand extends ServiceRef {
  type: 'serviceCreate';
  ephemeral: boolean;
  protectThreshold: number;
  metadata: Record<string, string>;
  selector: Selector;
}

export interface ServiceUpdateCommand extends ServiceRef {
  type: 'serviceUpdate';
  protectThreshold?: number;
  metadata?: Record<string, string>;
  selector?: Selector;
}

export interface ServiceDeleteCommand extends ServiceRef {
  type: 'serviceDelete';
}

export interface ClusterUpdateCommand extends ServiceRef {
  type: 'clusterUpdate';
  cluster: string;
  healthChecker: HealthChecker;
  checkPort: number;
  useInstancePort4Check: boolean;
  metadata: Record<string, string>;
}

/** One instance's health flip or removal decided by the leader; applies only if the instance is
 * still at revision `rev` (not registered or updated since the decision). */
export interface HealthChange extends ServiceRef {
  id: string;
  rev: number;
  /** Set for a flip; absent for a removal. */
  healthy?: boolean;
}

/** The leader's batch: flips and removals of many instances of many services in one entry. */
export interface HealthBatchCommand {
  type: 'health';
  changes: HealthChange[];
}

/** An operator's health change of one persistent instance (PUT /health/instance). */
export interface HealthSetCommand extends InstanceRef {
  type: 'healthSet';
  healthy: boolean;
}

export type RegistryCommand =
  | RegisterCommand
  | DeregisterCommand
  | UpdateCommand
  | PatchCommand
  | ServiceCreateCommand
  | ServiceUpdateCommand
  | ServiceDeleteCommand
  | ClusterUpdateCommand
  | HealthBatchCommand
  | HealthSetCommand;

/** Codes of deterministic rejections in apply (carried by DatumCommandError). */
export const RegistryRejection = {
  SERVICE_NOT_FOUND: 'SERVICE_NOT_FOUND',
  /** An instance update into a service that does not exist (Nacos: 21004, instance error). */
  NO_SERVICE_FOR_INSTANCE: 'NO_SERVICE_FOR_INSTANCE',
  SERVICE_EXISTS: 'SERVICE_EXISTS',
  SERVICE_NOT_EMPTY: 'SERVICE_NOT_EMPTY',
  INSTANCE_NOT_FOUND: 'INSTANCE_NOT_FOUND',
  /** An ephemeral instance into a persistent service, or the reverse. */
  EPHEMERAL_MISMATCH: 'EPHEMERAL_MISMATCH',
  /** A manual health change while the cluster's health checker is active. */
  HEALTH_CHECK_ACTIVE: 'HEALTH_CHECK_ACTIVE',
} as const;
export type RegistryRejection = (typeof RegistryRejection)[keyof typeof RegistryRejection];
