import { Muster } from './muster.ts';
import { watchBench } from './watch.ts';
const m = new Muster();
await m.start(['n1', 'n2', 'n3']);
const leader = await m.leader();
const res = await watchBench({ nodes: ['n1', 'n2', 'n3'].map((id) => m.origin(id).replace('http://', '')), leader: m.origin(leader).replace('http://', ''), watchers: Number(process.argv[2] ?? 1000), changes: 100, intervalMs: 50 });
for (const r of res) console.log(r.kind, 'ack', JSON.stringify(r.sinceAck), 'sent', JSON.stringify(r.sinceSent), 'server', JSON.stringify(r.server), 'missed', r.missed);
m.stop();
process.exit(0);
