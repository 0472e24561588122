// Health over a 3-node cluster of real processes: beats only in memory (followers' digests reach
// the leader, no beat becomes a log entry), the leader's checks of persistent instances across a
// leader change, and a restart of every node.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, ProcCluster } from '../support/processes.ts';

const ids = ['n1', 'n2', 'n3'];
const cluster = new ProcCluster(new URL('../../src/main.ts', import.meta.url).pathname);
let peers = '';
let conf = '';

interface Host {
  ip: string;
  port: number;
  healthy: boolean;
  ephemeral: boolean;
}

async function hosts(id: string, service: string): Promise<Host[]> {
  const r = await fetch(cluster.url(id, `/nacos/v1/ns/instance/list?serviceName=${service}`), { signal: AbortSignal.timeout(2000) });
  return ((await r.json()) as { hosts: Host[] }).hosts;
}

async function post(id: string, path: string): Promise<string> {
  const r = await fetch(cluster.url(id, path), { method: 'POST' });
  return r.text();
}

async function beat(id: string, service: string, port: number): Promise<number> {
  const r = await fetch(cluster.url(id, `/nacos/v1/ns/instance/beat?serviceName=DEFAULT_GROUP@@${service}&ip=127.0.0.1&port=${port}`), { method: 'PUT' });
  return ((await r.json()) as { code: number }).code;
}

async function commitIndex(id: string): Promise<number> {
  return (await cluster.health(id))!.body.commitIndex as number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const short = encodeURIComponent(JSON.stringify({ 'preserved.heart.beat.interval': '300', 'preserved.heart.beat.timeout': '1500', 'preserved.ip.delete.timeout': '60000' }));

before(async () => {
  conf = join(cluster.dir, 'test.json');
  writeFileSync(conf, JSON.stringify({ registry: { sweepMs: 100, beatDigestMs: 200, checkIntervalMs: 300, checkTimeoutMs: 200, checkFailures: 1 } }));
  peers = await cluster.bootstrap(ids, ['--config', conf]);
  await cluster.leader(ids);
});

after(() => cluster.shutdown());

describe('registry health on a cluster', () => {
  it('beats that only ever reach a follower keep the instance alive (digests), and stop → unhealthy', async () => {
    const leader = await cluster.leader(ids);
    const follower = ids.find((id) => id !== leader)!;
    assert.equal(await post(follower, `/nacos/v1/ns/instance?serviceName=via-follower&ip=127.0.0.1&port=7001&metadata=${short}`), 'ok');
    const end = Date.now() + 4000; // well past the 1.5 s timeout
    while (Date.now() < end) {
      assert.equal(await beat(follower, 'via-follower', 7001), 10200);
      await sleep(250);
      for (const id of ids) assert.equal((await hosts(id, 'via-follower'))[0]?.healthy, true, `healthy at ${id} while beating a follower`);
    }
    await cluster.until('unhealthy once the beats stop', async () => ((await hosts(leader, 'via-follower'))[0]?.healthy === false ? true : undefined), 10_000);
    // One beat at the follower brings it back.
    await beat(follower, 'via-follower', 7001);
    await cluster.until('healthy again after a beat', async () => ((await hosts(follower, 'via-follower'))[0]?.healthy === true ? true : undefined), 5000);
    // Gone, so that no later flip of it writes the log while the next test counts entries.
    const r = await fetch(cluster.url(follower, '/nacos/v1/ns/instance?serviceName=via-follower&ip=127.0.0.1&port=7001'), { method: 'DELETE' });
    assert.equal(await r.text(), 'ok');
  });

  it('no beat ever becomes a log entry', async () => {
    assert.equal(await post('n1', `/nacos/v1/ns/instance?serviceName=quiet&ip=127.0.0.1&port=7101`), 'ok');
    await cluster.until('applied everywhere', async () => {
      for (const id of ids) if ((await hosts(id, 'quiet')).length !== 1) return undefined;
      return true;
    });
    await sleep(500); // let any health flip settle
    const before = await Promise.all(ids.map(commitIndex));
    for (let k = 0; k < 60; k++) assert.equal(await beat(ids[k % 3]!, 'quiet', 7101), 10200);
    await sleep(1000); // digests flow to the leader
    const after = await Promise.all(ids.map(commitIndex));
    assert.deepEqual(after, before, '60 beats at every node, digests included, added no entry to the log');
  });

  it('the leader checks persistent instances: a closed port → unhealthy, reopened → healthy, across a leader change', async () => {
    const port = await freePort();
    let server: Server | undefined = createServer((s) => s.end());
    await new Promise<void>((r) => server!.listen(port, '127.0.0.1', () => r()));
    assert.equal(await post('n2', `/nacos/v1/ns/instance?serviceName=db&ip=127.0.0.1&port=${port}&ephemeral=false`), 'ok');
    await sleep(1500);
    for (const id of ids) assert.equal((await hosts(id, 'db'))[0]?.healthy, true, 'listening: healthy');
    await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;
    await cluster.until('closed port → unhealthy', async () => ((await hosts('n3', 'db'))[0]?.healthy === false ? true : undefined), 10_000);
    // A new leader keeps checking.
    const leader = await cluster.leader(ids);
    await cluster.kill(leader, 'SIGTERM');
    const rest = ids.filter((id) => id !== leader);
    await cluster.leader(rest);
    server = createServer((s) => s.end());
    await new Promise<void>((r) => server!.listen(port, '127.0.0.1', () => r()));
    await cluster.until('reopened → healthy (new leader checks)', async () => ((await hosts(rest[0]!, 'db'))[0]?.healthy === true ? true : undefined), 10_000);
    await new Promise<void>((r) => server!.close(() => r()));
    // Restart the stopped node for the next test.
    cluster.start(leader, { MUSTER_PEERS: peers }, ['--config', conf]);
    await cluster.until(`${leader} back`, async () => ((await cluster.health(leader))?.status === 200 ? true : undefined));
  });

  it('a restart of every node loses no persistent instance and no ephemeral instance still beating', async () => {
    assert.equal(await post('n1', `/nacos/v1/ns/instance?serviceName=keep-p&ip=127.0.0.1&port=7301&ephemeral=false`), 'ok');
    assert.equal(await post('n1', `/nacos/v1/ns/instance?serviceName=keep-e&ip=127.0.0.1&port=7302`), 'ok');
    for (const id of ids) await cluster.kill(id, 'SIGKILL');
    for (const id of ids) cluster.start(id, { MUSTER_PEERS: peers }, ['--config', conf]);
    await cluster.leader(ids);
    // Keep beating the ephemeral one (default timeouts: 15 s) at rotating nodes.
    const end = Date.now() + 3000;
    let k = 0;
    while (Date.now() < end) {
      await beat(ids[k++ % 3]!, 'keep-e', 7302).catch(() => 0);
      await sleep(300);
    }
    for (const id of ids) {
      await cluster.until(`${id} serves`, async () => ((await cluster.health(id))?.status === 200 ? true : undefined));
      assert.equal((await hosts(id, 'keep-p')).length, 1, `persistent instance at ${id}`);
      const e = await hosts(id, 'keep-e');
      assert.equal(e.length, 1, `beating ephemeral instance at ${id}`);
      assert.equal(e[0]!.healthy, true);
    }
  });
});
