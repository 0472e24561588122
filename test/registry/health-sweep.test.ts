// Expiry of ephemeral instances through the registry app: beats over HTTP, the leader's sweep
// run by hand (health.tick()) with the monotonic clock advanced (clock.mono). Nacos' timings
// (docs/nacos/nacos-v1-instance.md §3.7): unhealthy after 15 s without beats, removed after
// 30 s, both overridable per instance in metadata. Muster's own rules (DESIGN §6): a new leader
// gives a full grace period; only the leader decides; a change names the instance's rev; beats
// never go through the log.

import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, it } from 'node:test';
import request from 'supertest';
import { decodeCommand } from '../../src/registry/datum-store.ts';
import { testRegistry, type TestRegistry } from '../support/registry-app.ts';

const S = 'DEFAULT_GROUP@@svc';
const ID = '1.1.1.1#80#DEFAULT#DEFAULT_GROUP@@svc';

let t: TestRegistry;
beforeEach(() => {
  t = testRegistry();
});
afterEach(async () => {
  await t.close();
});

async function until(pred: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await delay(5);
  }
}

/** One leader sweep, then whatever it committed is applied. */
async function tick(): Promise<void> {
  t.health.tick();
  await delay(20);
  await until(() => t.store.applied() === t.entries.length, 'the sweep batch to be applied');
}

async function advance(ms: number): Promise<void> {
  t.clock.mono += ms;
  await tick();
}

async function register(q: Record<string, string | number> = {}): Promise<void> {
  const r = await request(t.app).post('/nacos/v1/ns/instance').query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, ...q });
  assert.equal(r.text, 'ok');
}

async function lightBeat(): Promise<number> {
  const r = await request(t.app).put('/nacos/v1/ns/instance/beat').query({ serviceName: 'svc', ip: '1.1.1.1', port: 80 }).expect(200);
  return r.body.code as number;
}

const instance = () => t.registry.views.service('public', S).instances.find((i) => i.instanceId === ID);

describe('expiry of ephemeral instances', () => {
  it('goes unhealthy after 15 s without beats and is removed after 30 s', async () => {
    await register();
    await tick(); // the leader starts counting: registration is the first beat
    await advance(15_000);
    assert.equal(instance()!.healthy, true, 'exactly 15 s is not over the timeout');
    await advance(1);
    assert.equal(instance()!.healthy, false);
    const flip = decodeCommand(t.entries.at(-1)!)!;
    assert.equal(flip.type, 'health');
    assert.deepEqual(flip.changes, [{ ns: 'public', service: S, id: ID, rev: instance()!.rev, healthy: false }]);
    await advance(14_999);
    assert.ok(instance(), 'exactly 30 s is not over the delete timeout');
    await advance(1);
    assert.equal(instance(), undefined);
    // The service existed only through its instance: gone too; the beat table forgets it (it is
    // pruned every 30 sweeps).
    assert.equal(t.registry.views.service('public', S).service, undefined);
    for (let k = 0; k < 30; k++) await tick();
    assert.equal(t.health.beats.size, 0);
  });

  it('honours preserved.heart.beat.timeout and preserved.ip.delete.timeout from metadata', async () => {
    await register({ metadata: JSON.stringify({ 'preserved.heart.beat.interval': '1000', 'preserved.heart.beat.timeout': '3000', 'preserved.ip.delete.timeout': '6000' }) });
    await tick();
    await advance(3000);
    assert.equal(instance()!.healthy, true);
    await advance(1);
    assert.equal(instance()!.healthy, false);
    await advance(3000);
    assert.equal(instance(), undefined);
  });

  it('a beat brings an unhealthy instance back on the next tick', async () => {
    await register();
    await tick();
    await advance(20_000);
    assert.equal(instance()!.healthy, false);
    assert.equal(await lightBeat(), 10200);
    await tick();
    await until(() => instance()?.healthy === true, 'the flip back to healthy');
    assert.ok(instance());
  });

  it('beats keep an instance healthy and never add a log entry', async () => {
    await register();
    await tick();
    const n = t.entries.length;
    const full = JSON.stringify({ serviceName: S, ip: '1.1.1.1', port: 80, cluster: 'DEFAULT', weight: 1, metadata: {} });
    for (let k = 0; k < 30; k++) {
      t.clock.mono += 5000;
      if (k % 2 === 0) assert.equal(await lightBeat(), 10200);
      else assert.equal((await request(t.app).put('/nacos/v1/ns/instance/beat').query({ serviceName: S, beat: full }).expect(200)).body.code, 10200);
      await tick();
    }
    assert.equal(t.entries.length, n, 'no entry for 30 beats and 30 sweeps over 150 s');
    assert.equal(instance()!.healthy, true);
  });

  it('counts a registration again (a new rev) as a beat', async () => {
    await register();
    await tick();
    await advance(10_000);
    await register({ weight: 2 });
    await tick(); // the sweep that sees the new rev (every sweepMs in a node)
    await advance(10_000);
    assert.equal(instance()!.healthy, true, '10 s since the registration again');
    await advance(5_001);
    assert.equal(instance()!.healthy, false);
  });

  it('never expires a persistent instance', async () => {
    await register({ ephemeral: 'false' });
    await tick();
    await advance(120_000);
    assert.equal(instance()!.healthy, true);
  });
});

describe('leadership', () => {
  it('a node that becomes leader gives a full grace period', async () => {
    await register();
    await tick();
    t.leader.is = false;
    await tick();
    const n = t.entries.length;
    t.clock.mono += 60_000;
    t.leader.is = true;
    await tick();
    assert.equal(t.entries.length, n, 'nothing expires at the start of leadership');
    await advance(15_000);
    assert.equal(instance()!.healthy, true);
    assert.equal(t.entries.length, n);
    await advance(1);
    assert.equal(instance()!.healthy, false, '15 s after leadership began');
    await advance(15_000);
    assert.equal(instance(), undefined);
  });

  it('ticks of a node that is not the leader change nothing', async () => {
    await register();
    t.leader.is = false;
    const n = t.entries.length;
    for (let k = 0; k < 5; k++) await advance(30_000);
    assert.equal(t.entries.length, n);
    assert.equal(instance()!.healthy, true);
    assert.equal(t.health.stats.sweeps, 0);
  });
});

describe('rev guard (the health handler)', () => {
  it('skips a change naming an older rev: an instance registered again is not removed or flipped', async () => {
    await register();
    const stale = instance()!.rev;
    await register({ weight: 3 });
    const fresh = instance()!.rev;
    assert.ok(fresh > stale);
    const removal = { ns: 'public', service: S, id: ID, rev: stale };
    assert.deepEqual(await t.registry.write({ type: 'health', changes: [removal] }, 'stale-removal'), { applied: 0 });
    assert.deepEqual(await t.registry.write({ type: 'health', changes: [{ ...removal, healthy: false }] }, 'stale-flip'), { applied: 0 });
    assert.equal(instance()!.healthy, true);
    assert.equal(instance()!.weight, 3);
    // A change for an instance that is gone is skipped as well; the batch never fails whole.
    const gone = { ns: 'public', service: 'DEFAULT_GROUP@@none', id: '9.9.9.9#1#DEFAULT#DEFAULT_GROUP@@none', rev: 1 };
    assert.deepEqual(await t.registry.write({ type: 'health', changes: [gone, { ...removal, rev: fresh, healthy: false }] }, 'mixed'), { applied: 1 });
    assert.equal(instance()!.healthy, false);
    assert.deepEqual(await t.registry.write({ type: 'health', changes: [{ ...removal, rev: instance()!.rev }] }, 'current'), { applied: 1 });
    assert.equal(instance(), undefined);
  });

  it('a decision made before a registration again does not remove the new registration', async () => {
    await register();
    await tick();
    t.clock.mono += 31_000;
    // The leader decides (removal of the rev it saw), but the instance registers again before
    // the batch applies: simulate by taking the decision's rev, then registering, then committing.
    const decidedRev = instance()!.rev;
    await register();
    assert.deepEqual(await t.registry.write({ type: 'health', changes: [{ ns: 'public', service: S, id: ID, rev: decidedRev }] }, 'late'), { applied: 0 });
    assert.ok(instance());
    await tick();
    assert.ok(instance(), 'the new registration counts as a beat at the next sweep');
    assert.equal(instance()!.healthy, true);
  });
});
