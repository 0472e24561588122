// The native read and watch API (`/muster/v1`, JSON, errors `{code, message}`), DESIGN §7:
// services of a namespace and one service with its instances, both as blocking queries
// (`?index=N&wait=D`: answer at once if the watched revision is past N, else at the first change
// to what was asked or when the wait ends; header X-Muster-Index on every answer), and SSE
// streams. `consistency=linearizable` (or header X-Muster-Consistency) reads after a ReadIndex.

import express, { type Request, type Response, type Router } from 'express';
import { DEFAULT_GROUP, groupedName, splitGrouped } from '../registry/names.ts';
import type { Registry } from '../registry/registry.ts';
import type { WatchHub } from '../registry/watch/hub.ts';
import { nativeServiceState } from './native-json.ts';
import { SseStream, type SseOptions } from './watch-sse.ts';

export class NativeError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface NativeDeps {
  registry: Registry;
  hub: WatchHub;
  sse: SseOptions;
  /** Extra metrics to report (health, push, node). */
  metrics(): Record<string, unknown>;
  /** Random in [0, 1) for the wait jitter. */
  random?: () => number;
}

/** Longest wait of a blocking query, ms. */
export const MAX_WAIT_MS = 10 * 60 * 1000;
export const DEFAULT_WAIT_MS = 30 * 1000;

/** `30s`, `5m`, `100ms`, `1h`, or a bare number of seconds → ms. */
export function parseWait(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_WAIT_MS;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!m) throw new NativeError(400, 'INVALID', `wait: must be a duration like 30s, 5m or 250ms (got ${JSON.stringify(raw)})`);
  const n = Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const)[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.min(MAX_WAIT_MS, Math.max(0, Math.round(n)));
}

export function parseIndex(raw: string | undefined, what = 'index'): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d{1,15}$/.test(raw)) throw new NativeError(400, 'INVALID', `${what}: must be a non-negative integer (a revision), got ${JSON.stringify(raw)}`);
  return Number(raw);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
}

function strs(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function linearizable(req: Request): boolean {
  const v = str(req.query.consistency) ?? req.get('x-muster-consistency');
  if (v === undefined || v === '' || v === 'local' || v === 'default') return false;
  if (v === 'linearizable') return true;
  throw new NativeError(400, 'INVALID', `consistency: must be "linearizable" or "local", got ${JSON.stringify(v)}`);
}

function fail(res: Response, e: unknown): void {
  if (res.headersSent) return;
  if (e instanceof NativeError) res.status(e.status).json({ code: e.code, message: e.message });
  else {
    const code = (e as { code?: unknown }).code;
    const status = code === 'UNKNOWN' || code === 'TIMEOUT' ? 504 : typeof code === 'string' ? 503 : 500;
    res.status(status).json({ code: typeof code === 'string' ? code : 'INTERNAL', message: (e as Error).message ?? String(e) });
  }
}

export function nativeRouter(d: NativeDeps): Router {
  const r = express.Router();
  const { registry, hub } = d;
  const random = d.random ?? Math.random;
  const streams = new Set<SseStream>();

  /** Waits (bounded) until `revision()` passes `index`; the request closing ends the wait. */
  const block = async (req: Request, index: number | undefined, revision: () => number, ns: string, grouped: string | undefined) => {
    if (index === undefined || index === 0 || revision() > index) return;
    const wait = parseWait(str(req.query.wait));
    // Jitter of up to wait/16 spreads the wake-ups of many pollers (as Consul does).
    const w = hub.wait(ns, grouped, wait + Math.floor(random() * (wait / 16)));
    const onClose = () => w.cancel();
    req.on('close', onClose);
    await w.done;
    req.off('close', onClose);
  };

  r.get('/muster/v1/namespaces/:ns/services', async (req: Request, res: Response) => {
    try {
      const ns = String(req.params.ns);
      const index = parseIndex(str(req.query.index));
      const lin = linearizable(req);
      parseWait(str(req.query.wait));
      if (lin) await registry.read(true, () => undefined);
      await block(req, index, () => hub.namespaceRevision(ns), ns, undefined);
      if (req.socket.destroyed) return;
      const revision = hub.namespaceRevision(ns);
      const services = registry.views.serviceNames(ns).map((g) => {
        const { group, service } = splitGrouped(g);
        return { group, name: service, revision: registry.views.service(ns, g).revision };
      });
      res.setHeader('x-muster-index', String(revision));
      res.json({ namespace: ns, revision, services });
    } catch (e) {
      fail(res, e);
    }
  });

  r.get('/muster/v1/namespaces/:ns/services/:group/:service', async (req: Request, res: Response) => {
    try {
      const ns = String(req.params.ns);
      const grouped = groupedName(String(req.params.group), String(req.params.service));
      const index = parseIndex(str(req.query.index));
      const lin = linearizable(req);
      parseWait(str(req.query.wait));
      const clusters = strs(req.query.cluster);
      const healthyOnly = str(req.query.healthyOnly) === 'true';
      if (lin) await registry.read(true, () => undefined);
      await block(req, index, () => hub.serviceRevision(ns, grouped), ns, grouped);
      if (req.socket.destroyed) return;
      const revision = hub.serviceRevision(ns, grouped);
      res.setHeader('x-muster-index', String(revision));
      const v = registry.views.service(ns, grouped);
      if (!v.service) {
        res.status(404).json({ code: 'SERVICE_NOT_FOUND', message: `service ${grouped} not found in namespace ${ns}` });
        return;
      }
      res.json(nativeServiceState(v, revision, { ...(clusters.length > 0 ? { clusters: new Set(clusters) } : {}), healthyOnly }));
    } catch (e) {
      fail(res, e);
    }
  });

  r.get('/muster/v1/watch', (req: Request, res: Response) => {
    try {
      const ns = str(req.query.namespace) ?? 'public';
      const group = str(req.query.group);
      const service = str(req.query.service);
      const since = parseIndex(req.get('last-event-id') ?? str(req.query.since), req.get('last-event-id') !== undefined ? 'Last-Event-ID' : 'since');
      const scope = service !== undefined ? { ns, grouped: groupedName(group ?? DEFAULT_GROUP, service) } : group !== undefined ? { ns, group } : { ns };
      const s = new SseStream(res, scope, hub, registry.views, d.sse, (x) => streams.delete(x));
      streams.add(s);
      s.start(since);
    } catch (e) {
      fail(res, e);
    }
  });

  r.get('/muster/v1/metrics', (_req: Request, res: Response) => {
    res.json({
      watch: {
        blockingQueries: hub.waiting,
        sseStreams: streams.size,
        events: hub.counters.events,
        historySize: hub.history.size,
        historyFloor: hub.history.floor,
        commitToNotifyMs: { blocking: hub.latency.blocking.summary(), sse: hub.latency.sse.summary(), udp: hub.latency.udp.summary() },
      },
      ...d.metrics(),
      process: process.memoryUsage(),
    });
  });

  return r;
}
