// Watch latency on a running 3-node cluster: 1,000 watchers (blocking queries, SSE streams and
// Nacos UDP push targets, spread over the three nodes and over WATCH_SERVICES services) while a
// writer changes one service at a time through the leader. For every notification it records
// the time since the write was sent and since it was acknowledged (the node written to applied
// it, so it had committed), and reads each node's own commit-to-notification figures
// (GET /muster/v1/metrics: notification time − the leader's time stamped in the entry).

import { createSocket, type Socket } from 'node:dgram';
import { gunzipSync } from 'node:zlib';
import { Agent, request } from 'undici';

export interface WatchBenchOptions {
  /** host:port of each node's public port. */
  nodes: string[];
  leader: string;
  watchers: number;
  changes: number;
  /** ms between changes. */
  intervalMs: number;
}

export interface LatencyStats {
  count: number;
  p50: number | null;
  p99: number | null;
}

export interface WatchBenchResult {
  kind: 'blocking' | 'sse' | 'udp';
  watchers: number;
  sinceSent: LatencyStats;
  sinceAck: LatencyStats;
  /** The nodes' own figures (commit-to-notification), merged. */
  server: { p50: number | null; p99: number | null }[];
  missed: number;
}

const WATCH_SERVICES = 20;

function stats(xs: number[]): LatencyStats {
  if (xs.length === 0) return { count: 0, p50: null, p99: null };
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]! * 100) / 100;
  return { count: s.length, p50: q(0.5), p99: q(0.99) };
}

/** One change in flight: which service, when it was sent and acknowledged. */
interface Change {
  svc: number;
  sent: number;
  ack: number | undefined;
}

export async function watchBench(o: WatchBenchOptions): Promise<WatchBenchResult[]> {
  const agent = new Agent({ connections: 2000, keepAliveTimeout: 60_000, headersTimeout: 0, bodyTimeout: 0 });
  const svcName = (k: number) => `watch-${k}`;
  // Every service exists before anyone watches.
  for (let k = 0; k < WATCH_SERVICES; k++) {
    await request(`http://${o.leader}/nacos/v1/ns/instance?serviceName=${svcName(k)}&ip=10.9.0.1&port=1`, { method: 'POST', dispatcher: agent }).then((r) => r.body.dump());
  }
  await new Promise((r) => setTimeout(r, 500));
  const latest = new Map<number, Change>(); // by service: the last change sent
  const samples = { blocking: { sent: [] as number[], ack: [] as number[] }, sse: { sent: [] as number[], ack: [] as number[] }, udp: { sent: [] as number[], ack: [] as number[] } };
  const got = { blocking: 0, sse: 0, udp: 0 };
  const record = (kind: keyof typeof samples, svc: number) => {
    const c = latest.get(svc);
    if (!c) return;
    const now = performance.now();
    samples[kind].sent.push(now - c.sent);
    if (c.ack !== undefined) samples[kind].ack.push(Math.max(0, now - c.ack));
    got[kind]++;
  };
  let stop = false;
  const per = Math.floor(o.watchers / 3);
  const counts = { blocking: o.watchers - 2 * per, sse: per, udp: per };
  const closers: (() => void)[] = [];

  // Blocking queries: each loops on its service, passing back X-Muster-Index.
  for (let w = 0; w < counts.blocking; w++) {
    const node = o.nodes[w % o.nodes.length]!;
    const svc = w % WATCH_SERVICES;
    void (async () => {
      let index = 0;
      while (!stop) {
        try {
          const r = await request(`http://${node}/muster/v1/namespaces/public/services/DEFAULT_GROUP/${svcName(svc)}?index=${index}&wait=30s`, { dispatcher: agent });
          await r.body.dump();
          const next = Number(r.headers['x-muster-index']);
          if (index !== 0 && next > index && !stop) record('blocking', svc);
          index = next;
        } catch {
          if (!stop) await new Promise((r) => setTimeout(r, 100));
        }
      }
    })();
  }

  // SSE streams.
  for (let w = 0; w < counts.sse; w++) {
    const node = o.nodes[w % o.nodes.length]!;
    const svc = w % WATCH_SERVICES;
    const ctl = new AbortController();
    closers.push(() => ctl.abort());
    void (async () => {
      try {
        const r = await request(`http://${node}/muster/v1/watch?namespace=public&service=${svcName(svc)}`, { dispatcher: agent, signal: ctl.signal });
        let buf = '';
        for await (const chunk of r.body) {
          buf += (chunk as Buffer).toString();
          let i: number;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            if (block.includes('\nevent: instances')) record('sse', svc);
          }
        }
      } catch {
        // aborted at the end
      }
    })();
  }

  // UDP push targets: a socket each, registered by polling /instance/list with udpPort.
  const sockets: Socket[] = [];
  for (let w = 0; w < counts.udp; w++) {
    const node = o.nodes[w % o.nodes.length]!;
    const svc = w % WATCH_SERVICES;
    const s = createSocket('udp4');
    sockets.push(s);
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    s.on('message', (msg, rinfo) => {
      try {
        const text = (msg[0] === 0x1f && msg[1] === 0x8b ? gunzipSync(msg) : msg).toString();
        const p = JSON.parse(text) as { type: string; lastRefTime: number };
        s.send(JSON.stringify({ type: 'push-ack', lastRefTime: p.lastRefTime, data: '' }), rinfo.port, rinfo.address);
        if (p.type === 'dom') record('udp', svc);
      } catch {
        // not ours
      }
    });
    await request(`http://${node}/nacos/v1/ns/instance/list?serviceName=DEFAULT_GROUP@@${svcName(svc)}&udpPort=${s.address().port}&clientIP=127.0.0.1`, { dispatcher: agent }).then((r) => r.body.dump());
  }
  await new Promise((r) => setTimeout(r, 1000));

  // The writer: one change at a time, through the leader.
  for (let k = 0; k < o.changes; k++) {
    const svc = k % WATCH_SERVICES;
    const c: Change = { svc, sent: performance.now(), ack: undefined };
    latest.set(svc, c);
    const r = await request(`http://${o.leader}/nacos/v1/ns/instance?serviceName=${svcName(svc)}&ip=10.9.1.${k % 250}&port=${1000 + k}`, { method: 'POST', dispatcher: agent });
    await r.body.dump();
    c.ack = performance.now();
    await new Promise((r) => setTimeout(r, o.intervalMs));
  }
  await new Promise((r) => setTimeout(r, 1000));
  stop = true;

  const server = await Promise.all(
    o.nodes.map(async (n) => {
      const r = await request(`http://${n}/muster/v1/metrics`, { dispatcher: agent });
      return (await r.body.json()) as { watch: { commitToNotifyMs: Record<'blocking' | 'sse' | 'udp', { p50: number | null; p99: number | null }> } };
    }),
  );
  for (const c of closers) c();
  for (const s of sockets) s.close();
  await agent.destroy();
  const expected = (kind: keyof typeof counts) => Math.floor((counts[kind] / WATCH_SERVICES) * o.changes);
  return (['blocking', 'sse', 'udp'] as const).map((kind) => ({
    kind,
    watchers: counts[kind],
    sinceSent: stats(samples[kind].sent),
    sinceAck: stats(samples[kind].ack),
    server: server.map((m) => m.watch.commitToNotifyMs[kind]),
    missed: Math.max(0, expected(kind) - got[kind]),
  }));
}
