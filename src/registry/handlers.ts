// The registry's command handlers: pure functions of (command, current datums, index) → datum
// writes and a result (DatumStore applies them). No clock, no randomness, no I/O: the same log
// gives the same datums on every node. A rejection throws DatumCommandError with a
// RegistryRejection code and the text Nacos answers for that case (see texts.ts).

import { DatumCommandError, type CommandHandler, type Datum, type DatumWrite } from './datum-store.ts';
import type {
  ClusterUpdateCommand,
  DeregisterCommand,
  HealthBatchCommand,
  HealthSetCommand,
  InstanceInput,
  PatchCommand,
  RegisterCommand,
  ServiceCreateCommand,
  ServiceDeleteCommand,
  ServiceUpdateCommand,
  UpdateCommand,
} from './commands.ts';
import { RegistryRejection } from './commands.ts';
import { clusterOf, defaultCluster, defaultService, hasCluster, HealthCheckType, type InstanceRecord, type InstancesValue, type ServiceRecord } from './model.ts';
import { instanceId, instancesKey, serviceKey } from './names.ts';
import { texts } from './texts.ts';

type Read = (key: string) => Datum | undefined;

function readService(read: Read, ns: string, service: string): ServiceRecord | undefined {
  return read(serviceKey(ns, service))?.value as ServiceRecord | undefined;
}

function readInstances(read: Read, ns: string, service: string): InstanceRecord[] {
  return (read(instancesKey(ns, service))?.value as InstancesValue | undefined)?.instances ?? [];
}

function idOf(i: { ip: string; port: number; clusterName: string }, service: string): string {
  return instanceId(i.ip, i.port, i.clusterName, service);
}

/** Inserts `rec` into `list` at its place in instance-id order (O(log n) ids built). */
function insertSorted(list: InstanceRecord[], rec: InstanceRecord, service: string): void {
  const id = idOf(rec, service);
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (idOf(list[mid]!, service) < id) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, rec);
}

/** Writes of a service's instance list; an empty list deletes the datum, and with it a service
 * that only existed because of its instances. Invariant: a stored list is sorted by instance id —
 * register inserts in place, and every other handler keeps positions (an instance's id never
 * changes) or removes — so no write sorts (a sort per write made registration O(n log n) in the
 * service's size, with two id strings built per comparison). */
function listWrites(ns: string, service: string, instances: InstanceRecord[], svc: ServiceRecord | undefined): DatumWrite[] {
  if (instances.length > 0) return [{ key: instancesKey(ns, service), value: { instances } satisfies InstancesValue }];
  const w: DatumWrite[] = [{ key: instancesKey(ns, service), delete: true }];
  if (svc && !svc.explicit) w.push({ key: serviceKey(ns, service), delete: true });
  return w;
}

function reject(code: RegistryRejection, message: string): never {
  throw new DatumCommandError(code, message);
}

function checkKind(svc: ServiceRecord | undefined, ephemeral: boolean, service: string): void {
  if (svc && svc.ephemeral !== ephemeral) {
    reject(RegistryRejection.EPHEMERAL_MISMATCH, ephemeral ? texts.persistentServiceNoEphemeral(service) : texts.ephemeralServiceNoPersistent(service));
  }
}

function record(i: InstanceInput, rev: number): InstanceRecord {
  return { ip: i.ip, port: i.port, weight: i.weight, healthy: i.healthy, enabled: i.enabled, ephemeral: i.ephemeral, clusterName: i.clusterName, metadata: { ...i.metadata }, rev };
}

/** Same ip:port (Nacos keeps one instance per ip:port in a service, whatever its cluster). */
function sameAddress(i: { ip: string; port: number }, ip: string, port: number): boolean {
  return i.ip === ip && i.port === port;
}

const register: CommandHandler = (c, read, index) => {
  const cmd = c as unknown as RegisterCommand;
  const svc = readService(read, cmd.ns, cmd.service);
  checkKind(svc, cmd.instance.ephemeral, cmd.service);
  // Registering ip:port again replaces it (in any cluster).
  const list = readInstances(read, cmd.ns, cmd.service).filter((i) => !sameAddress(i, cmd.instance.ip, cmd.instance.port));
  insertSorted(list, record(cmd.instance, index), cmd.service);
  const writes: DatumWrite[] = [];
  if (!svc) writes.push({ key: serviceKey(cmd.ns, cmd.service), value: defaultService(cmd.instance.ephemeral) });
  writes.push(...listWrites(cmd.ns, cmd.service, list, svc));
  return { writes, result: { id: idOf(cmd.instance, cmd.service) } };
};

const deregister: CommandHandler = (c, read) => {
  const cmd = c as unknown as DeregisterCommand;
  const svc = readService(read, cmd.ns, cmd.service);
  const all = readInstances(read, cmd.ns, cmd.service);
  // As Nacos: ip:port of the given kind, whatever its cluster.
  const list = all.filter((i) => !(sameAddress(i, cmd.ip, cmd.port) && (cmd.ephemeral === undefined || i.ephemeral === cmd.ephemeral)));
  // Deregistering an instance that is not there succeeds and changes nothing (as in Nacos).
  if (list.length === all.length) return { writes: [], result: { removed: 0 } };
  return { writes: listWrites(cmd.ns, cmd.service, list, svc), result: { removed: all.length - list.length } };
};

/** The instance `ref` names, with its position; rejects INSTANCE_NOT_FOUND. */
function findInstance(read: Read, ns: string, service: string, id: string): { list: InstanceRecord[]; at: number } {
  const list = readInstances(read, ns, service);
  const at = list.findIndex((i) => idOf(i, service) === id);
  if (at < 0) reject(RegistryRejection.INSTANCE_NOT_FOUND, texts.instanceNotFound(id));
  return { list, at };
}

const update: CommandHandler = (c, read) => {
  const cmd = c as unknown as UpdateCommand;
  const svc = readService(read, cmd.ns, cmd.service);
  if (!svc) reject(RegistryRejection.NO_SERVICE_FOR_INSTANCE, texts.serviceNotFoundForInstance(cmd.ns, cmd.service, cmd.instance.ephemeral));
  const id = idOf(cmd.instance, cmd.service);
  const { list, at } = findInstance(read, cmd.ns, cmd.service, id);
  const cur = list[at]!;
  // As Nacos (updateInstance writes only weight, enabled and metadata): the request's healthy and
  // ephemeral change nothing, so an update neither flips health nor meets the kind rule.
  // An update is not a registration: it keeps the rev (so it is not taken for a beat).
  const next = { ...record(cmd.instance, cur.rev), healthy: cur.healthy, ephemeral: cur.ephemeral };
  if (cmd.mergeMetadata) next.metadata = { ...cur.metadata, ...cmd.instance.metadata };
  const out = list.slice();
  out[at] = next;
  return { writes: listWrites(cmd.ns, cmd.service, out, svc), result: { id } };
};

const patch: CommandHandler = (c, read) => {
  const cmd = c as unknown as PatchCommand;
  const svc = readService(read, cmd.ns, cmd.service);
  const id = instanceId(cmd.ip, cmd.port, cmd.cluster, cmd.service);
  if (!svc) reject(RegistryRejection.INSTANCE_NOT_FOUND, texts.instanceNotFound(id));
  const { list, at } = findInstance(read, cmd.ns, cmd.service, id);
  const cur = list[at]!;
  // Keeps the rev: a patch is not a registration (not taken for a beat).
  const next: InstanceRecord = { ...cur, metadata: cmd.metadata ? { ...cur.metadata, ...cmd.metadata } : cur.metadata };
  if (cmd.weight !== undefined) next.weight = cmd.weight;
  if (cmd.enabled !== undefined) next.enabled = cmd.enabled;
  const out = list.slice();
  out[at] = next;
  return { writes: listWrites(cmd.ns, cmd.service, out, svc), result: { id } };
};

const serviceCreate: CommandHandler = (c, read) => {
  const cmd = c as unknown as ServiceCreateCommand;
  if (readService(read, cmd.ns, cmd.service)) reject(RegistryRejection.SERVICE_EXISTS, texts.serviceExists(cmd.service));
  const svc: ServiceRecord = {
    ...defaultService(cmd.ephemeral),
    protectThreshold: cmd.protectThreshold,
    metadata: { ...cmd.metadata },
    selector: { ...cmd.selector },
    explicit: true,
  };
  return { writes: [{ key: serviceKey(cmd.ns, cmd.service), value: svc }], result: null };
};

const serviceUpdate: CommandHandler = (c, read) => {
  const cmd = c as unknown as ServiceUpdateCommand;
  const cur = readService(read, cmd.ns, cmd.service);
  if (!cur) reject(RegistryRejection.SERVICE_NOT_FOUND, texts.serviceNotFound(cmd.service));
  const svc: ServiceRecord = { ...cur, explicit: true };
  if (cmd.protectThreshold !== undefined) svc.protectThreshold = cmd.protectThreshold;
  if (cmd.metadata !== undefined) svc.metadata = { ...cmd.metadata };
  if (cmd.selector !== undefined) svc.selector = { ...cmd.selector };
  return { writes: [{ key: serviceKey(cmd.ns, cmd.service), value: svc }], result: null };
};

const serviceDelete: CommandHandler = (c, read) => {
  const cmd = c as unknown as ServiceDeleteCommand;
  if (!readService(read, cmd.ns, cmd.service)) reject(RegistryRejection.SERVICE_NOT_FOUND, texts.serviceNotFound(cmd.service));
  if (readInstances(read, cmd.ns, cmd.service).length > 0) reject(RegistryRejection.SERVICE_NOT_EMPTY, texts.serviceNotEmpty(cmd.service));
  return { writes: [{ key: serviceKey(cmd.ns, cmd.service), delete: true }], result: null };
};

const clusterUpdate: CommandHandler = (c, read) => {
  const cmd = c as unknown as ClusterUpdateCommand;
  const cur = readService(read, cmd.ns, cmd.service);
  if (!cur) reject(RegistryRejection.SERVICE_NOT_FOUND, texts.serviceNotFoundForCluster(cmd.service));
  const cluster = { ...defaultCluster(), healthChecker: { ...cmd.healthChecker }, checkPort: cmd.checkPort, useInstancePort4Check: cmd.useInstancePort4Check, metadata: { ...cmd.metadata } };
  const svc: ServiceRecord = { ...cur, clusters: { ...cur.clusters, [cmd.cluster]: cluster } };
  return { writes: [{ key: serviceKey(cmd.ns, cmd.service), value: svc }], result: null };
};

/** The leader's batch of flips and removals. A change whose instance is gone, or was registered
 * again after the leader decided (another rev), is skipped: the batch never fails whole. */
const health: CommandHandler = (c, read) => {
  const cmd = c as unknown as HealthBatchCommand;
  // Group by service so each instance list is read and written once.
  const byService = new Map<string, { ns: string; service: string; list: InstanceRecord[]; changed: boolean }>();
  let applied = 0;
  for (const ch of cmd.changes) {
    const k = instancesKey(ch.ns, ch.service);
    let s = byService.get(k);
    if (!s) byService.set(k, (s = { ns: ch.ns, service: ch.service, list: readInstances(read, ch.ns, ch.service), changed: false }));
    const at = s.list.findIndex((i) => idOf(i, ch.service) === ch.id);
    const cur = at < 0 ? undefined : s.list[at]!;
    if (!cur || cur.rev !== ch.rev) continue;
    if (ch.healthy === undefined) s.list = s.list.filter((_, j) => j !== at);
    else if (cur.healthy !== ch.healthy) s.list = s.list.map((i, j) => (j === at ? { ...i, healthy: ch.healthy! } : i));
    else continue;
    applied++;
    s.changed = true;
  }
  const writes: DatumWrite[] = [];
  for (const s of byService.values()) {
    if (s.changed) writes.push(...listWrites(s.ns, s.service, s.list, readService(read, s.ns, s.service)));
  }
  return { writes, result: { applied } };
};

/** PUT /health/instance: only where the cluster's health checker was set to NONE; an absent or
 * ephemeral instance is left alone and the call still succeeds (as in Nacos). */
const healthSet: CommandHandler = (c, read) => {
  const cmd = c as unknown as HealthSetCommand;
  const svc = readService(read, cmd.ns, cmd.service);
  if (!hasCluster(svc, cmd.cluster) || clusterOf(svc, cmd.cluster).healthChecker.type !== HealthCheckType.NONE) {
    reject(RegistryRejection.HEALTH_CHECK_ACTIVE, texts.healthCheckActive(cmd.service, cmd.cluster));
  }
  const list = readInstances(read, cmd.ns, cmd.service);
  const at = list.findIndex((i) => !i.ephemeral && sameAddress(i, cmd.ip, cmd.port) && i.clusterName === cmd.cluster);
  if (at < 0 || list[at]!.healthy === cmd.healthy) return { writes: [], result: { changed: false } };
  const out = list.slice();
  out[at] = { ...list[at]!, healthy: cmd.healthy };
  return { writes: listWrites(cmd.ns, cmd.service, out, svc), result: { changed: true } };
};

export const registryHandlers: Readonly<Record<string, CommandHandler>> = Object.freeze({
  register,
  deregister,
  update,
  patch,
  serviceCreate,
  serviceUpdate,
  serviceDelete,
  clusterUpdate,
  health,
  healthSet,
});
