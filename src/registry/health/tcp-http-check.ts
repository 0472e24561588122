// One health check of a persistent instance (DESIGN §6): a TCP connect, or an HTTP GET whose
// status must match. Resolves true (healthy) or false; never rejects.

import { connect } from 'node:net';
import { request } from 'undici';
import type { HealthChecker } from '../model.ts';

export function tcpCheck(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      s.removeAllListeners();
      s.on('error', () => {});
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** `k:v|k:v` → headers. */
function parseHeaders(h: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (h ?? '').split('|')) {
    const i = part.indexOf(':');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

export async function httpCheck(host: string, port: number, hc: HealthChecker, timeoutMs: number): Promise<boolean> {
  const path = hc.path && hc.path.startsWith('/') ? hc.path : `/${hc.path ?? ''}`;
  try {
    const res = await request(`http://${host}:${port}${path}`, { method: 'GET', headers: parseHeaders(hc.headers), headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    await res.body.dump();
    return res.statusCode === (hc.expectedResponseCode ?? 200);
  } catch {
    return false;
  }
}
