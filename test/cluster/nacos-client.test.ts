// The official Node.js Nacos client (npm `nacos`) against a 3-node Muster cluster of real
// processes on loopback. The client reports its machine's first non-loopback address as
// clientIP; it is pinned to 127.0.0.1 before the client loads, so nothing leaves loopback.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ProcCluster } from '../support/processes.ts';

const req = createRequire(import.meta.url);
const namingReq = createRequire(createRequire(req.resolve('nacos')).resolve('nacos-naming'));
(namingReq('address') as { ip: () => string }).ip = () => '127.0.0.1';
const { NacosNamingClient } = req('nacos') as { NacosNamingClient: new (o: Record<string, unknown>) => NamingClient };

interface Host {
  ip: string;
  port: number;
  healthy: boolean;
  enabled: boolean;
  weight: number;
  clusterName: string;
  metadata: Record<string, string>;
}
interface NamingClient {
  ready(): Promise<void>;
  registerInstance(service: string, i: Record<string, unknown>, group?: string): Promise<void>;
  deregisterInstance(service: string, i: Record<string, unknown>, group?: string): Promise<void>;
  getAllInstances(service: string, group?: string, clusters?: string, subscribe?: boolean): Promise<Host[]>;
  selectInstances(service: string, group?: string, clusters?: string, healthy?: boolean, subscribe?: boolean): Promise<Host[]>;
  subscribe(info: string | { serviceName: string; groupName?: string; clusters?: string }, listener: (hosts: Host[]) => void): void;
  unSubscribe(info: string | { serviceName: string; groupName?: string; clusters?: string }, listener?: (hosts: Host[]) => void): void;
  getServerStatus(): Promise<string>;
  close(): Promise<void>;
}

const quiet = { info() {}, debug() {}, warn() {}, error() {} };
const ids = ['n1', 'n2', 'n3'];
const cluster = new ProcCluster(new URL('../../src/main.ts', import.meta.url).pathname);
const clients: NamingClient[] = [];

function client(nodes: string[]): NamingClient {
  const c = new NacosNamingClient({ logger: quiet, serverList: nodes.map((id) => `127.0.0.1:${cluster.nodes.get(id)!.httpPort}`).join(',') });
  clients.push(c);
  return c;
}

async function list(id: string, service: string, group = 'DEFAULT_GROUP'): Promise<{ hosts: Host[] }> {
  const r = await fetch(cluster.url(id, `/nacos/v1/ns/instance/list?serviceName=${group}@@${service}`));
  return (await r.json()) as { hosts: Host[] };
}

before(async () => {
  // Short health rounds so the test does not wait for the production defaults.
  const conf = join(cluster.dir, 'test.json');
  writeFileSync(conf, JSON.stringify({ registry: { sweepMs: 200, beatDigestMs: 200, checkIntervalMs: 300, checkTimeoutMs: 200, checkFailures: 1 } }));
  await cluster.bootstrap(ids, ['--config', conf]);
  await cluster.leader(ids);
});

after(async () => {
  for (const c of clients) await c.close().catch(() => {});
  await cluster.shutdown();
});

describe('the official nacos client against a 3-node cluster', () => {
  it('registers at one node; every node lists it; groups, clusters and metadata round-trip; deregister removes it', async () => {
    const c1 = client(['n1']);
    await c1.ready();
    await c1.registerInstance('orders', { ip: '127.0.0.1', port: 9001, clusterName: 'east', metadata: { zone: 'a' }, weight: 2 }, 'shop');
    await c1.registerInstance('orders', { ip: '127.0.0.1', port: 9002, clusterName: 'west' }, 'shop');
    for (const id of ['n2', 'n3']) {
      const c = client([id]);
      const all = await cluster.until(`orders at ${id}`, async () => {
        const h = await c.getAllInstances('orders', 'shop', '', false);
        return h.length === 2 ? h : undefined;
      });
      const east = all.find((h) => h.port === 9001)!;
      assert.equal(east.clusterName, 'east');
      assert.deepEqual(east.metadata, { zone: 'a' });
      assert.equal(east.weight, 2);
      const onlyWest = await c.selectInstances('orders', 'shop', 'west', true, false);
      assert.deepEqual(onlyWest.map((h) => h.port), [9002]);
    }
    await c1.deregisterInstance('orders', { ip: '127.0.0.1', port: 9002, clusterName: 'west' }, 'shop');
    await cluster.until('deregistered everywhere', async () => {
      for (const id of ids) if ((await list(id, 'orders', 'shop')).hosts.length !== 1) return undefined;
      return true;
    });
    assert.equal(await c1.getServerStatus(), 'UP');
  });

  it('subscribe sees a change made at another node (by polling)', async () => {
    const watcher = client(['n3']);
    const seen: number[][] = [];
    watcher.subscribe('feed', (hosts) => seen.push(hosts.map((h) => h.port).sort()));
    const writer = client(['n1']);
    await writer.registerInstance('feed', { ip: '127.0.0.1', port: 9101 });
    await cluster.until('listener saw 9101', async () => (seen.some((s) => s.includes(9101)) ? true : undefined));
    await writer.registerInstance('feed', { ip: '127.0.0.1', port: 9102 });
    await cluster.until('listener saw 9101 and 9102', async () => (seen.some((s) => s.length === 2) ? true : undefined));
    watcher.unSubscribe('feed');
  });

  it('an instance that stops beating goes unhealthy, then disappears (timeouts shortened in its metadata)', async () => {
    // Registered over HTTP, so nothing ever beats for it.
    const md = encodeURIComponent(JSON.stringify({ 'preserved.heart.beat.interval': '500', 'preserved.heart.beat.timeout': '1500', 'preserved.ip.delete.timeout': '3500' }));
    const r = await fetch(cluster.url('n2', `/nacos/v1/ns/instance?serviceName=silent&ip=127.0.0.1&port=9201&metadata=${md}`), { method: 'POST' });
    assert.equal(await r.text(), 'ok');
    const c = client(['n3']);
    await cluster.until('unhealthy', async () => {
      const h = await c.getAllInstances('silent', 'DEFAULT_GROUP', '', false);
      return h.length === 1 && h[0]!.healthy === false ? true : undefined;
    });
    await cluster.until('removed', async () => ((await list('n3', 'silent')).hosts.length === 0 ? true : undefined));
  });

  it("the client's beats keep its instance healthy, through a leader kill, with nothing falsely expired", async () => {
    const c = client(ids);
    // Short interval in metadata: the server's beat answer tells the client to beat every 1 s.
    await c.registerInstance('alive', { ip: '127.0.0.1', port: 9301, metadata: { 'preserved.heart.beat.interval': '1000', 'preserved.heart.beat.timeout': '6000', 'preserved.ip.delete.timeout': '12000' } });
    // The client's first beat may come up to 10 s after it was created; after that it beats every second.
    await new Promise((r) => setTimeout(r, 12_000));
    for (const id of ids) assert.equal((await list(id, 'alive')).hosts[0]?.healthy, true, `healthy at ${id}`);
    const leader = await cluster.leader(ids);
    await cluster.kill(leader);
    const rest = ids.filter((id) => id !== leader);
    await cluster.leader(rest);
    // Past the instance's timeout and more: it stays registered and healthy on the survivors.
    const end = Date.now() + 8000;
    while (Date.now() < end) {
      for (const id of rest) {
        const h = (await list(id, 'alive')).hosts;
        assert.equal(h.length, 1, `still registered at ${id}`);
        assert.equal(h[0]!.healthy, true, `still healthy at ${id}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    // The client keeps working against the remaining nodes.
    await c.registerInstance('after-failover', { ip: '127.0.0.1', port: 9302 });
    const got = await cluster.until('after-failover listed', async () => {
      const h = await c.getAllInstances('after-failover', 'DEFAULT_GROUP', '', false);
      return h.length === 1 ? h : undefined;
    });
    assert.equal(got[0]!.port, 9302);
  });
});
