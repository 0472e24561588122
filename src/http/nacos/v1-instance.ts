// Nacos Open API v1, instances, health and operator routes (InstanceController,
// HealthController, OperatorController as of Nacos 2.2–2.4; /operator/servers as of 2.1).

import { cpus, freemem, loadavg, totalmem } from 'node:os';
import type { Request, Router } from 'express';
import type { InstanceInput } from '../../registry/commands.ts';
import { heartBeatInterval } from '../../registry/model.ts';
import { DEFAULT_CLUSTER, DEFAULT_NAMESPACE } from '../../registry/names.ts';
import type { ServiceView } from '../../registry/views.ts';
import { ApiError, badParam, ErrorCode } from './api-error.ts';
import { linearizable, paramRoute, requestIdOf, type NacosDeps } from './context.ts';
import { checkInstanceIsLegal, checkServiceNameFormat, groupedService, instanceFromParams, parsePort, parseWeight, toBoolean } from './instance-params.ts';
import { bool, optional, parseMetadata, required, toInt, type Params } from './params.ts';
import { serviceInfo } from './service-info.ts';

/** NamingResponseCode / ResponseCode values of the beat answer. */
export const BEAT_OK = 10200;
export const BEAT_NOT_FOUND = 20404;
const CLIENT_BEAT_INTERVAL = 5000;

/** The instance at ip:port of a service, of the given kind (Nacos' client ip:port#ephemeral). */
export function findAt(v: ServiceView, ip: string, port: number, ephemeral = true) {
  return v.instances.find((i) => i.ip === ip && i.port === port && i.ephemeral === ephemeral);
}

/** GET /instance's lookup: 404 texts of InstanceOperatorClientImpl.getInstance. */
export function instanceDetail(v: ServiceView, cluster: string, ip: string, port: number) {
  if (v.instances.length === 0) throw new ApiError(404, ErrorCode.RESOURCE_NOT_FOUND, `no ips found for cluster ${cluster} in service ${v.grouped}`);
  const i = v.instances.find((x) => x.clusterName === cluster && x.ip === ip && x.port === port);
  if (!i) throw new ApiError(404, ErrorCode.RESOURCE_NOT_FOUND, 'no matched ip found!');
  return i;
}

interface RsInfo {
  ip?: unknown;
  port?: unknown;
  cluster?: unknown;
  serviceName?: unknown;
  weight?: unknown;
  ephemeral?: unknown;
  metadata?: unknown;
}

/** The beat route's logic, shared by v1 and v2 (both answer the plain object). v1 runs behind
 * Nacos' ServiceNameFilter (a bare serviceName gets groupName or DEFAULT_GROUP); v2 does not, so
 * its serviceName must already be `group@@service`. */
export async function handleBeat(d: NacosDeps, req: Request, p: Params, version: 'v1' | 'v2' = 'v1'): Promise<Record<string, unknown>> {
  let clientBeat: RsInfo | undefined;
  const beat = optional(p, 'beat', '');
  if (beat !== '') {
    try {
      const v: unknown = JSON.parse(beat);
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
      clientBeat = v as RsInfo;
    } catch (e) {
      throw badParam(`Param 'beat' is illegal, it must be a JSON object: ${(e as Error).message}`);
    }
  }
  let cluster = optional(p, 'clusterName', DEFAULT_CLUSTER);
  let ip = optional(p, 'ip', '');
  let port = parsePort(optional(p, 'port', '0'));
  if (clientBeat) {
    if (typeof clientBeat.cluster === 'string' && clientBeat.cluster.trim() !== '') cluster = clientBeat.cluster;
    ip = typeof clientBeat.ip === 'string' ? clientBeat.ip : '';
    port = typeof clientBeat.port === 'number' && Number.isInteger(clientBeat.port) ? clientBeat.port : parsePort(String(clientBeat.port ?? ''));
  }
  const ns = optional(p, 'namespaceId', DEFAULT_NAMESPACE);
  const grouped = version === 'v1' ? groupedService(p) : required(p, 'serviceName').trim();
  if (version === 'v2') checkServiceNameFormat(grouped);
  const { registry, health } = d;
  let inst = findAt(registry.views.service(ns, grouped), ip, port);
  if (!inst) {
    if (!clientBeat) return { clientBeatInterval: CLIENT_BEAT_INTERVAL, code: BEAT_NOT_FOUND, lightBeatEnabled: true };
    // A full beat for an unknown instance registers it again (the Nacos clients never re-register).
    const metadata = clientBeat.metadata && typeof clientBeat.metadata === 'object' ? parseMetadata(JSON.stringify(clientBeat.metadata)) : {};
    const instance: InstanceInput = {
      ip,
      port,
      weight: parseWeight(String(typeof clientBeat.weight === 'number' ? clientBeat.weight : 0)),
      healthy: true,
      enabled: true,
      ephemeral: clientBeat.ephemeral === undefined ? true : clientBeat.ephemeral === true,
      clusterName: cluster,
      metadata,
    };
    checkInstanceIsLegal(instance);
    if (ip === '') throw badParam("Param 'ip' is required.");
    await registry.write({ type: 'register', ns, service: grouped, instance }, requestIdOf(req));
    inst = findAt(registry.views.service(ns, grouped), ip, port);
  }
  health.beat(ns, grouped, inst ? inst.instanceId : `${ip}#${port}#${cluster}#${grouped}`);
  if (inst && !inst.healthy) health.nudge();
  return { clientBeatInterval: inst ? heartBeatInterval(inst) : CLIENT_BEAT_INTERVAL, code: BEAT_OK, lightBeatEnabled: true };
}

/** operator/metrics answer (OperatorController / MetricsInfoVo): `{status}`, or with
 * onlyStatus=false the counts and the machine's cpu, load and memory use as Nacos reports them. */
export function metricsBody(d: NacosDeps, onlyStatus: boolean, version: 'v1' | 'v2' = 'v1'): Record<string, unknown> {
  const m = d.metrics();
  const status = m.leader !== null ? 'UP' : 'DOWN';
  if (onlyStatus) return { status };
  let serviceCount = 0;
  let instanceCount = 0;
  let ephemeral = 0;
  let persistent = 0;
  for (const v of d.registry.views.all()) {
    serviceCount++;
    instanceCount += v.instances.length;
    for (const i of v.instances) if (i.ephemeral) ephemeral++;
    else persistent++;
  }
  const leading = m.role === 'leader';
  const body: Record<string, unknown> = { status, serviceCount, instanceCount, subscribeCount: (d.push?.targetCount ?? 0) + (d.watchers?.() ?? 0) };
  if (version === 'v1') body.responsibleInstanceCount = leading ? instanceCount : 0;
  Object.assign(body, {
    clientCount: ephemeral + persistent,
    connectionBasedClientCount: 0,
    ephemeralIpPortClientCount: ephemeral,
    persistentIpPortClientCount: persistent,
    responsibleClientCount: leading ? ephemeral + persistent : 0,
    ...machineLoad(),
  });
  return body;
}

let lastCpu = { at: performance.now(), usage: process.cpuUsage() };
/** This process's CPU share since the last call (0..1 per core, as Nacos' EnvUtil.getCpu), the
 * 1-minute load average, and the share of memory in use. */
function machineLoad(): { cpu: number; load: number; mem: number } {
  const now = performance.now();
  const usage = process.cpuUsage();
  const spentMs = (usage.user - lastCpu.usage.user + usage.system - lastCpu.usage.system) / 1000;
  const cpu = now > lastCpu.at ? spentMs / (now - lastCpu.at) / cpus().length : 0;
  lastCpu = { at: now, usage };
  return { cpu: Math.round(cpu * 1000) / 1000, load: Math.round(loadavg()[0]! * 100) / 100, mem: Math.round((1 - freemem() / totalmem()) * 1000) / 1000 };
}

export function v1InstanceRoutes(r: Router, d: NacosDeps): void {
  const { registry } = d;
  const ns = (p: Params) => optional(p, 'namespaceId', DEFAULT_NAMESPACE);
  const ok = (res: import('express').Response) => res.type('text/plain').send('ok');

  r.post(
    '/nacos/v1/ns/instance',
    paramRoute('v1', async (p, req, res) => {
      const service = groupedService(p);
      const instance = instanceFromParams(p);
      await registry.write({ type: 'register', ns: ns(p), service, instance }, requestIdOf(req));
      ok(res);
    }, d.logger),
  );

  r.delete(
    '/nacos/v1/ns/instance',
    paramRoute('v1', async (p, req, res) => {
      const service = groupedService(p);
      // Nacos builds (and so validates) the whole instance before deregistering.
      const i = instanceFromParams(p);
      await registry.write({ type: 'deregister', ns: ns(p), service, ip: i.ip, port: i.port, cluster: i.clusterName, ephemeral: i.ephemeral }, requestIdOf(req));
      ok(res);
    }, d.logger),
  );

  r.put(
    '/nacos/v1/ns/instance',
    paramRoute('v1', async (p, req, res) => {
      const service = groupedService(p);
      const instance = instanceFromParams(p);
      // Metadata given is put over the registered metadata; weight and enabled are replaced
      // (omitted: 1 and true, as Nacos); healthy is not changed by an update.
      await registry.write({ type: 'update', ns: ns(p), service, instance, mergeMetadata: true }, requestIdOf(req));
      ok(res);
    }, d.logger),
  );

  r.patch(
    '/nacos/v1/ns/instance',
    paramRoute('v1', async (p, req, res) => {
      const service = groupedService(p);
      const ip = required(p, 'ip').trim();
      const port = parsePort(required(p, 'port'));
      const cluster = optional(p, 'clusterName', optional(p, 'cluster', DEFAULT_CLUSTER));
      const namespace = ns(p);
      // The instance must exist in that cluster (Nacos answers 404 otherwise).
      instanceDetail(registry.views.service(namespace, service), cluster, ip, port);
      const cmd = { type: 'patch' as const, ns: namespace, service, ip, port, cluster } as import('../../registry/commands.ts').PatchCommand;
      if (optional(p, 'metadata', '') !== '') cmd.metadata = parseMetadata(p.metadata);
      if (optional(p, 'weight', '') !== '') cmd.weight = parseWeight(p.weight!);
      if (optional(p, 'enabled', '') !== '') cmd.enabled = toBoolean(p.enabled, true);
      // `healthy` is read by Nacos and ignored: a patch never changes health.
      await registry.write(cmd, requestIdOf(req));
      ok(res);
    }, d.logger),
  );

  r.get(
    '/nacos/v1/ns/instance',
    paramRoute('v1', async (p, req, res) => {
      const service = groupedService(p);
      const cluster = optional(p, 'clusterName', DEFAULT_CLUSTER);
      const ip = required(p, 'ip').trim();
      const port = parsePort(required(p, 'port'));
      const namespace = ns(p);
      const body = await registry.read(linearizable(req, p), () => {
        const i = instanceDetail(registry.views.service(namespace, service), cluster, ip, port);
        return { service, ip, port, clusterName: cluster, weight: i.weight, healthy: i.healthy, instanceId: i.instanceId, metadata: i.metadata };
      });
      res.json(body);
    }, d.logger),
  );

  r.get(
    '/nacos/v1/ns/instance/list',
    paramRoute('v1', async (p, req, res) => {
      const service = groupedService(p);
      const namespace = ns(p);
      const q = { clusters: optional(p, 'clusters', ''), healthyOnly: bool(p.healthyOnly, false) };
      const udpPort = toInt(optional(p, 'udpPort', '0'), 0);
      if (udpPort > 0) d.push?.subscribe(namespace, service, q.clusters, optional(p, 'clientIP', ''), udpPort);
      const body = await registry.read(linearizable(req, p), () => serviceInfo(registry.views.service(namespace, service), q, Date.now()));
      res.json(body);
    }, d.logger),
  );

  r.put(
    '/nacos/v1/ns/instance/beat',
    paramRoute('v1', async (p, req, res) => {
      res.json(await handleBeat(d, req, p));
    }, d.logger),
  );

  const healthRoute = paramRoute('v1', async (p, req, res) => {
    let healthy = optional(p, 'healthy', '');
    if (healthy === '') healthy = optional(p, 'valid', '');
    if (healthy === '') throw badParam("Param 'healthy' is required.", ErrorCode.PARAMETER_MISSING);
    const service = groupedService(p);
    const cluster = optional(p, 'clusterName', DEFAULT_CLUSTER);
    const ip = required(p, 'ip').trim();
    const port = parsePort(required(p, 'port'));
    await registry.write({ type: 'healthSet', ns: ns(p), service, cluster, ip, port, healthy: toBoolean(healthy, false) }, requestIdOf(req));
    ok(res);
  }, d.logger);
  r.put('/nacos/v1/ns/health/instance', healthRoute);
  r.put('/nacos/v1/ns/health', healthRoute);

  for (const base of ['/nacos/v1/ns/operator', '/nacos/v1/ns/ops']) {
    r.get(
      `${base}/metrics`,
      paramRoute('v1', (p, _req, res) => {
        res.json(metricsBody(d, bool(optional(p, 'onlyStatus', 'true'), true)));
      }, d.logger),
    );
    // Removed from Nacos in 2.2; kept for older clients (shape of Nacos 2.0/2.1's Member list).
    r.get(
      `${base}/servers`,
      paramRoute('v1', (p, _req, res) => {
        const healthyOnly = bool(p.healthy, false);
        const servers = d
          .members()
          .filter((m) => !healthyOnly || m.alive)
          .map((m) => ({
            ip: m.ip,
            port: m.port,
            state: m.alive ? 'UP' : 'DOWN',
            extendInfo: { raftId: m.id, raftRole: m.leader ? 'leader' : 'follower' },
            address: `${m.ip}:${m.port}`,
            failAccessCnt: 0,
          }));
        res.json({ servers });
      }, d.logger),
    );
  }
}
