// Quick A/B of the write path (not part of `npm run bench`): a fresh 3-node cluster, register via
// the leader and spread at a few concurrencies, three rounds each; prints req/s and p50/p99.
// npm: node --import tsx bench/ab-register.ts [label]
import { Muster } from './muster.ts';
import { createServices, register } from './nacos.ts';
import { closePools, load, openPools } from './load.ts';

const label = process.argv[2] ?? '';
const SERVICES = Number(process.argv[3] ?? 1000);
const m = new Muster();
await m.start(['n1', 'n2', 'n3']);
const leader = await m.leader();
await createServices(m.origin(leader), 'ab', SERVICES);
let offset = 0;
for (const [name, targets] of [
  ['leader', [register(m.origin(leader), 'ab', SERVICES, false)]],
  ['spread', m.origins.map((o) => register(o, 'ab', SERVICES, false))],
] as const) {
  for (const c of [1, 16, 64, 256]) {
    // Warm-up on the pools the rounds reuse (see measure.ts).
    const pools = openPools([...targets], c);
    await load([...targets], { concurrency: c, requests: Math.max(100, c * 4), offset, maxMs: 10_000, pools });
    offset += 100_000;
    const res = [];
    for (let r = 0; r < 3; r++) {
      res.push(await load([...targets], { concurrency: c, requests: c === 1 ? 300 : c * 20, offset, maxMs: 8_000, pools }));
      offset += 100_000;
    }
    await closePools(pools);
    res.sort((a, b) => a.rps - b.rps);
    const med = res[1]!;
    console.log(`${label} ${name} c=${c}: ${med.rps.toFixed(0)} req/s p50 ${med.p50.toFixed(2)} p99 ${med.p99.toFixed(2)} errors ${med.errors}`);
  }
}
m.stop();
process.exit(0);
