// Request parameters as Nacos reads them: from the query string or an
// application/x-www-form-urlencoded body alike (a name in both: the query string's value, as the
// servlet API's getParameter). Texts are Nacos' own (core WebUtils, 2.3+ ParamCheckerFilter).

import type { Request } from 'express';
import { hasControlChar } from '../../registry/names.ts';
import { badParam, ErrorCode } from './api-error.ts';

export type Params = Record<string, string>;

function flat(o: unknown, into: Params): void {
  if (!o || typeof o !== 'object') return;
  for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
    if (typeof v === 'string') into[k] = v;
    else if (Array.isArray(v) && typeof v[0] === 'string') into[k] = v[0];
  }
}

/** The request's parameters: form body, then the query string over it. */
export function paramsOf(req: Request): Params {
  const p: Params = Object.create(null) as Params;
  flat(req.body, p);
  flat(req.query, p);
  return p;
}

/** WebUtils.required: missing or empty → 400 `Param '<key>' is required.` */
export function required(p: Params, key: string): string {
  const v = p[key];
  if (v === undefined || v === '') throw badParam(`Param '${key}' is required.`, ErrorCode.PARAMETER_MISSING);
  return v;
}

/** WebUtils.optional: missing or empty → the default. */
export function optional(p: Params, key: string, dflt: string): string {
  const v = p[key];
  return v === undefined || v === '' ? dflt : v;
}

/** The v2 forms' missing-parameter text (InstanceForm.validate and friends). */
export function requiredV2(p: Params, key: string, type: 'String' | 'Integer' | 'Boolean' = 'String'): string {
  const v = p[key];
  if (v === undefined || v === '') throw badParam(`Required parameter '${key}' type ${type} is not present`, ErrorCode.PARAMETER_MISSING);
  return v;
}

/** Spring's missing @RequestParam text. */
export function requiredParam(p: Params, key: string, type = 'String'): string {
  const v = p[key];
  if (v === undefined || v === '') throw badParam(`Required request parameter '${key}' for method parameter type ${type} is not present`, ErrorCode.PARAMETER_MISSING);
  return v;
}

/** Java's Boolean.parseBoolean / ConvertUtils.toBoolean: "true" (any case) is true. */
export function bool(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined || v === '') return dflt;
  return v.toLowerCase() === 'true';
}

/** NumberUtils.toInt: an unparsable value gives `dflt`. */
export function toInt(v: string | undefined, dflt: number): number {
  if (v === undefined || !/^\s*[-+]?\d+\s*$/.test(v)) return dflt;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : dflt;
}

/** A Java float/double: an unparsable value throws (NumberFormatException → 400). */
export function toNumber(key: string, v: string): number {
  const n = Number(v.trim());
  if (v.trim() === '' || !Number.isFinite(n)) throw badParam(`Param '${key}' is illegal, ${JSON.stringify(v)} is not a number.`);
  return n;
}

// Limits of Nacos' parameter checker (2.3+ ParamCheckRule): longer values are refused with its texts.
const LIMITS: Record<string, { field: string; max: number }> = {
  namespaceId: { field: 'namespaceId/tenant', max: 64 },
  serviceName: { field: 'serviceName', max: 512 },
  groupName: { field: 'group', max: 128 },
  clusterName: { field: 'cluster', max: 64 },
  cluster: { field: 'cluster', max: 64 },
  clusters: { field: 'cluster', max: 64 * 32 },
  ip: { field: 'ip', max: 128 },
};

/** Refuses over-long names and names with control characters (never valid in Nacos either). */
export function checkLimits(p: Params): void {
  for (const [key, { field, max }] of Object.entries(LIMITS)) {
    const v = p[key];
    if (v === undefined) continue;
    if (v.length > max) throw badParam(`Param '${field}' is illegal, the param length should not exceed ${max}.`);
    if (hasControlChar(v)) throw badParam(`Param '${field}' is illegal, illegal characters should not appear in the param.`);
  }
  // Nacos' checker (2.3+ checkMetadataFormat) counts the parsed map's non-blank keys and values.
  let md: Record<string, string> | undefined;
  try {
    md = parseMetadata(p.metadata);
  } catch {
    md = undefined; // a bad format is the route's error
  }
  let total = 0;
  for (const [k, v] of Object.entries(md ?? {})) total += (k.trim() === '' ? 0 : k.length) + (v.trim() === '' ? 0 : v.length);
  if (total > 1024) throw badParam(`Param 'Metadata' is illegal, the param length should not exceed 1024.`);
}

/** UtilsAndCommons.parseMetadata: JSON object of strings, or `k=v,k=v`; blank → {}. A key
 * `__proto__` is refused (a departure from Nacos): the stored encoding (msgpackr) renames it on
 * decode, so it would not survive a restart unchanged. */
export function parseMetadata(raw: string | undefined): Record<string, string> {
  if (raw === undefined || raw.trim() === '') return {};
  let pairs: [string, string][] | undefined;
  try {
    const v: unknown = JSON.parse(raw);
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      pairs = Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, typeof x === 'string' ? x : JSON.stringify(x)]);
    }
  } catch {
    // not JSON: k=v,k=v
  }
  if (!pairs) {
    pairs = [];
    for (const part of raw.split(',')) {
      const kv = part.split('=');
      if (kv.length !== 2) throw badParam(`metadata format incorrect:${raw}`, ErrorCode.SERVER_ERROR);
      pairs.push([kv[0]!, kv[1]!]);
    }
  }
  if (pairs.some(([k]) => k === '__proto__')) throw badParam(`metadata: the key "__proto__" is not allowed`);
  // fromEntries defines own properties.
  return Object.fromEntries(pairs);
}
