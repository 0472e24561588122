// npm run bench — write throughput and latency of a 3-node Muster cluster (real processes on
// loopback, LMDB, fsync'd) against raw node:http answering the same requests, in one run: on a
// shared 2-core machine only the ratios mean anything. Until the registry API exists, writes go
// through the test key-value entry point (test/cluster/kv-server.ts).
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

/** Sends REQUESTS PUTs with `concurrency` in flight; latencies in ms. */
async function load(origin: string, path: (k: number) => string, concurrency: number): Promise<Result> {
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1 });
  const lat: number[] = [];
  let next = 0;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let k = next++; k < REQUESTS; k = next++) {
        const s = performance.now();
        const r = await pool.request({ path: path(k), method: 'PUT', body: `value-${k}` }).catch(() => undefined);
        if (!r || r.statusCode !== 200) errors++;
        await r?.body.dump();
        lat.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  await pool.close();
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!;
  return { rps: REQUESTS / secs, p50: q(0.5), p99: q(0.99), errors };
}

async function main(): Promise<void> {
  const raw = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('{"ok":true}'));
  }).listen(0, '127.0.0.1');
  await new Promise((r) => raw.once('listening', r));
  const rawOrigin = `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;

  const c = new ProcCluster(new URL('../test/cluster/kv-server.ts', import.meta.url).pathname);
  const ids = ['n1', 'n2', 'n3'];
  try {
    await c.bootstrap(ids);
    const leader = await c.leader(ids);
    const follower = ids.find((i) => i !== leader)!;
    const origin = (id: string) => `http://127.0.0.1:${c.nodes.get(id)!.httpPort}`;
    let run = 0;
    const rows: string[] = [];
    for (const conc of CONCURRENCY) {
      const base = await load(rawOrigin, (k) => `/kv/k${k}`, conc);
      run++;
      const viaLeader = await load(origin(leader), (k) => `/kv/k${k % 100}?id=r${run}-${k}`, conc);
      run++;
      const viaFollower = await load(origin(follower), (k) => `/kv/k${k % 100}?id=f${run}-${k}`, conc);
      for (const [name, r] of [['raw node:http', base], ['muster via leader', viaLeader], ['muster via follower', viaFollower]] as const) {
        rows.push(
          `${String(conc).padStart(5)}  ${name.padEnd(20)} ${r.rps.toFixed(0).padStart(8)} req/s  p50 ${r.p50.toFixed(2).padStart(7)} ms  p99 ${r.p99.toFixed(2).padStart(7)} ms  ${(r.rps / base.rps).toFixed(3).padStart(6)}× raw${r.errors ? `  ${r.errors} errors` : ''}`,
        );
      }
    }
    console.log(`bench: ${REQUESTS} writes per row, 3 nodes on loopback, every write committed (fsync) on a majority`);
    console.log(' conc  target                  throughput        latency                        ratio');
    for (const r of rows) console.log(r);
  } finally {
    raw.close();
    await c.shutdown();
  }
}

await main();
