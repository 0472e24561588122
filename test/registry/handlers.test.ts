// Example-based tests of the registry's command handlers, called as the pure functions they are:
// (command, read, index) → writes and result, or a DatumCommandError. A small in-memory harness
// applies the writes as DatumStore does (revision = index, time = the command's time) and keeps
// every datum deep-frozen, so a handler that mutated what it read would throw here.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InstanceInput, RegistryCommand } from '../../src/registry/commands.ts';
import { RegistryRejection } from '../../src/registry/commands.ts';
import { type Command, type Datum, DatumCommandError, type DatumWrite } from '../../src/registry/datum-store.ts';
import { registryHandlers } from '../../src/registry/handlers.ts';
import { defaultService, type InstanceRecord, type InstancesValue, type ServiceRecord } from '../../src/registry/model.ts';
import { instancesKey, serviceKey } from '../../src/registry/names.ts';
import { texts } from '../../src/registry/texts.ts';

type Outcome = { ok: true; result: unknown; writes: DatumWrite[] } | { ok: false; code: string; message: string };

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

const NS = 'public';
const S1 = 'DEFAULT_GROUP@@s1';
const S2 = 'DEFAULT_GROUP@@s2';

class Registry {
  readonly datums = new Map<string, Datum>();
  index = 0;

  run(cmd: RegistryCommand): Outcome {
    const index = ++this.index;
    const full = { ...cmd, requestId: `r${index}`, time: 1000 + index } as unknown as Command;
    const handler = registryHandlers[cmd.type];
    assert.ok(handler, `no handler for ${cmd.type}`);
    let out;
    try {
      out = handler(full, (key) => this.datums.get(key), index);
    } catch (err) {
      if (err instanceof DatumCommandError) return { ok: false, code: err.code, message: err.message };
      throw err;
    }
    for (const w of out.writes) {
      if ('delete' in w) this.datums.delete(w.key);
      else this.datums.set(w.key, deepFreeze(structuredClone({ key: w.key, value: w.value, revision: index, time: full.time })));
    }
    return { ok: true, result: out.result, writes: out.writes };
  }

  /** Runs `cmd` and expects it to succeed; returns its result. */
  ok(cmd: RegistryCommand): unknown {
    const o = this.run(cmd);
    assert.ok(o.ok, `${cmd.type} refused: ${o.ok ? '' : `${o.code} ${o.message}`}`);
    return o.result;
  }

  /** Runs `cmd`, expects the rejection `code` with `message`, and that nothing changed. */
  refused(cmd: RegistryCommand, code: string, message: string): void {
    const before = structuredClone([...this.datums]);
    const o = this.run(cmd);
    assert.deepEqual(o.ok ? { ok: true, result: o.result } : { code: o.code, message: o.message }, { code, message });
    assert.deepEqual([...this.datums], before, 'a rejection changed datums');
  }

  service(service = S1, ns = NS): ServiceRecord | undefined {
    return this.datums.get(serviceKey(ns, service))?.value as ServiceRecord | undefined;
  }
  instances(service = S1, ns = NS): InstanceRecord[] | undefined {
    return (this.datums.get(instancesKey(ns, service))?.value as InstancesValue | undefined)?.instances;
  }
  addresses(service = S1, ns = NS): string[] {
    return (this.instances(service, ns) ?? []).map((i) => `${i.ip}:${i.port}@${i.clusterName}`);
  }
  keys(): string[] {
    return [...this.datums.keys()].sort();
  }
}

function inst(over: Partial<InstanceInput> = {}): InstanceInput {
  return { ip: '10.0.0.1', port: 8080, weight: 1, healthy: true, enabled: true, ephemeral: true, clusterName: 'DEFAULT', metadata: {}, ...over };
}
const register = (i: Partial<InstanceInput> = {}, service = S1, ns = NS): RegistryCommand => ({ type: 'register', ns, service, instance: inst(i) });
const deregister = (ip: string, port: number, cluster = 'DEFAULT', ephemeral?: boolean, service = S1): RegistryCommand =>
  ephemeral === undefined ? { type: 'deregister', ns: NS, service, ip, port, cluster } : { type: 'deregister', ns: NS, service, ip, port, cluster, ephemeral };
const serviceCreate = (ephemeral: boolean, service = S1): RegistryCommand => ({ type: 'serviceCreate', ns: NS, service, ephemeral, protectThreshold: 0.5, metadata: { owner: 'team' }, selector: { type: 'none' } });
const noneChecker = (cluster = 'DEFAULT', service = S1): RegistryCommand => ({ type: 'clusterUpdate', ns: NS, service, cluster, healthChecker: { type: 'NONE' }, checkPort: 80, useInstancePort4Check: true, metadata: {} });
const idOf = (ip: string, port: number, cluster = 'DEFAULT', service = S1) => `${ip}#${port}#${cluster}#${service}`;

describe('register', () => {
  it('creates the service (not explicit, default settings) with its first instance; the instance rev is the index', () => {
    const r = new Registry();
    assert.deepEqual(r.ok(register({ metadata: { a: '1' } })), { id: idOf('10.0.0.1', 8080) });
    assert.deepEqual(r.service(), defaultService(true));
    assert.equal(r.service()!.explicit, false);
    assert.deepEqual(r.instances(), [{ ip: '10.0.0.1', port: 8080, weight: 1, healthy: true, enabled: true, ephemeral: true, clusterName: 'DEFAULT', metadata: { a: '1' }, rev: 1 }]);
    assert.equal(r.datums.get(instancesKey(NS, S1))!.revision, 1);
  });

  it('registering the same ip:port again replaces it, in any cluster', () => {
    const r = new Registry();
    r.ok(register({ clusterName: 'DEFAULT', weight: 1 }));
    r.ok(register({ clusterName: 'c1', weight: 7, metadata: { k: 'v' } }));
    assert.deepEqual(r.addresses(), ['10.0.0.1:8080@c1']);
    assert.equal(r.instances()![0]!.weight, 7);
    assert.equal(r.instances()![0]!.rev, 2, 'a new registration takes the new index as rev');
    // Same cluster again: still one instance.
    r.ok(register({ clusterName: 'c1', weight: 3 }));
    assert.equal(r.instances()!.length, 1);
    assert.equal(r.instances()![0]!.rev, 3);
  });

  it('another port or ip is another instance; the list stays sorted by instance id', () => {
    const r = new Registry();
    r.ok(register({ ip: '10.0.0.2', port: 8080 }));
    r.ok(register({ ip: '10.0.0.1', port: 8081, clusterName: 'c1' }));
    r.ok(register({ ip: '10.0.0.1', port: 8080 }));
    assert.deepEqual(r.addresses(), ['10.0.0.1:8080@DEFAULT', '10.0.0.1:8081@c1', '10.0.0.2:8080@DEFAULT']);
  });

  it('an ephemeral instance into a persistent service: EPHEMERAL_MISMATCH with Nacos\' text', () => {
    const r = new Registry();
    r.ok(register({ ephemeral: false }));
    r.refused(register({ ip: '10.0.0.2', ephemeral: true }), RegistryRejection.EPHEMERAL_MISMATCH, "errCode: 400, errMsg: Current service DEFAULT_GROUP@@s1 is persistent service, can't register ephemeral instance. ");
    assert.equal(texts.persistentServiceNoEphemeral(S1), "errCode: 400, errMsg: Current service DEFAULT_GROUP@@s1 is persistent service, can't register ephemeral instance. ");
  });

  it('a persistent instance into an ephemeral service: EPHEMERAL_MISMATCH with Nacos\' text', () => {
    const r = new Registry();
    r.ok(serviceCreate(true));
    r.refused(register({ ephemeral: false }), RegistryRejection.EPHEMERAL_MISMATCH, texts.ephemeralServiceNoPersistent(S1));
    assert.equal(texts.ephemeralServiceNoPersistent(S1), "errCode: 400, errMsg: Current service DEFAULT_GROUP@@s1 is ephemeral service, can't register persistent instance. ");
    // Not even the same ip:port of the right kind is replaced by a refused registration.
    r.ok(register({ ephemeral: true }));
    r.refused(register({ ephemeral: false, weight: 9 }), RegistryRejection.EPHEMERAL_MISMATCH, texts.ephemeralServiceNoPersistent(S1));
    assert.equal(r.instances()![0]!.weight, 1);
  });

  it('services are separate by namespace and name', () => {
    const r = new Registry();
    r.ok(register({ ephemeral: false }, S1, 'ns1'));
    r.ok(register({ ephemeral: true }, S1));
    r.ok(register({ ephemeral: true }, S2));
    assert.equal(r.keys().length, 6);
    assert.equal(r.service(S1, 'ns1')!.ephemeral, false);
  });
});

describe('deregister', () => {
  it('an absent instance (or service) is a successful no-op: no writes', () => {
    const r = new Registry();
    const o = r.run(deregister('10.0.0.1', 8080));
    assert.deepEqual(o, { ok: true, result: { removed: 0 }, writes: [] });
    r.ok(register());
    const o2 = r.run(deregister('10.0.0.1', 9999));
    assert.deepEqual(o2, { ok: true, result: { removed: 0 }, writes: [] });
    assert.deepEqual(r.addresses(), ['10.0.0.1:8080@DEFAULT']);
  });

  it('ignores the cluster: ip:port goes whatever cluster it is in', () => {
    const r = new Registry();
    r.ok(register({ clusterName: 'c1' }));
    r.ok(register({ ip: '10.0.0.2', clusterName: 'c1' }));
    assert.deepEqual(r.ok(deregister('10.0.0.1', 8080, 'DEFAULT')), { removed: 1 });
    assert.deepEqual(r.addresses(), ['10.0.0.2:8080@c1']);
  });

  it('with a kind, only an instance of that kind goes', () => {
    const r = new Registry();
    r.ok(register({ ephemeral: true }));
    assert.deepEqual(r.run(deregister('10.0.0.1', 8080, 'DEFAULT', false)), { ok: true, result: { removed: 0 }, writes: [] });
    assert.deepEqual(r.ok(deregister('10.0.0.1', 8080, 'DEFAULT', true)), { removed: 1 });
  });

  it('the last instance of an auto-created service takes the service datum with it', () => {
    const r = new Registry();
    r.ok(register());
    r.ok(register({ ip: '10.0.0.2' }));
    r.ok(deregister('10.0.0.1', 8080));
    assert.ok(r.service(), 'not the last one: the service stays');
    r.ok(deregister('10.0.0.2', 8080));
    assert.deepEqual(r.keys(), []);
  });

  it('the last instance of an explicit service (created or updated through the service API) leaves the service', () => {
    const r = new Registry();
    r.ok(serviceCreate(true));
    r.ok(register());
    r.ok(deregister('10.0.0.1', 8080));
    assert.deepEqual(r.keys(), [serviceKey(NS, S1)]);
    assert.equal(r.service()!.protectThreshold, 0.5);
    // Auto-created, then made explicit by serviceUpdate.
    r.ok(register({}, S2));
    r.ok({ type: 'serviceUpdate', ns: NS, service: S2, protectThreshold: 0.2 });
    r.ok(deregister('10.0.0.1', 8080, 'DEFAULT', undefined, S2));
    assert.equal(r.service(S2)!.explicit, true);
    assert.equal(r.instances(S2), undefined);
  });
});

describe('update and patch', () => {
  it('update of an absent service: NO_SERVICE_FOR_INSTANCE with Nacos\' text', () => {
    const r = new Registry();
    r.refused(
      { type: 'update', ns: NS, service: S1, instance: inst(), mergeMetadata: false },
      RegistryRejection.NO_SERVICE_FOR_INSTANCE,
      "service not found, namespace: public, service: Service{namespace='public', group='DEFAULT_GROUP', name='s1', ephemeral=true, revision=0}",
    );
  });

  it('update of an absent instance (the id includes the cluster): INSTANCE_NOT_FOUND', () => {
    const r = new Registry();
    r.ok(register());
    r.refused({ type: 'update', ns: NS, service: S1, instance: inst({ clusterName: 'c1' }), mergeMetadata: false }, RegistryRejection.INSTANCE_NOT_FOUND, 'instance not exist: 10.0.0.1#8080#c1#DEFAULT_GROUP@@s1');
  });

  it('update replaces weight, enabled and metadata (merged when asked); keeps health, kind and rev', () => {
    const r = new Registry();
    r.ok(register({ ephemeral: false, healthy: false, metadata: { a: '1', b: '2' } }));
    r.ok({ type: 'update', ns: NS, service: S1, instance: inst({ ephemeral: true, healthy: true, weight: 5, enabled: false, metadata: { b: '3' } }), mergeMetadata: true });
    assert.deepEqual(r.instances(), [{ ip: '10.0.0.1', port: 8080, weight: 5, healthy: false, enabled: false, ephemeral: false, clusterName: 'DEFAULT', metadata: { a: '1', b: '3' }, rev: 1 }]);
    r.ok({ type: 'update', ns: NS, service: S1, instance: inst({ weight: 6, metadata: { c: '4' } }), mergeMetadata: false });
    assert.deepEqual(r.instances()![0]!.metadata, { c: '4' });
    assert.equal(r.instances()![0]!.rev, 1);
    assert.equal(r.datums.get(instancesKey(NS, S1))!.revision, 3, 'the datum itself has the new revision');
  });

  it('patch changes only the fields given (metadata merged), never health; keeps the rev', () => {
    const r = new Registry();
    r.ok(register({ healthy: false, weight: 2, metadata: { a: '1' } }));
    r.ok({ type: 'patch', ns: NS, service: S1, ip: '10.0.0.1', port: 8080, cluster: 'DEFAULT', metadata: { b: '2' } });
    r.ok({ type: 'patch', ns: NS, service: S1, ip: '10.0.0.1', port: 8080, cluster: 'DEFAULT', enabled: false });
    assert.deepEqual(r.instances(), [{ ip: '10.0.0.1', port: 8080, weight: 2, healthy: false, enabled: false, ephemeral: true, clusterName: 'DEFAULT', metadata: { a: '1', b: '2' }, rev: 1 }]);
  });

  it('patch of an absent instance or service: INSTANCE_NOT_FOUND', () => {
    const r = new Registry();
    r.refused({ type: 'patch', ns: NS, service: S1, ip: '10.0.0.1', port: 8080, cluster: 'DEFAULT', weight: 3 }, RegistryRejection.INSTANCE_NOT_FOUND, texts.instanceNotFound(idOf('10.0.0.1', 8080)));
    r.ok(register());
    r.refused({ type: 'patch', ns: NS, service: S1, ip: '10.0.0.1', port: 8080, cluster: 'c1', weight: 3 }, RegistryRejection.INSTANCE_NOT_FOUND, 'instance not exist: 10.0.0.1#8080#c1#DEFAULT_GROUP@@s1');
  });
});

describe('services and clusters', () => {
  it('serviceCreate makes an explicit service with its settings', () => {
    const r = new Registry();
    assert.equal(r.ok(serviceCreate(false)), null);
    assert.deepEqual(r.service(), { ...defaultService(false), protectThreshold: 0.5, metadata: { owner: 'team' }, selector: { type: 'none' }, explicit: true });
    assert.equal(r.instances(), undefined);
  });

  it('serviceCreate refuses a service that exists, explicit or auto-created: SERVICE_EXISTS', () => {
    const r = new Registry();
    r.ok(serviceCreate(true));
    r.refused(serviceCreate(false), RegistryRejection.SERVICE_EXISTS, 'specified service DEFAULT_GROUP@@s1 already exists!');
    r.ok(register({}, S2));
    r.refused(serviceCreate(true, S2), RegistryRejection.SERVICE_EXISTS, texts.serviceExists(S2));
  });

  it('serviceUpdate changes what is given, makes the service explicit, keeps kind and clusters; an absent one is SERVICE_NOT_FOUND', () => {
    const r = new Registry();
    r.refused({ type: 'serviceUpdate', ns: NS, service: S1, protectThreshold: 0.1 }, RegistryRejection.SERVICE_NOT_FOUND, 'service DEFAULT_GROUP@@s1 not found!');
    r.ok(register({ ephemeral: false }));
    r.ok(noneChecker());
    r.ok({ type: 'serviceUpdate', ns: NS, service: S1, metadata: { x: 'y' } });
    const s = r.service()!;
    assert.equal(s.explicit, true);
    assert.equal(s.ephemeral, false);
    assert.equal(s.protectThreshold, 0);
    assert.deepEqual(s.metadata, { x: 'y' });
    assert.equal(s.clusters.DEFAULT!.healthChecker.type, 'NONE');
  });

  it('serviceDelete refuses a service with instances (SERVICE_NOT_EMPTY) and an absent one (SERVICE_NOT_FOUND); deletes an empty one', () => {
    const r = new Registry();
    r.refused({ type: 'serviceDelete', ns: NS, service: S1 }, RegistryRejection.SERVICE_NOT_FOUND, texts.serviceNotFound(S1));
    r.ok(serviceCreate(true));
    r.ok(register());
    r.refused({ type: 'serviceDelete', ns: NS, service: S1 }, RegistryRejection.SERVICE_NOT_EMPTY, "Service DEFAULT_GROUP@@s1 is not empty, can't be delete. Please unregister instance first");
    r.ok(deregister('10.0.0.1', 8080));
    assert.equal(r.ok({ type: 'serviceDelete', ns: NS, service: S1 }), null);
    assert.deepEqual(r.keys(), []);
  });

  it('clusterUpdate sets one cluster and keeps the others; an absent service is SERVICE_NOT_FOUND with the cluster text', () => {
    const r = new Registry();
    r.refused(noneChecker(), RegistryRejection.SERVICE_NOT_FOUND, 'service not found:DEFAULT_GROUP@@s1');
    r.ok(serviceCreate(false));
    r.ok(noneChecker('c1'));
    r.ok({ type: 'clusterUpdate', ns: NS, service: S1, cluster: 'DEFAULT', healthChecker: { type: 'HTTP', path: '/h', headers: '', expectedResponseCode: 200 }, checkPort: 81, useInstancePort4Check: false, metadata: { m: 'n' } });
    const s = r.service()!;
    assert.deepEqual(Object.keys(s.clusters).sort(), ['DEFAULT', 'c1']);
    assert.equal(s.clusters.c1!.healthChecker.type, 'NONE');
    assert.deepEqual(s.clusters.DEFAULT, { healthChecker: { type: 'HTTP', path: '/h', headers: '', expectedResponseCode: 200 }, checkPort: 81, useInstancePort4Check: false, metadata: { m: 'n' } });
  });
});

describe('health (the leader\'s batch)', () => {
  it('flips an instance at the rev the leader saw; keeps its rev; skips one whose rev differs or that is gone', () => {
    const r = new Registry();
    r.ok(register()); // rev 1
    r.ok(register({ ip: '10.0.0.2' })); // rev 2
    assert.deepEqual(
      r.ok({
        type: 'health',
        changes: [
          { ns: NS, service: S1, id: idOf('10.0.0.1', 8080), rev: 1, healthy: false },
          { ns: NS, service: S1, id: idOf('10.0.0.2', 8080), rev: 1, healthy: false }, // registered since (rev 2)
          { ns: NS, service: S1, id: idOf('10.0.0.3', 8080), rev: 1, healthy: false }, // absent
          { ns: NS, service: S2, id: idOf('10.0.0.1', 8080, 'DEFAULT', S2), rev: 1 }, // absent service
        ],
      }),
      { applied: 1 },
    );
    assert.deepEqual(
      r.instances()!.map((i) => [i.ip, i.healthy, i.rev]),
      [
        ['10.0.0.1', false, 1],
        ['10.0.0.2', true, 2],
      ],
    );
  });

  it('a flip to the health the instance already has is not counted and writes nothing', () => {
    const r = new Registry();
    r.ok(register({ healthy: true }));
    assert.deepEqual(r.run({ type: 'health', changes: [{ ns: NS, service: S1, id: idOf('10.0.0.1', 8080), rev: 1, healthy: true }] }), { ok: true, result: { applied: 0 }, writes: [] });
  });

  it('a removal at a stale rev is skipped: an instance registered again after the decision stays', () => {
    const r = new Registry();
    r.ok(register()); // rev 1
    r.ok(register({ weight: 2 })); // registered again: rev 2
    assert.deepEqual(r.ok({ type: 'health', changes: [{ ns: NS, service: S1, id: idOf('10.0.0.1', 8080), rev: 1 }] }), { applied: 0 });
    assert.deepEqual(r.addresses(), ['10.0.0.1:8080@DEFAULT']);
  });

  it('a rev kept by update and patch still matches (they are not registrations)', () => {
    const r = new Registry();
    r.ok(register()); // rev 1
    r.ok({ type: 'patch', ns: NS, service: S1, ip: '10.0.0.1', port: 8080, cluster: 'DEFAULT', weight: 4 });
    assert.deepEqual(r.ok({ type: 'health', changes: [{ ns: NS, service: S1, id: idOf('10.0.0.1', 8080), rev: 1, healthy: false }] }), { applied: 1 });
  });

  it('removing the last instance of an auto-created service deletes the service; of an explicit one keeps it', () => {
    const r = new Registry();
    r.ok(register({}, S1)); // rev 1
    r.ok(serviceCreate(true, S2));
    r.ok(register({}, S2)); // rev 3
    assert.deepEqual(
      r.ok({
        type: 'health',
        changes: [
          { ns: NS, service: S1, id: idOf('10.0.0.1', 8080), rev: 1 },
          { ns: NS, service: S2, id: idOf('10.0.0.1', 8080, 'DEFAULT', S2), rev: 3 },
        ],
      }),
      { applied: 2 },
    );
    assert.deepEqual(r.keys(), [serviceKey(NS, S2)]);
  });

  it('several changes to one service in a batch are applied together', () => {
    const r = new Registry();
    r.ok(register()); // 1
    r.ok(register({ ip: '10.0.0.2' })); // 2
    r.ok(register({ ip: '10.0.0.3' })); // 3
    const o = r.run({
      type: 'health',
      changes: [
        { ns: NS, service: S1, id: idOf('10.0.0.1', 8080), rev: 1 },
        { ns: NS, service: S1, id: idOf('10.0.0.2', 8080), rev: 2, healthy: false },
        { ns: NS, service: S1, id: idOf('10.0.0.1', 8080), rev: 1, healthy: false }, // removed just before
      ],
    });
    assert.ok(o.ok);
    assert.deepEqual(o.result, { applied: 2 });
    assert.equal(o.writes.length, 1, 'one write of the list');
    assert.deepEqual(
      r.instances()!.map((i) => [i.ip, i.healthy]),
      [
        ['10.0.0.2', false],
        ['10.0.0.3', true],
      ],
    );
  });
});

describe('healthSet (an operator\'s health change)', () => {
  const set = (healthy: boolean, ip = '10.0.0.1', cluster = 'DEFAULT', service = S1): RegistryCommand => ({ type: 'healthSet', ns: NS, service, ip, port: 8080, cluster, healthy });

  it('requires the cluster\'s checker to be NONE: an absent service, a cluster without settings (TCP) or TCP/HTTP is HEALTH_CHECK_ACTIVE', () => {
    const r = new Registry();
    const text = 'health check is still working, service: DEFAULT_GROUP@@s1, cluster: DEFAULT';
    r.refused(set(false), RegistryRejection.HEALTH_CHECK_ACTIVE, text);
    r.ok(register({ ephemeral: false }));
    r.refused(set(false), RegistryRejection.HEALTH_CHECK_ACTIVE, text);
    r.ok({ type: 'clusterUpdate', ns: NS, service: S1, cluster: 'DEFAULT', healthChecker: { type: 'TCP' }, checkPort: 80, useInstancePort4Check: true, metadata: {} });
    r.refused(set(false), RegistryRejection.HEALTH_CHECK_ACTIVE, texts.healthCheckActive(S1, 'DEFAULT'));
    r.ok(noneChecker('c1'));
    r.refused(set(false), RegistryRejection.HEALTH_CHECK_ACTIVE, text);
  });

  it('with NONE, flips a persistent instance (rev kept); the same health again changes nothing', () => {
    const r = new Registry();
    r.ok(register({ ephemeral: false }));
    r.ok(noneChecker());
    assert.deepEqual(r.ok(set(false)), { changed: true });
    assert.deepEqual(r.instances()!.map((i) => [i.healthy, i.rev]), [[false, 1]]);
    assert.deepEqual(r.run(set(false)), { ok: true, result: { changed: false }, writes: [] });
  });

  it('with NONE, an ephemeral instance, an absent one, or one in another cluster is left alone and the call succeeds', () => {
    const r = new Registry();
    r.ok(register({ ephemeral: true }));
    r.ok(noneChecker());
    assert.deepEqual(r.run(set(false)), { ok: true, result: { changed: false }, writes: [] }, 'ephemeral');
    assert.equal(r.instances()![0]!.healthy, true);
    assert.deepEqual(r.run(set(false, '10.0.0.9')), { ok: true, result: { changed: false }, writes: [] }, 'absent');
    const p = new Registry();
    p.ok(register({ ephemeral: false, clusterName: 'c1' }));
    p.ok(noneChecker('DEFAULT'));
    assert.deepEqual(p.run(set(false, '10.0.0.1', 'DEFAULT')), { ok: true, result: { changed: false }, writes: [] }, 'other cluster');
    assert.equal(p.instances()![0]!.healthy, true);
  });

  it(
    'a cluster named like an Object.prototype member (constructor, toString, valueOf, …) is refused as any cluster without settings, not a crash',
    () => {
      for (const cluster of ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__']) {
        const r = new Registry();
        r.ok(register({ ephemeral: false, clusterName: 'DEFAULT' }));
        r.refused(set(false, '10.0.0.1', cluster), RegistryRejection.HEALTH_CHECK_ACTIVE, texts.healthCheckActive(S1, cluster));
      }
    },
  );
});
