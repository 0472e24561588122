// Watching across a 3-node cluster of real processes: an SSE stream on one node sees changes
// committed through another; the official nacos client, subscribed, is pushed a change made at
// another node (UDP, acknowledged) well before its poll interval; garbage datagrams and ack
// floods do not disturb the node.

import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { ProcCluster } from '../support/processes.ts';

const req = createRequire(import.meta.url);
const namingReq = createRequire(createRequire(req.resolve('nacos')).resolve('nacos-naming'));
(namingReq('address') as { ip: () => string }).ip = () => '127.0.0.1';
const { NacosNamingClient } = req('nacos') as { NacosNamingClient: new (o: Record<string, unknown>) => NamingClient };

interface NamingClient {
  ready(): Promise<void>;
  subscribe(info: string, listener: (hosts: { port: number }[]) => void): void;
  unSubscribe(info: string): void;
  close(): Promise<void>;
}

const ids = ['n1', 'n2', 'n3'];
const cluster = new ProcCluster(new URL('../../src/main.ts', import.meta.url).pathname);
const quiet = { info() {}, debug() {}, warn() {}, error() {} };
let client: NamingClient | undefined;

async function metrics(id: string): Promise<{ push: { port: number; acks: number; ignored: number; targets: number; pushes: number }; watch: { commitToNotifyMs: { udp: { count: number } } } }> {
  return (await (await fetch(cluster.url(id, '/muster/v1/metrics'))).json()) as never;
}

async function register(id: string, service: string, port: number): Promise<void> {
  const r = await fetch(cluster.url(id, `/nacos/v1/ns/instance?serviceName=${service}&ip=127.0.0.1&port=${port}`), { method: 'POST' });
  assert.equal(await r.text(), 'ok');
}

before(async () => {
  await cluster.bootstrap(ids);
  await cluster.leader(ids);
});

after(async () => {
  await client?.close().catch(() => {});
  await cluster.shutdown();
});

describe('watching on a cluster', () => {
  it('a change committed through node n1 is seen by an SSE stream on node n3', async () => {
    const ctl = new AbortController();
    const res = await fetch(cluster.url('n3', '/muster/v1/watch?namespace=public&service=sse-x'), { signal: ctl.signal });
    const dec = new TextDecoder();
    let text = '';
    const got = (async () => {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        text += dec.decode(chunk, { stream: true });
        if (text.includes('event: instances')) return;
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    await register('n1', 'sse-x', 5001);
    await Promise.race([got, new Promise((_, rej) => setTimeout(() => rej(new Error(`no event at n3: ${text}`)), 5000))]);
    ctl.abort();
    assert.match(text, /id: \d+\nevent: instances\ndata: \{"namespace":"public","group":"DEFAULT_GROUP","name":"sse-x"/);
  });

  it('the subscribed nacos client is pushed a change made at another node within a second, and acks it', async () => {
    client = new NacosNamingClient({ logger: quiet, serverList: `127.0.0.1:${cluster.nodes.get('n2')!.httpPort}` });
    await client.ready();
    await register('n1', 'pushed', 6001);
    const seen: { at: number; ports: number[] }[] = [];
    client.subscribe('pushed', (hosts) => seen.push({ at: Date.now(), ports: hosts.map((h) => h.port).sort() }));
    // Its first poll registers n2's push target.
    await cluster.until('subscribed', async () => ((await metrics('n2')).push.targets > 0 && seen.length > 0 ? true : undefined), 10_000);
    const t0 = Date.now();
    await register('n3', 'pushed', 6002);
    const hit = await cluster.until('listener fired with both instances', async () => seen.find((s) => s.ports.length === 2), 5000);
    assert.ok(hit.at - t0 < 1000, `listener fired ${hit.at - t0} ms after the write (poll interval is 10 s)`);
    await cluster.until('ack recorded', async () => ((await metrics('n2')).push.acks > 0 ? true : undefined), 3000);
    const m = await metrics('n2');
    assert.ok(m.push.pushes >= 1);
    assert.ok(m.watch.commitToNotifyMs.udp.count >= 1);
    client.unSubscribe('pushed');
  });

  it('garbage datagrams and ack floods do not disturb the node', async () => {
    const { push } = await metrics('n2');
    const s = createSocket('udp4');
    const before = push.ignored;
    for (let k = 0; k < 2000; k++) {
      const payload = k % 3 === 0 ? Buffer.from([0xff, 0x00, k & 255]) : k % 3 === 1 ? Buffer.from('{"type":"push-ack","lastRefTime":12345,"data":""}') : Buffer.from('{"type":"dom"');
      s.send(payload, push.port, '127.0.0.1');
    }
    await new Promise((r) => setTimeout(r, 500));
    s.close();
    const after = await metrics('n2');
    assert.ok(after.push.ignored > before, 'datagrams counted as ignored');
    const h = await cluster.health('n2');
    assert.equal(h?.status, 200);
    await register('n2', 'still-fine', 7001);
  });
});
