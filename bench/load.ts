// The closed-loop load generator: `concurrency` workers, each sending its next request as soon as
// the previous one answered, round-robin over the targets (one undici pool per target). Bounded
// in count and in time; latencies in ms.

import { Pool } from 'undici';

export interface Target {
  origin: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path (with query) of request number k. */
  path(k: number): string;
  /** Request body of request number k (form or JSON text), if any. */
  body?(k: number): string;
  headers?: Record<string, string>;
  /** Whether an answer counts as a success; default: status 200. */
  ok?(status: number, body: string): boolean;
}

export interface LoadOptions {
  concurrency: number;
  requests: number;
  /** Stop issuing new requests after this many ms (requests in flight still finish). */
  maxMs: number;
  /** Request numbers start here (so successive runs touch distinct keys). */
  offset?: number;
  /** Paced load: request i is not sent before this many ms after the start. */
  startAt?(i: number): number;
  /** Called with the number of requests finished so far, at most every 200 ms. */
  onProgress?(done: number): void;
  /** Connection pools to use, one per target (kept open after the run: the caller's, e.g. a
   * warm-up's, so that a measured run does not pay for opening `concurrency` connections). */
  pools?: Pool[];
  /** Called for each finished request (for callers that track outcomes). */
  onResult?(k: number, ok: boolean, startMs: number, endMs: number): void;
}

export interface LoadResult {
  concurrency: number;
  requests: number;
  ok: number;
  errors: number;
  secs: number;
  /** Successful requests per second. */
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** A few distinct error descriptions. */
  errorSamples: string[];
}

const REQUEST_TIMEOUT_MS = 15_000;

/** One pool per target, `concurrency` connections each (opened as requests need them). */
export function openPools(targets: Target[], concurrency: number): Pool[] {
  return targets.map((t) => new Pool(t.origin, { connections: concurrency, pipelining: 1, headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS }));
}

export async function closePools(pools: Pool[]): Promise<void> {
  await Promise.all(pools.map((p) => p.destroy()));
}

export async function load(targets: Target[], o: LoadOptions): Promise<LoadResult> {
  const own = o.pools === undefined;
  const pools = o.pools ?? openPools(targets, o.concurrency);
  const lat: number[] = [];
  const samples = new Set<string>();
  const offset = o.offset ?? 0;
  let next = 0;
  let ok = 0;
  let errors = 0;
  const t0 = performance.now();
  const deadline = t0 + o.maxMs;
  let lastProgress = t0;
  const worker = async () => {
    for (let i = next++; i < o.requests && performance.now() < deadline; i = next++) {
      const k = offset + i;
      if (o.startAt) {
        const wait = t0 + o.startAt(i) - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (performance.now() >= deadline) break;
      }
      const ti = k % targets.length;
      const t = targets[ti]!;
      const s = performance.now();
      let good = false;
      try {
        const r = await pools[ti]!.request({ path: t.path(k), method: t.method, body: t.body?.(k), headers: t.headers });
        const text = await r.body.text();
        good = t.ok ? t.ok(r.statusCode, text) : r.statusCode === 200;
        if (!good && samples.size < 5) samples.add(`${r.statusCode} ${text.slice(0, 120)}`);
      } catch (e) {
        if (samples.size < 5) samples.add((e as Error).message);
      }
      const e = performance.now();
      lat.push(e - s);
      if (good) ok++;
      else errors++;
      o.onResult?.(k, good, s, e);
      if (o.onProgress && e - lastProgress > 200) {
        lastProgress = e;
        o.onProgress(ok + errors);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: o.concurrency }, worker));
  } finally {
    if (own) await closePools(pools);
  }
  return summarize(o.concurrency, lat, ok, errors, (performance.now() - t0) / 1000, [...samples]);
}

/** A LoadResult from raw latencies (ms; sorted here) and counts. */
export function summarize(concurrency: number, lat: number[], ok: number, errors: number, secs: number, errorSamples: string[]): LoadResult {
  lat.sort((a, b) => a - b);
  const q = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]! : NaN);
  return { concurrency, requests: ok + errors, ok, errors, secs, rps: ok / secs, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: lat.length ? lat[lat.length - 1]! : NaN, errorSamples };
}
