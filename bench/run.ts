// npm run bench — the registry on a 3-node Muster cluster (real processes on loopback, LMDB,
// every write fsync'd on a majority) against raw node:http answering the same requests, in one
// run: on a shared 2-core machine only the ratios mean anything.
//
// Scenarios: register (Nacos v1 POST /instance) through the leader, and spread over all three
// nodes (followers forward to the leader); list (GET /instance/list) from local applied state,
// and linearizable (ReadIndex through the leader).
//
//   npm run bench [-- --requests N] [--concurrency 1,16,64]

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { ProcCluster } from '../test/support/processes.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const REQUESTS = Number(opt('requests', '2000'));
const CONCURRENCY = opt('concurrency', '1,16,64').split(',').map(Number);

interface Result {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

type Target = { origin: string; method: 'POST' | 'GET'; path: (k: number) => string };

/** Sends REQUESTS requests with `concurrency` in flight, round-robin over `targets`; latencies in ms. */
async function load(targets: Target[], concurrency: number): Promise<Result> {
  const pools = targets.map((t) => new Pool(t.origin, { connections: concurrency, pipelining: 1 }));
  const lat: number[] = [];
  let next = 0;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let k = next++; k < REQUESTS; k = next++) {
        const t = targets[k % targets.length]!;
        const s = performance.now();
        const r = await pools[k % targets.length]!.request({ path: t.path(k), method: t.method }).catch(() => undefined);
        if (!r || r.statusCode !== 200) errors++;
        await r?.body.dump();
        lat.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  await Promise.all(pools.map((p) => p.close()));
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!;
  return { rps: REQUESTS / secs, p50: q(0.5), p99: q(0.99), errors };
}

async function main(): Promise<void> {
  const raw = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  }).listen(0, '127.0.0.1');
  await new Promise((r) => raw.once('listening', r));
  const rawOrigin = `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;

  const c = new ProcCluster(new URL('../src/main.ts', import.meta.url).pathname);
  const ids = ['n1', 'n2', 'n3'];
  try {
    await c.bootstrap(ids);
    const leader = await c.leader(ids);
    const follower = ids.find((i) => i !== leader)!;
    const origin = (id: string) => `http://127.0.0.1:${c.nodes.get(id)!.httpPort}`;
    let run = 0;
    const register = (id: string): Target => {
      const r = ++run;
      // 100 services of up to REQUESTS/100 instances each; distinct ports per run.
      return { origin: origin(id), method: 'POST', path: (k) => `/nacos/v1/ns/instance?serviceName=bench-${k % 100}&ip=10.${r}.${(k >> 8) & 255}.${k & 255}&port=${8000 + (k % 1000)}` };
    };
    const list = (id: string, linearizable: boolean): Target => ({
      origin: origin(id),
      method: 'GET',
      path: (k) => `/nacos/v1/ns/instance/list?serviceName=bench-${k % 100}${linearizable ? '&consistency=linearizable' : ''}`,
    });
    const rows: string[] = [];
    for (const conc of CONCURRENCY) {
      const base = await load([{ origin: rawOrigin, method: 'POST', path: (k) => `/x/${k}` }], conc);
      const scenarios: [string, Target[]][] = [
        ['register via leader', [register(leader)]],
        ['register spread', ids.map(register)],
        ['list local (follower)', [list(follower, false)]],
        ['list linearizable', [list(follower, true)]],
      ];
      rows.push(fmt(conc, 'raw node:http', base, base));
      for (const [name, targets] of scenarios) rows.push(fmt(conc, name, await load(targets, conc), base));
    }
    console.log(`bench: ${REQUESTS} requests per row, 3 nodes on loopback, every register committed (fsync) on a majority`);
    console.log(' conc  scenario                  throughput        latency                        ratio');
    for (const r of rows) console.log(r);
  } finally {
    raw.close();
    await c.shutdown();
  }
}

function fmt(conc: number, name: string, r: Result, base: Result): string {
  return `${String(conc).padStart(5)}  ${name.padEnd(24)} ${r.rps.toFixed(0).padStart(8)} req/s  p50 ${r.p50.toFixed(2).padStart(7)} ms  p99 ${r.p99.toFixed(2).padStart(7)} ms  ${(r.rps / base.rps).toFixed(3).padStart(6)}× raw${r.errors ? `  ${r.errors} errors` : ''}`;
}

await main();
