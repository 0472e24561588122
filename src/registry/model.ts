// The registry's stored model (DESIGN §5). Two datums per service: its metadata (ServiceRecord)
// and its instance list (InstancesValue). Both are plain msgpack-able data; handlers build new
// values and never mutate the ones they read.

export const HealthCheckType = {
  TCP: 'TCP',
  HTTP: 'HTTP',
  NONE: 'NONE',
} as const;
export type HealthCheckType = (typeof HealthCheckType)[keyof typeof HealthCheckType];

export interface HealthChecker {
  type: HealthCheckType;
  /** HTTP only: path requested, headers (`k:v|k:v`), status code that counts as healthy. */
  path?: string;
  headers?: string;
  expectedResponseCode?: number;
}

export interface ClusterRecord {
  healthChecker: HealthChecker;
  /** Port checked when useInstancePort4Check is false. */
  checkPort: number;
  useInstancePort4Check: boolean;
  metadata: Record<string, string>;
}

export interface Selector {
  type: 'none' | 'label';
  expression?: string;
}

export interface ServiceRecord {
  /** A service holds either ephemeral or persistent instances, never both. */
  ephemeral: boolean;
  /** 0..1: below this healthy share, unhealthy instances are returned too. */
  protectThreshold: number;
  metadata: Record<string, string>;
  selector: Selector;
  /** Cluster settings made through the API; a cluster used by instances but absent here has defaults. */
  clusters: Record<string, ClusterRecord>;
  /** Created or updated through the service API: Nacos' "service metadata" exists (the protect
   * threshold applies only then). A service created by a registration alone is not explicit and
   * is deleted with its last instance. */
  explicit: boolean;
}

/** The fields of an instance a client sets. */
export interface InstanceFields {
  ip: string;
  port: number;
  /** 0..10000 */
  weight: number;
  healthy: boolean;
  enabled: boolean;
  ephemeral: boolean;
  clusterName: string;
  metadata: Record<string, string>;
}

export interface InstanceRecord extends InstanceFields {
  /** Raft index of the command that last registered this instance (updates and patches keep it).
   * A leader's expiry names it, so an instance registered again after the decision is not
   * removed; the leader takes a new rev for a beat (a registration is a beat, as in Nacos). */
  rev: number;
}

export interface InstancesValue {
  /** Sorted by instance id (deterministic bytes on every node). */
  instances: InstanceRecord[];
}

/** A service's settings for `cluster` (own properties only: a name such as `constructor` must
 * not find an inherited member), or the defaults. */
export function clusterOf(s: ServiceRecord | undefined, cluster: string): ClusterRecord {
  return s && Object.hasOwn(s.clusters, cluster) ? s.clusters[cluster]! : defaultCluster();
}

/** Whether the service has settings for `cluster` (own properties only). */
export function hasCluster(s: ServiceRecord | undefined, cluster: string): boolean {
  return s !== undefined && Object.hasOwn(s.clusters, cluster);
}

export function defaultCluster(): ClusterRecord {
  return { healthChecker: { type: HealthCheckType.TCP }, checkPort: 80, useInstancePort4Check: true, metadata: {} };
}

export function defaultService(ephemeral: boolean): ServiceRecord {
  return { ephemeral, protectThreshold: 0, metadata: {}, selector: { type: 'none' }, clusters: {}, explicit: false };
}

// Per-instance health timing, overridable in metadata (Nacos' PreservedMetadataKeys). Milliseconds.
export const HEART_BEAT_INTERVAL_KEY = 'preserved.heart.beat.interval';
export const HEART_BEAT_TIMEOUT_KEY = 'preserved.heart.beat.timeout';
export const IP_DELETE_TIMEOUT_KEY = 'preserved.ip.delete.timeout';
export const DEFAULT_HEART_BEAT_INTERVAL = 5000;
export const DEFAULT_HEART_BEAT_TIMEOUT = 15000;
export const DEFAULT_IP_DELETE_TIMEOUT = 30000;

function msFrom(metadata: Record<string, string>, key: string, dflt: number): number {
  const v = metadata[key];
  if (v === undefined || !/^\d+$/.test(v)) return dflt;
  return Number(v);
}

export function heartBeatInterval(i: { metadata: Record<string, string> }): number {
  return msFrom(i.metadata, HEART_BEAT_INTERVAL_KEY, DEFAULT_HEART_BEAT_INTERVAL);
}
export function heartBeatTimeout(i: { metadata: Record<string, string> }): number {
  return msFrom(i.metadata, HEART_BEAT_TIMEOUT_KEY, DEFAULT_HEART_BEAT_TIMEOUT);
}
export function ipDeleteTimeout(i: { metadata: Record<string, string> }): number {
  return msFrom(i.metadata, IP_DELETE_TIMEOUT_KEY, DEFAULT_IP_DELETE_TIMEOUT);
}
