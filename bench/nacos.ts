// Nacos v1 naming requests the bench sends, as load-generator targets. Request number k names
// instance 10.x.y.z:8080 with x.y.z = k, of service `${family}-${k % services}`.

import type { Target } from './load.ts';

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

export const ipOf = (k: number) => `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`;
export const PORT = 8080;
export const serviceOf = (family: string, services: number, k: number) => `${family}-${k % services}`;

const okText = (status: number, body: string) => status === 200 && body === 'ok';

/** POST /nacos/v1/ns/instance (form body, as the Nacos clients send it). */
export function register(origin: string, family: string, services: number, ephemeral: boolean): Target {
  return {
    origin,
    method: 'POST',
    path: () => '/nacos/v1/ns/instance',
    headers: FORM,
    body: (k) => `serviceName=${serviceOf(family, services, k)}&ip=${ipOf(k)}&port=${PORT}&ephemeral=${ephemeral}`,
    ok: okText,
  };
}

/** DELETE /nacos/v1/ns/instance (parameters in the query, as the Nacos clients send them). */
export function deregister(origin: string, family: string, services: number, ephemeral: boolean): Target {
  return { origin, method: 'DELETE', path: (k) => `/nacos/v1/ns/instance?serviceName=${serviceOf(family, services, k)}&ip=${ipOf(k)}&port=${PORT}&ephemeral=${ephemeral}`, ok: okText };
}

/** GET /nacos/v1/ns/instance/list, from local applied state or linearizable. */
export function list(origin: string, family: string, services: number, linearizable: boolean): Target {
  return { origin, method: 'GET', path: (k) => `/nacos/v1/ns/instance/list?serviceName=${serviceOf(family, services, k)}${linearizable ? '&consistency=linearizable' : ''}` };
}

/** PUT /nacos/v1/ns/instance/beat, the light form (no `beat` JSON); ok when the instance is known. */
export function beat(origin: string, family: string, services: number): Target {
  return {
    origin,
    method: 'PUT',
    path: (k) => `/nacos/v1/ns/instance/beat?serviceName=DEFAULT_GROUP@@${serviceOf(family, services, k)}&ip=${ipOf(k)}&port=${PORT}`,
    ok: (status, body) => status === 200 && body.includes('"code":10200'),
  };
}

async function send(origin: string, method: string, path: string, body?: string): Promise<string> {
  const r = await fetch(origin + path, { method, body, headers: body ? FORM : {}, signal: AbortSignal.timeout(15_000) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text;
}

/** Creates `services` persistent services whose DEFAULT cluster has no health checker, so their
 * persistent instances stay as registered (no TCP checks against the bench's made-up addresses).
 * 16 services at a time. */
export async function createServices(origin: string, family: string, services: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let s = next++; s < services; s = next++) {
      await send(origin, 'POST', '/nacos/v1/ns/service', `serviceName=${family}-${s}`);
      await send(origin, 'PUT', '/nacos/v1/ns/cluster', `serviceName=${family}-${s}&clusterName=DEFAULT&checkPort=80&useInstancePort4Check=true&healthChecker=${encodeURIComponent('{"type":"NONE"}')}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, services) }, worker));
}

export interface Host {
  ip: string;
  port: number;
  healthy: boolean;
}

/** Every instance of a service (linearizable read). */
export async function hosts(origin: string, service: string): Promise<Host[]> {
  const text = await send(origin, 'GET', `/nacos/v1/ns/instance/list?serviceName=${service}&consistency=linearizable`);
  return (JSON.parse(text) as { hosts: Host[] }).hosts;
}

/** The number of instances the node holds (operator metrics). */
export async function instanceCount(origin: string): Promise<number> {
  const text = await send(origin, 'GET', '/nacos/v1/ns/operator/metrics?onlyStatus=false');
  return (JSON.parse(text) as { instanceCount: number }).instanceCount;
}
