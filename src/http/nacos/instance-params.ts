// Reading an instance from request parameters as Nacos does (ServiceNameFilter,
// HttpRequestInstanceBuilder, NamingUtils.checkServiceNameFormat / checkInstanceIsLegal), in
// Nacos' order: the first failure wins.

import type { InstanceInput } from '../../registry/commands.ts';
import { heartBeatInterval, heartBeatTimeout, ipDeleteTimeout } from '../../registry/model.ts';
import { CLUSTER_NAME_PATTERN, DEFAULT_CLUSTER, DEFAULT_GROUP, GROUP_SEPARATOR } from '../../registry/names.ts';
import { badParam, ErrorCode } from './api-error.ts';
import { optional, parseMetadata, required, type Params } from './params.ts';

/** ConvertUtils.toBoolean: true for true / on / y / t / yes (any case). */
export function toBoolean(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined || v.trim() === '') return dflt;
  return ['true', 'on', 'y', 't', 'yes'].includes(v.trim().toLowerCase());
}

/** Integer.parseInt with Nacos' port range; the JDK's text for a non-number. */
export function parsePort(raw: string, key = 'port'): number {
  const v = raw.trim();
  if (!/^[-+]?\d{1,10}$/.test(v)) throw badParam(`For input string: "${raw}"`);
  const n = Number(v);
  if (n < 0 || n > 65535) throw badParam(`Param '${key === 'checkPort' ? 'port' : key}' is illegal, the value should be between 0 and 65535.`);
  return n;
}

/** ServiceNameFilter then `required` then checkServiceNameFormat: the grouped service name. */
export function groupedService(p: Params): string {
  const raw = required(p, 'serviceName').trim();
  const group = optional(p, 'groupName', DEFAULT_GROUP).trim();
  const grouped = raw.includes(GROUP_SEPARATOR) ? raw : `${group}${GROUP_SEPARATOR}${raw}`;
  checkServiceNameFormat(grouped);
  return grouped;
}

export function checkServiceNameFormat(grouped: string): void {
  // Java's String.split drops trailing empty strings: "g@@" → ["g"], "@@s" → ["", "s"].
  const split = grouped.split(GROUP_SEPARATOR);
  while (split.length > 0 && split[split.length - 1] === '') split.pop();
  if (split.length <= 1) throw badParam(`Param 'serviceName' is illegal, it should be format as 'groupName@@serviceName'`);
  if (split[0] === '') throw badParam(`Param 'serviceName' is illegal, groupName can't be empty`);
}

function checkIp(ip: string): void {
  if (/\s/.test(ip)) throw badParam(`Param 'ip' is illegal, illegal characters should not appear in the param.`);
}

/** Weight 0..10000 (Nacos: "instance format invalid: The weights range from 0.0 to 10000.0"). */
export function parseWeight(raw: string): number {
  const w = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(w)) throw badParam(`For input string: "${raw}"`);
  if (w < 0 || w > 10000) throw badParam('instance format invalid: The weights range from 0.0 to 10000.0', ErrorCode.WEIGHT_ERROR);
  return w;
}

/** NamingUtils.checkInstanceIsLegal. */
export function checkInstanceIsLegal(i: InstanceInput): void {
  const interval = heartBeatInterval(i);
  if (heartBeatTimeout(i) < interval || ipDeleteTimeout(i) < interval) {
    throw badParam("Instance 'heart beat interval' must less than 'heart beat timeout' and 'ip delete timeout'.", ErrorCode.INSTANCE_ERROR);
  }
  if (i.clusterName !== '' && !CLUSTER_NAME_PATTERN.test(i.clusterName)) {
    throw badParam(`Instance 'clusterName' should be characters with only 0-9a-zA-Z-. (current: ${i.clusterName})`, ErrorCode.INSTANCE_ERROR);
  }
}

/** HttpRequestInstanceBuilder: ip, port, healthy, ephemeral, weight, cluster, enabled, metadata. */
export function instanceFromParams(p: Params, opts: { enableAlias: boolean; v2?: boolean } = { enableAlias: true }): InstanceInput {
  const ip = opts.v2 ? requiredV2Ip(p) : required(p, 'ip').trim();
  checkIp(ip);
  const port = parsePort(opts.v2 ? requiredV2Port(p) : required(p, 'port'));
  const healthy = toBoolean(p.healthy, true);
  const ephemeral = toBoolean(p.ephemeral, true);
  const weight = parseWeight(optional(p, 'weight', '1'));
  const clusterName = optional(p, 'clusterName', optional(p, 'cluster', DEFAULT_CLUSTER)).trim();
  const enabledRaw = p.enabled !== undefined && p.enabled !== '' ? p.enabled : opts.enableAlias ? p.enable : undefined;
  const enabled = toBoolean(enabledRaw, true);
  const metadata = parseMetadata(p.metadata);
  const i: InstanceInput = { ip, port, weight, healthy, enabled, ephemeral, clusterName, metadata };
  checkInstanceIsLegal(i);
  return i;
}

function requiredV2Ip(p: Params): string {
  const v = p.ip;
  if (v === undefined || v.trim() === '') throw badParam("Required parameter 'ip' type String is not present", ErrorCode.PARAMETER_MISSING);
  return v.trim();
}

function requiredV2Port(p: Params): string {
  const v = p.port;
  if (v === undefined || v.trim() === '') throw badParam("Required parameter 'port' type Integer is not present", ErrorCode.PARAMETER_MISSING);
  return v;
}
