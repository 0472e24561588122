// Nacos Open API v1 instance, beat, health and operator routes against the registry app built
// without listening (test/support/registry-app.ts). Expected behaviour: Nacos 2.2–2.4, as
// written down in docs/nacos/nacos-v1-instance.md (section numbers below refer to it), with
// Muster's deliberate departures (PUT of an unknown instance is refused; weights range-checked on
// PATCH; hosts sorted by instance id; v1 errors are `caused: <message>;` text/plain).

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import request from 'supertest';
import { decodeCommand } from '../../src/registry/datum-store.ts';
import { okText, refusedBy, v1Error } from '../support/nacos-asserts.ts';
import { testRegistry, type TestRegistry } from '../support/registry-app.ts';

const S = 'DEFAULT_GROUP@@svc';
const INST = '/nacos/v1/ns/instance';
const LIST = '/nacos/v1/ns/instance/list';
const BEAT = '/nacos/v1/ns/instance/beat';
const HEALTH = '/nacos/v1/ns/health/instance';

let t: TestRegistry;
beforeEach(() => {
  t = testRegistry();
});
afterEach(async () => {
  await t.close();
});

const refused = refusedBy(() => t);

function register(q: Record<string, string | number>) {
  return request(t.app).post(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, ...q });
}

async function list(q: Record<string, string> = {}) {
  const r = await request(t.app).get(LIST).query({ serviceName: 'svc', ...q });
  assert.equal(r.status, 200, r.text);
  return r.body as { hosts: Record<string, unknown>[]; [k: string]: unknown };
}

function view(ns = 'public', grouped = S) {
  return t.registry.views.service(ns, grouped);
}

/** Flips an instance's health through the leader's health command (as a sweep would). */
async function setHealth(id: string, healthy: boolean, grouped = S): Promise<void> {
  const i = view('public', grouped).instances.find((x) => x.instanceId === id)!;
  await t.registry.write({ type: 'health', changes: [{ ns: 'public', service: grouped, id, rev: i.rev, healthy }] }, `h-${id}-${healthy}-${i.rev}`);
}

describe('POST /nacos/v1/ns/instance (register)', () => {
  it('registers with Nacos defaults and answers text ok', async () => {
    okText(await register({}));
    const l = await list();
    assert.deepEqual(l.hosts, [
      {
        instanceId: '1.1.1.1#80#DEFAULT#DEFAULT_GROUP@@svc',
        ip: '1.1.1.1',
        port: 80,
        weight: 1,
        healthy: true,
        enabled: true,
        ephemeral: true,
        clusterName: 'DEFAULT',
        serviceName: S,
        metadata: {},
        instanceHeartBeatInterval: 5000,
        instanceHeartBeatTimeOut: 15000,
        ipDeleteTimeout: 30000,
        instanceIdGenerator: 'simple',
      },
    ]);
    assert.equal(t.entries.length, 1);
    const cmd = decodeCommand(t.entries[0]!)!;
    assert.equal(cmd.type, 'register');
    assert.equal(cmd.time, t.clock.wall, 'the leader time is stamped into the entry');
  });

  it('takes every parameter from a form body', async () => {
    const r = await request(t.app)
      .post(INST)
      .type('form')
      .send({ serviceName: 'svc', groupName: 'G', namespaceId: 'dev', ip: '2.2.2.2', port: '81', weight: '2.5', healthy: 'false', enabled: 'true', ephemeral: 'true', clusterName: 'c1', metadata: '{"a":"1","b":"2"}' });
    okText(r);
    const v = view('dev', 'G@@svc');
    assert.equal(v.instances.length, 1);
    const i = v.instances[0]!;
    assert.equal(i.instanceId, '2.2.2.2#81#c1#G@@svc');
    assert.deepEqual({ ip: i.ip, port: i.port, weight: i.weight, healthy: i.healthy, enabled: i.enabled, ephemeral: i.ephemeral, clusterName: i.clusterName, metadata: i.metadata }, { ip: '2.2.2.2', port: 81, weight: 2.5, healthy: false, enabled: true, ephemeral: true, clusterName: 'c1', metadata: { a: '1', b: '2' } });
    assert.equal(view().instances.length, 0, 'nothing in public/DEFAULT_GROUP');
    const l = await list({ namespaceId: 'dev', groupName: 'G' });
    assert.equal(l.name, 'G@@svc');
    assert.equal(l.groupName, 'G');
    // Non-empty metadata without the generator key: instanceIdGenerator omitted (Nacos NON_NULL quirk).
    assert.equal('instanceIdGenerator' in l.hosts[0]!, false);
  });

  it('takes the query string over the form body for the same name', async () => {
    okText(await request(t.app).post(INST).query({ port: '90' }).type('form').send({ serviceName: 'svc', ip: '1.1.1.1', port: '91' }));
    assert.deepEqual(view().instances.map((i) => i.port), [90]);
  });

  it('keeps the group of a serviceName that already has @@ and ignores groupName', async () => {
    okText(await register({ serviceName: 'g1@@svc', groupName: 'g2' }));
    assert.equal(view('public', 'g1@@svc').instances.length, 1);
    assert.equal(view('public', 'g2@@svc').instances.length, 0);
  });

  it('reads enabled, else enable; clusterName, else cluster; booleans as ConvertUtils.toBoolean', async () => {
    okText(await register({ port: 1, enable: 'false', cluster: 'cx' }));
    okText(await register({ port: 2, enabled: 'yes', enable: 'false' }));
    okText(await register({ port: 3, healthy: 'on' }));
    okText(await register({ port: 4, healthy: '1' }));
    okText(await register({ port: 5, healthy: 'T' }));
    const by = new Map(view().instances.map((i) => [i.port, i]));
    assert.equal(by.get(1)!.enabled, false);
    assert.equal(by.get(1)!.clusterName, 'cx');
    assert.equal(by.get(2)!.enabled, true);
    assert.equal(by.get(3)!.healthy, true);
    assert.equal(by.get(4)!.healthy, false, '"1" is not true for ConvertUtils');
    assert.equal(by.get(5)!.healthy, true);
  });

  it('replaces the instance at the same ip:port, whatever its cluster', async () => {
    okText(await register({ clusterName: 'c1', weight: 2 }));
    okText(await register({ clusterName: 'c2', weight: 3 }));
    assert.deepEqual(view().instances.map((i) => [i.clusterName, i.weight]), [['c2', 3]]);
  });

  it('accepts metadata as JSON or k=v,k=v and refuses anything else', async () => {
    okText(await register({ port: 1, metadata: 'a=1,b=2' }));
    assert.deepEqual(view().instances[0]!.metadata, { a: '1', b: '2' });
    await refused(register({ port: 2, metadata: 'a=b=c' }), 400, 'metadata format incorrect:a=b=c');
    await refused(register({ port: 2, metadata: 'novalue' }), 400, 'metadata format incorrect:novalue');
    // A key the stored encoding cannot keep (msgpackr renames it on decode) is refused, in both forms.
    await refused(register({ port: 2, metadata: '{"__proto__":"x"}' }), 400, 'metadata: the key "__proto__" is not allowed');
    await refused(register({ port: 2, metadata: '__proto__=x' }), 400, 'metadata: the key "__proto__" is not allowed');
  });

  it('refuses missing parameters with WebUtils texts, in Nacos order', async () => {
    await refused(request(t.app).post(INST).query({ ip: '1.1.1.1', port: 80 }), 400, "Param 'serviceName' is required.");
    await refused(request(t.app).post(INST).query({ serviceName: '', ip: '1.1.1.1', port: 80 }), 400, "Param 'serviceName' is required.");
    await refused(request(t.app).post(INST).query({ serviceName: 'svc', port: 80 }), 400, "Param 'ip' is required.");
    await refused(request(t.app).post(INST).query({ serviceName: 'svc', ip: '1.1.1.1' }), 400, "Param 'port' is required.");
    await refused(request(t.app).post(INST).query({ serviceName: 'svc' }), 400, "Param 'ip' is required.");
  });

  it('refuses a bad port (JDK text for a non-number; the checker text out of range)', async () => {
    await refused(register({ port: 'abc' }), 400, 'For input string: "abc"');
    await refused(register({ port: 65536 }), 400, "Param 'port' is illegal, the value should be between 0 and 65535.");
    await refused(register({ port: -1 }), 400, "Param 'port' is illegal, the value should be between 0 and 65535.");
  });

  it('refuses a badly grouped serviceName (NamingUtils.checkServiceNameFormat)', async () => {
    await refused(register({ serviceName: '@@svc' }), 400, "Param 'serviceName' is illegal, groupName can't be empty");
    await refused(register({ serviceName: 'grp@@' }), 400, "Param 'serviceName' is illegal, it should be format as 'groupName@@serviceName'");
  });

  it('refuses a weight outside 0..10000, accepts both bounds', async () => {
    for (const w of ['-0.5', '10000.5']) await refused(register({ weight: w }), 400, 'instance format invalid: The weights range from 0.0 to 10000.0');
    await refused(register({ weight: 'heavy' }), 400, 'For input string: "heavy"');
    okText(await register({ port: 1, weight: 0 }));
    okText(await register({ port: 2, weight: 10000 }));
    assert.deepEqual(view().instances.map((i) => i.weight), [0, 10000]);
  });

  it('refuses a heartbeat interval above the timeout or the delete timeout', async () => {
    const msg = "Instance 'heart beat interval' must less than 'heart beat timeout' and 'ip delete timeout'.";
    await refused(register({ metadata: JSON.stringify({ 'preserved.heart.beat.interval': '20000' }) }), 400, msg);
    await refused(register({ metadata: JSON.stringify({ 'preserved.heart.beat.timeout': '3000' }) }), 400, msg);
    await refused(register({ metadata: JSON.stringify({ 'preserved.ip.delete.timeout': '4999' }) }), 400, msg);
    okText(await register({ metadata: JSON.stringify({ 'preserved.heart.beat.interval': '1000', 'preserved.heart.beat.timeout': '3000', 'preserved.ip.delete.timeout': '6000' }) }));
    const h = (await list()).hosts[0]!;
    assert.deepEqual([h.instanceHeartBeatInterval, h.instanceHeartBeatTimeOut, h.ipDeleteTimeout], [1000, 3000, 6000]);
  });

  it('refuses a cluster name outside ^[0-9a-zA-Z-]+$ (no underscore, no dot)', async () => {
    for (const c of ['a_b', 'a.b']) await refused(register({ clusterName: c }), 400, `Instance 'clusterName' should be characters with only 0-9a-zA-Z-. (current: ${c})`);
    okText(await register({ clusterName: 'a-B9' }));
    assert.equal(view().instances[0]!.clusterName, 'a-B9');
  });

  it('refuses an ip with whitespace and over-long names with the parameter checker texts', async () => {
    await refused(register({ ip: '1.1.1 .1' }), 400, "Param 'ip' is illegal, illegal characters should not appear in the param.");
    await refused(register({ serviceName: 'x'.repeat(513) }), 400, "Param 'serviceName' is illegal, the param length should not exceed 512.");
    await refused(register({ groupName: 'g'.repeat(129) }), 400, "Param 'group' is illegal, the param length should not exceed 128.");
    await refused(register({ namespaceId: 'n'.repeat(65) }), 400, "Param 'namespaceId/tenant' is illegal, the param length should not exceed 64.");
    await refused(register({ clusterName: 'c'.repeat(65) }), 400, "Param 'cluster' is illegal, the param length should not exceed 64.");
  });

  it('limits metadata to 1024 characters of keys and values, as the 2.3+ checker counts them', async () => {
    // 1000 characters of key and value, longer than 1024 as JSON text: accepted.
    const fits = JSON.stringify(Object.fromEntries(Array.from({ length: 50 }, (_, k) => [`k${String(k).padStart(2, '0')}`, 'v'.repeat(17)])));
    assert.ok(fits.length > 1024);
    okText(await register({ port: 1, metadata: fits }));
    await refused(register({ port: 2, metadata: JSON.stringify({ k: 'v'.repeat(1024) }) }), 400, "Param 'Metadata' is illegal, the param length should not exceed 1024.");
  });
});

describe('the ephemeral/persistent rule', () => {
  it('refuses a persistent instance into an ephemeral service: 500, NacosRuntimeException text', async () => {
    okText(await register({ port: 1 }));
    v1Error(await register({ port: 2, ephemeral: 'false' }), 500, "errCode: 400, errMsg: Current service DEFAULT_GROUP@@svc is ephemeral service, can't register persistent instance. ");
    assert.deepEqual(view().instances.map((i) => i.port), [1]);
  });

  it('refuses an ephemeral instance into a persistent service (POST /service creates persistent ones)', async () => {
    okText(await request(t.app).post('/nacos/v1/ns/service').query({ serviceName: 'svc' }));
    v1Error(await register({}), 500, "errCode: 400, errMsg: Current service DEFAULT_GROUP@@svc is persistent service, can't register ephemeral instance. ");
    okText(await register({ ephemeral: 'false' }));
    assert.equal(view().instances[0]!.ephemeral, false);
  });
});

describe('DELETE /nacos/v1/ns/instance (deregister)', () => {
  it('removes the instance at ip:port whatever the cluster given', async () => {
    okText(await register({ clusterName: 'c1' }));
    okText(await register({ port: 81 }));
    okText(await request(t.app).delete(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, clusterName: 'other' }));
    assert.deepEqual(view().instances.map((i) => i.port), [81]);
  });

  it('takes a form body', async () => {
    okText(await register({}));
    okText(await request(t.app).delete(INST).type('form').send({ serviceName: 'svc', ip: '1.1.1.1', port: '80' }));
    assert.equal(view().instances.length, 0);
  });

  it('answers ok for an unknown service or instance and changes nothing', async () => {
    okText(await request(t.app).delete(INST).query({ serviceName: 'nope', ip: '9.9.9.9', port: 1 }));
    okText(await register({}));
    okText(await request(t.app).delete(INST).query({ serviceName: 'svc', ip: '9.9.9.9', port: 1 }));
    assert.equal(view().instances.length, 1);
  });

  it('removes a persistent instance only with ephemeral=false', async () => {
    okText(await register({ ephemeral: 'false' }));
    okText(await request(t.app).delete(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80 }));
    assert.equal(view().instances.length, 1, 'looked up among ephemeral instances: nothing removed');
    okText(await request(t.app).delete(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, ephemeral: 'false' }));
    assert.equal(view().instances.length, 0);
  });

  it('drops a service created by registration with its last instance, keeps one created through POST /service', async () => {
    okText(await register({}));
    okText(await request(t.app).delete(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80 }));
    assert.equal(view().service, undefined);
    okText(await request(t.app).post('/nacos/v1/ns/service').query({ serviceName: 'kept' }));
    okText(await register({ serviceName: 'kept', ephemeral: 'false' }));
    okText(await request(t.app).delete(INST).query({ serviceName: 'kept', ip: '1.1.1.1', port: 80, ephemeral: 'false' }));
    assert.ok(view('public', 'DEFAULT_GROUP@@kept').service);
  });

  it('validates the whole instance first (as HttpRequestInstanceBuilder does)', async () => {
    okText(await register({}));
    await refused(request(t.app).delete(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, weight: '-1' }), 400, 'instance format invalid: The weights range from 0.0 to 10000.0');
    await refused(request(t.app).delete(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, metadata: 'bad' }), 400, 'metadata format incorrect:bad');
    await refused(request(t.app).delete(INST).query({ serviceName: 'svc', port: 80 }), 400, "Param 'ip' is required.");
    await refused(request(t.app).delete(INST).query({ ip: '1.1.1.1', port: 80 }), 400, "Param 'serviceName' is required.");
    assert.equal(view().instances.length, 1);
  });
});

describe('PUT /nacos/v1/ns/instance (update)', () => {
  it('replaces weight and enabled (omitted: 1 and true) and puts metadata over the registered map', async () => {
    okText(await register({ weight: 3, enabled: 'false', metadata: 'a=1,b=2' }));
    okText(await request(t.app).put(INST).type('form').send({ serviceName: 'svc', ip: '1.1.1.1', port: '80', metadata: 'b=3,c=4' }));
    const i = view().instances[0]!;
    assert.equal(i.weight, 1);
    assert.equal(i.enabled, true);
    assert.deepEqual(i.metadata, { a: '1', b: '3', c: '4' });
    okText(await request(t.app).put(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, weight: 7, enable: 'false' }));
    assert.deepEqual([view().instances[0]!.weight, view().instances[0]!.enabled], [7, false]);
  });

  it('does not change health: the healthy parameter is ignored and an unhealthy instance stays unhealthy', async () => {
    okText(await register({}));
    okText(await request(t.app).put(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, healthy: 'false' }));
    assert.equal(view().instances[0]!.healthy, true);
    await setHealth('1.1.1.1#80#DEFAULT#DEFAULT_GROUP@@svc', false);
    okText(await request(t.app).put(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, weight: 2 }));
    assert.equal(view().instances[0]!.healthy, false);
    assert.equal(view().instances[0]!.weight, 2);
  });

  it('updates a persistent instance whatever the ephemeral parameter says (it does not change the kind)', async () => {
    okText(await register({ ephemeral: 'false' }));
    okText(await request(t.app).put(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, weight: 4 }));
    const i = view().instances[0]!;
    assert.equal(i.weight, 4);
    assert.equal(i.ephemeral, false);
  });

  it('refuses an unknown service with Service.toString() in the text (400)', async () => {
    v1Error(
      await request(t.app).put(INST).query({ serviceName: 'nope', ip: '1.1.1.1', port: 80 }),
      400,
      "service not found, namespace: public, service: Service{namespace='public', group='DEFAULT_GROUP', name='nope', ephemeral=true, revision=0}",
    );
  });

  it('refuses an instance that does not exist (Muster departure: Nacos answers ok)', async () => {
    okText(await register({}));
    v1Error(await request(t.app).put(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, clusterName: 'c9' }), 400, 'instance not exist: 1.1.1.1#80#c9#DEFAULT_GROUP@@svc');
    assert.equal(view().instances[0]!.clusterName, 'DEFAULT');
  });

  it('validates like register', async () => {
    okText(await register({}));
    await refused(request(t.app).put(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, weight: 10001 }), 400, 'instance format invalid: The weights range from 0.0 to 10000.0');
    await refused(request(t.app).put(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, clusterName: 'a_b' }), 400, "Instance 'clusterName' should be characters with only 0-9a-zA-Z-. (current: a_b)");
    await refused(request(t.app).put(INST).query({ serviceName: 'svc', ip: '1.1.1.1' }), 400, "Param 'port' is required.");
  });
});

describe('PATCH /nacos/v1/ns/instance', () => {
  it('changes only the fields given', async () => {
    okText(await register({ weight: 3, metadata: 'a=1' }));
    okText(await request(t.app).patch(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, metadata: 'b=2' }));
    let i = view().instances[0]!;
    assert.deepEqual([i.weight, i.enabled, i.metadata], [3, true, { a: '1', b: '2' }]);
    okText(await request(t.app).patch(INST).type('form').send({ serviceName: 'svc', ip: '1.1.1.1', port: '80', weight: '5', enabled: 'false' }));
    i = view().instances[0]!;
    assert.deepEqual([i.weight, i.enabled], [5, false]);
  });

  it('ignores healthy and the enable alias', async () => {
    okText(await register({}));
    okText(await request(t.app).patch(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, healthy: 'false', enable: 'false' }));
    const i = view().instances[0]!;
    assert.deepEqual([i.healthy, i.enabled], [true, true]);
  });

  it('finds the instance by clusterName, else cluster', async () => {
    okText(await register({ clusterName: 'c1' }));
    okText(await request(t.app).patch(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, cluster: 'c1', weight: 9 }));
    assert.equal(view().instances[0]!.weight, 9);
  });

  it('answers 404 for an unknown service or instance, proposing nothing', async () => {
    await refused(request(t.app).patch(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, weight: 2 }), 404, 'no ips found for cluster DEFAULT in service DEFAULT_GROUP@@svc');
    okText(await register({ clusterName: 'c1' }));
    await refused(request(t.app).patch(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, weight: 2 }), 404, 'no matched ip found!');
  });

  it('range-checks the weight (Muster departure) and requires ip and port', async () => {
    okText(await register({}));
    await refused(request(t.app).patch(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, weight: 20000 }), 400, 'instance format invalid: The weights range from 0.0 to 10000.0');
    await refused(request(t.app).patch(INST).query({ serviceName: 'svc', port: 80 }), 400, "Param 'ip' is required.");
    await refused(request(t.app).patch(INST).query({ serviceName: 'svc', ip: '1.1.1.1' }), 400, "Param 'port' is required.");
    await refused(request(t.app).patch(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, metadata: 'x' }), 400, 'metadata format incorrect:x');
  });
});

describe('GET /nacos/v1/ns/instance (detail)', () => {
  it('answers the fields in Nacos order, no enabled or ephemeral', async () => {
    okText(await register({ weight: 2, metadata: 'a=1' }));
    const r = await request(t.app).get(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80 }).expect(200);
    assert.match(r.headers['content-type'] ?? '', /^application\/json/);
    assert.equal(r.text, '{"service":"DEFAULT_GROUP@@svc","ip":"1.1.1.1","port":80,"clusterName":"DEFAULT","weight":2,"healthy":true,"instanceId":"1.1.1.1#80#DEFAULT#DEFAULT_GROUP@@svc","metadata":{"a":"1"}}');
  });

  it('finds disabled and unhealthy instances', async () => {
    okText(await register({ enabled: 'false', healthy: 'false' }));
    const r = await request(t.app).get(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80 }).expect(200);
    assert.equal(r.body.healthy, false);
  });

  it('reads clusterName only (not cluster), default DEFAULT', async () => {
    okText(await register({ clusterName: 'c1' }));
    v1Error(await request(t.app).get(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, cluster: 'c1' }), 404, 'no matched ip found!');
    const r = await request(t.app).get(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, clusterName: 'c1' }).expect(200);
    assert.equal(r.body.clusterName, 'c1');
  });

  it('answers 404 texts and parameter errors', async () => {
    v1Error(await request(t.app).get(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80 }), 404, 'no ips found for cluster DEFAULT in service DEFAULT_GROUP@@svc');
    okText(await register({}));
    v1Error(await request(t.app).get(INST).query({ serviceName: 'svc', ip: '1.1.1.2', port: 80 }), 404, 'no matched ip found!');
    v1Error(await request(t.app).get(INST).query({ serviceName: 'svc', port: 80 }), 400, "Param 'ip' is required.");
    v1Error(await request(t.app).get(INST).query({ serviceName: 'svc', ip: '1.1.1.1' }), 400, "Param 'port' is required.");
    v1Error(await request(t.app).get(INST).query({ ip: '1.1.1.1', port: 80 }), 400, "Param 'serviceName' is required.");
  });
});

describe('GET /nacos/v1/ns/instance/list', () => {
  it('answers every ServiceInfo field in order', async () => {
    okText(await register({}));
    const before = Date.now();
    const r = await request(t.app).get(LIST).query({ serviceName: 'svc' }).expect(200);
    assert.match(r.headers['content-type'] ?? '', /^application\/json/);
    assert.deepEqual(Object.keys(r.body), ['name', 'groupName', 'clusters', 'cacheMillis', 'hosts', 'lastRefTime', 'checksum', 'allIPs', 'reachProtectionThreshold', 'valid']);
    const { hosts, lastRefTime, ...rest } = r.body;
    assert.deepEqual(rest, { name: S, groupName: 'DEFAULT_GROUP', clusters: '', cacheMillis: 10000, checksum: '', allIPs: false, reachProtectionThreshold: false, valid: true });
    assert.equal(hosts.length, 1);
    assert.deepEqual(Object.keys(hosts[0]), ['instanceId', 'ip', 'port', 'weight', 'healthy', 'enabled', 'ephemeral', 'clusterName', 'serviceName', 'metadata', 'instanceHeartBeatInterval', 'instanceHeartBeatTimeOut', 'ipDeleteTimeout', 'instanceIdGenerator']);
    assert.ok(typeof lastRefTime === 'number' && lastRefTime >= before - 1 && lastRefTime <= Date.now() + 1);
  });

  it('names the service grouped, with groupName and a grouped serviceName alike', async () => {
    okText(await register({ serviceName: 'G@@svc' }));
    for (const q of [{ serviceName: 'svc', groupName: 'G' }, { serviceName: 'G@@svc' }, { serviceName: 'G@@svc', groupName: 'other' }] as Record<string, string>[]) {
      const l = await list(q);
      assert.equal(l.name, 'G@@svc');
      assert.equal(l.groupName, 'G');
      assert.equal(l.hosts.length, 1);
    }
  });

  it('echoes clusters exactly and filters by exact cluster names (no trim)', async () => {
    okText(await register({ port: 1, clusterName: 'c1' }));
    okText(await register({ port: 2, clusterName: 'c2' }));
    okText(await register({ port: 3 }));
    const ports = (l: { hosts: Record<string, unknown>[] }) => l.hosts.map((h) => h.port);
    let l = await list({ clusters: 'DEFAULT' });
    assert.equal(l.clusters, 'DEFAULT');
    assert.deepEqual(ports(l), [3]);
    l = await list({ clusters: 'c1,c2' });
    assert.equal(l.clusters, 'c1,c2');
    assert.deepEqual(ports(l), [1, 2]);
    l = await list({ clusters: 'c1, c2' });
    assert.equal(l.clusters, 'c1, c2');
    assert.deepEqual(ports(l), [1]);
    l = await list({ clusters: '' });
    assert.equal(l.clusters, '');
    assert.deepEqual(ports(l), [1, 2, 3]);
  });

  it('sorts hosts by instance id', async () => {
    okText(await register({ ip: '2.2.2.2' }));
    okText(await register({ ip: '1.1.1.1', port: 90 }));
    okText(await register({ ip: '1.1.1.1', port: 100 }));
    assert.deepEqual((await list()).hosts.map((h) => h.instanceId), ['1.1.1.1#100#DEFAULT#DEFAULT_GROUP@@svc', '1.1.1.1#90#DEFAULT#DEFAULT_GROUP@@svc', '2.2.2.2#80#DEFAULT#DEFAULT_GROUP@@svc']);
  });

  it('leaves disabled instances out', async () => {
    okText(await register({ port: 1, enabled: 'false' }));
    okText(await register({ port: 2 }));
    assert.deepEqual((await list()).hosts.map((h) => h.port), [2]);
  });

  it('keeps only healthy ones with healthyOnly=true (Boolean.parseBoolean: only "true")', async () => {
    okText(await register({ port: 1, healthy: 'false' }));
    okText(await register({ port: 2 }));
    assert.deepEqual((await list({ healthyOnly: 'true' })).hosts.map((h) => h.port), [2]);
    assert.deepEqual((await list({ healthyOnly: 'TRUE' })).hosts.map((h) => h.port), [2]);
    assert.deepEqual((await list({ healthyOnly: 'yes' })).hosts.map((h) => h.port), [1, 2]);
    assert.deepEqual((await list({ healthyOnly: 'false' })).hosts.map((h) => [h.port, h.healthy]), [[1, false], [2, true]]);
  });

  it('answers an unknown service with empty hosts and 200', async () => {
    const l = await list({ serviceName: 'nope', clusters: 'x' });
    assert.deepEqual(l.hosts, []);
    assert.equal(l.name, 'DEFAULT_GROUP@@nope');
    assert.equal(l.clusters, 'x');
    assert.equal(l.valid, true);
    assert.equal(l.reachProtectionThreshold, false);
  });

  it('applies the protect threshold only to a service created through POST /service', async () => {
    // Implicit service (registration only), all unhealthy: no protection.
    okText(await register({ serviceName: 'imp', healthy: 'false' }));
    let l = await list({ serviceName: 'imp' });
    assert.equal(l.reachProtectionThreshold, false);
    assert.deepEqual(l.hosts.map((h) => h.healthy), [false]);

    okText(await request(t.app).post('/nacos/v1/ns/service').query({ serviceName: 'svc', protectThreshold: '0.5' }));
    okText(await register({ port: 1, ephemeral: 'false' }));
    okText(await register({ port: 2, ephemeral: 'false', healthy: 'false' }));
    okText(await register({ port: 3, ephemeral: 'false', healthy: 'false' }));
    // 1 of 3 healthy ≤ 0.5: every host returned as healthy.
    l = await list();
    assert.equal(l.reachProtectionThreshold, true);
    assert.deepEqual(l.hosts.map((h) => [h.port, h.healthy]), [[1, true], [2, true], [3, true]]);
    // 2 of 3 healthy > 0.5: as stored.
    okText(await register({ port: 2, ephemeral: 'false' }));
    l = await list();
    assert.equal(l.reachProtectionThreshold, false);
    assert.deepEqual(l.hosts.map((h) => [h.port, h.healthy]), [[1, true], [2, true], [3, false]]);
  });

  it('computes the protect threshold over the healthy subset with healthyOnly', async () => {
    okText(await request(t.app).post('/nacos/v1/ns/service').query({ serviceName: 'svc', protectThreshold: '0.9' }));
    okText(await register({ port: 1, ephemeral: 'false' }));
    okText(await register({ port: 2, ephemeral: 'false', healthy: 'false' }));
    assert.equal((await list()).reachProtectionThreshold, true);
    // healthyOnly: 1 of 1 selected is healthy, 1 > 0.9.
    let l = await list({ healthyOnly: 'true' });
    assert.equal(l.reachProtectionThreshold, false);
    assert.deepEqual(l.hosts.map((h) => h.port), [1]);
    // threshold 1: 1 ≤ 1 even over the healthy subset.
    okText(await request(t.app).put('/nacos/v1/ns/service').query({ serviceName: 'svc', protectThreshold: '1' }));
    l = await list({ healthyOnly: 'true' });
    assert.equal(l.reachProtectionThreshold, true);
    assert.deepEqual(l.hosts.map((h) => h.port), [1]);
  });

  it('protects with threshold 0 only when no instance is healthy', async () => {
    okText(await request(t.app).post('/nacos/v1/ns/service').query({ serviceName: 'svc' }));
    okText(await register({ port: 1, ephemeral: 'false', healthy: 'false' }));
    let l = await list();
    assert.equal(l.reachProtectionThreshold, true);
    assert.equal(l.hosts[0]!.healthy, true);
    okText(await register({ port: 2, ephemeral: 'false' }));
    l = await list();
    assert.equal(l.reachProtectionThreshold, false);
  });

  it('refuses a bad consistency and a missing serviceName', async () => {
    v1Error(await request(t.app).get(LIST).query({ serviceName: 'svc', consistency: 'strong' }), 400, 'consistency must be "linearizable" or "local", got "strong"');
    v1Error(await request(t.app).get(LIST), 400, "Param 'serviceName' is required.");
    const r = await request(t.app).get(LIST).query({ serviceName: 'svc', consistency: 'linearizable' }).expect(200);
    assert.deepEqual(r.body.hosts, []);
  });
});

describe('PUT /nacos/v1/ns/instance/beat', () => {
  const beatJson = (o: Record<string, unknown> = {}) => JSON.stringify({ serviceName: S, ip: '1.1.1.1', port: 80, cluster: 'DEFAULT', weight: 1, metadata: {}, scheduled: true, ...o });

  it('answers a light beat of a known instance with 10200, keys in Nacos order, and logs nothing', async () => {
    okText(await register({}));
    const n = t.entries.length;
    const r = await request(t.app).put(BEAT).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80 }).expect(200);
    assert.match(r.headers['content-type'] ?? '', /^application\/json/);
    assert.equal(r.text, '{"clientBeatInterval":5000,"code":10200,"lightBeatEnabled":true}');
    assert.equal(t.entries.length, n);
    assert.equal(t.health.beats.size, 1, 'the beat is recorded in memory');
  });

  it('answers a light beat of an unknown instance with code 20404 (HTTP 200)', async () => {
    const r = await request(t.app).put(BEAT).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80 }).expect(200);
    assert.equal(r.text, '{"clientBeatInterval":5000,"code":20404,"lightBeatEnabled":true}');
    assert.equal(t.entries.length, 0);
    // port defaults to 0
    okText(await register({ port: 0 }));
    const r2 = await request(t.app).put(BEAT).query({ serviceName: 'svc', ip: '1.1.1.1' }).expect(200);
    assert.equal(r2.body.code, 10200);
  });

  it('answers a full beat of a known instance with 10200 and logs nothing', async () => {
    okText(await register({}));
    const n = t.entries.length;
    const r = await request(t.app).put(BEAT).query({ serviceName: S, beat: beatJson() }).expect(200);
    assert.equal(r.text, '{"clientBeatInterval":5000,"code":10200,"lightBeatEnabled":true}');
    assert.equal(t.entries.length, n);
  });

  it('registers an unknown instance again from a full beat (cluster, weight, metadata of the beat)', async () => {
    const r = await request(t.app)
      .put(BEAT)
      .type('form')
      .send({ serviceName: S, clusterName: 'ignored', beat: beatJson({ cluster: 'c1', weight: 2, metadata: { k: 'v' } }) })
      .expect(200);
    assert.equal(r.text, '{"clientBeatInterval":5000,"code":10200,"lightBeatEnabled":true}');
    assert.equal(t.entries.length, 1);
    const i = view().instances[0]!;
    assert.deepEqual({ id: i.instanceId, weight: i.weight, metadata: i.metadata, ephemeral: i.ephemeral, healthy: i.healthy, enabled: i.enabled }, { id: '1.1.1.1#80#c1#DEFAULT_GROUP@@svc', weight: 2, metadata: { k: 'v' }, ephemeral: true, healthy: true, enabled: true });
  });

  it('re-registers with weight 0 when the beat has none, and takes clusterName when the beat has no cluster', async () => {
    const beat = JSON.stringify({ serviceName: S, ip: '1.1.1.1', port: 80 });
    await request(t.app).put(BEAT).query({ serviceName: S, clusterName: 'c2', beat }).expect(200);
    const i = view().instances[0]!;
    assert.equal(i.weight, 0);
    assert.equal(i.clusterName, 'c2');
  });

  it('answers the instance\'s own preserved.heart.beat.interval', async () => {
    okText(await register({ metadata: JSON.stringify({ 'preserved.heart.beat.interval': '3000' }) }));
    const r = await request(t.app).put(BEAT).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80 }).expect(200);
    assert.equal(r.text, '{"clientBeatInterval":3000,"code":10200,"lightBeatEnabled":true}');
    const r2 = await request(t.app).put(BEAT).query({ serviceName: S, beat: beatJson() }).expect(200);
    assert.equal(r2.body.clientBeatInterval, 3000);
  });

  it('refuses a full beat into a persistent service with the rule\'s text', async () => {
    okText(await request(t.app).post('/nacos/v1/ns/service').query({ serviceName: 'svc' }));
    v1Error(await request(t.app).put(BEAT).query({ serviceName: S, beat: beatJson() }), 500, "errCode: 400, errMsg: Current service DEFAULT_GROUP@@svc is persistent service, can't register ephemeral instance. ");
    assert.equal(view().instances.length, 0);
  });

  it('refuses a missing serviceName, a bad beat, a bad port', async () => {
    await refused(request(t.app).put(BEAT).query({ ip: '1.1.1.1', port: 80 }), 400, "Param 'serviceName' is required.");
    const r = await request(t.app).put(BEAT).query({ serviceName: S, beat: '{not json' });
    assert.equal(r.status, 400);
    assert.match(r.text, /^caused: Param 'beat' is illegal, it must be a JSON object: .*;$/);
    await refused(request(t.app).put(BEAT).query({ serviceName: S, beat: '[1]' }), 400, "Param 'beat' is illegal, it must be a JSON object: not a JSON object");
    await refused(request(t.app).put(BEAT).query({ serviceName: S, ip: '1.1.1.1', port: 'x' }), 400, 'For input string: "x"');
    await refused(request(t.app).put(BEAT).query({ serviceName: S, beat: beatJson({ weight: 20000 }) }), 400, 'instance format invalid: The weights range from 0.0 to 10000.0');
    await refused(request(t.app).put(BEAT).query({ serviceName: S, beat: beatJson({ cluster: 'a_b' }) }), 400, "Instance 'clusterName' should be characters with only 0-9a-zA-Z-. (current: a_b)");
  });
});

describe('PUT /nacos/v1/ns/health/instance', () => {
  const cluster = (q: Record<string, string> = {}) =>
    request(t.app).put('/nacos/v1/ns/cluster').query({ serviceName: 'svc', clusterName: 'DEFAULT', checkPort: '80', useInstancePort4Check: 'true', healthChecker: '{"type":"NONE"}', ...q });

  it('refuses while the cluster health checker is not NONE', async () => {
    okText(await register({ ephemeral: 'false' }));
    v1Error(await request(t.app).put(HEALTH).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, healthy: 'false' }), 400, 'health check is still working, service: DEFAULT_GROUP@@svc, cluster: DEFAULT');
    okText(await cluster({ healthChecker: '{"type":"TCP"}' }));
    v1Error(await request(t.app).put(HEALTH).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, healthy: 'false' }), 400, 'health check is still working, service: DEFAULT_GROUP@@svc, cluster: DEFAULT');
    assert.equal(view().instances[0]!.healthy, true);
  });

  it('sets a persistent instance\'s health once the checker is NONE; valid is an alias', async () => {
    okText(await register({ ephemeral: 'false' }));
    okText(await cluster());
    okText(await request(t.app).put(HEALTH).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, healthy: 'false' }));
    assert.equal(view().instances[0]!.healthy, false);
    okText(await request(t.app).put(HEALTH).type('form').send({ serviceName: 'svc', ip: '1.1.1.1', port: '80', valid: 'true' }));
    assert.equal(view().instances[0]!.healthy, true);
    okText(await request(t.app).put('/nacos/v1/ns/health').query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, healthy: 'false' }));
    assert.equal(view().instances[0]!.healthy, false);
  });

  it('answers ok and changes nothing for an ephemeral or unknown instance', async () => {
    okText(await register({}));
    okText(await cluster());
    okText(await request(t.app).put(HEALTH).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, healthy: 'false' }));
    okText(await request(t.app).put(HEALTH).query({ serviceName: 'svc', ip: '9.9.9.9', port: 80, healthy: 'false' }));
    assert.equal(view().instances[0]!.healthy, true);
  });

  it('requires healthy (or valid), then serviceName, ip, port', async () => {
    await refused(request(t.app).put(HEALTH).query({ ip: '1.1.1.1', port: 80 }), 400, "Param 'healthy' is required.");
    await refused(request(t.app).put(HEALTH).query({ healthy: 'true', ip: '1.1.1.1', port: 80 }), 400, "Param 'serviceName' is required.");
    await refused(request(t.app).put(HEALTH).query({ healthy: 'true', serviceName: 'svc', port: 80 }), 400, "Param 'ip' is required.");
    await refused(request(t.app).put(HEALTH).query({ valid: 'true', serviceName: 'svc', ip: '1.1.1.1' }), 400, "Param 'port' is required.");
  });
});

describe('operator routes', () => {
  it('metrics answers {"status":"UP"} by default, on /operator and /ops', async () => {
    for (const p of ['/nacos/v1/ns/operator/metrics', '/nacos/v1/ns/ops/metrics']) {
      const r = await request(t.app).get(p).expect(200);
      assert.equal(r.text, '{"status":"UP"}');
    }
    assert.equal((await request(t.app).get('/nacos/v1/ns/operator/metrics').query({ onlyStatus: 'TRUE' }).expect(200)).text, '{"status":"UP"}');
    // Boolean.parseBoolean: "yes" is false, so the full answer.
    assert.equal((await request(t.app).get('/nacos/v1/ns/operator/metrics').query({ onlyStatus: 'yes' }).expect(200)).body.serviceCount, 0);
  });

  it('metrics with onlyStatus=false counts services and instances in Nacos key order', async () => {
    okText(await register({ port: 1 }));
    okText(await register({ port: 2 }));
    okText(await register({ serviceName: 'p', ephemeral: 'false' }));
    const r = await request(t.app).get('/nacos/v1/ns/operator/metrics').query({ onlyStatus: 'false' }).expect(200);
    const keys = Object.keys(r.body);
    assert.deepEqual(keys.slice(0, 10), ['status', 'serviceCount', 'instanceCount', 'subscribeCount', 'responsibleInstanceCount', 'clientCount', 'connectionBasedClientCount', 'ephemeralIpPortClientCount', 'persistentIpPortClientCount', 'responsibleClientCount']);
    assert.equal(r.body.status, 'UP');
    assert.equal(r.body.serviceCount, 2);
    assert.equal(r.body.instanceCount, 3);
    assert.equal(r.body.ephemeralIpPortClientCount, 2);
    assert.equal(r.body.persistentIpPortClientCount, 1);
    assert.equal(r.body.responsibleInstanceCount, 3);
  });

  it('servers lists the members in the Nacos 2.0/2.1 Member shape', async () => {
    for (const p of ['/nacos/v1/ns/operator/servers', '/nacos/v1/ns/ops/servers']) {
      const r = await request(t.app).get(p).expect(200);
      assert.deepEqual(r.body, { servers: [{ ip: '127.0.0.1', port: 8848, state: 'UP', extendInfo: { raftId: 'n1', raftRole: 'leader' }, address: '127.0.0.1:8848', failAccessCnt: 0 }] });
    }
    const r = await request(t.app).get('/nacos/v1/ns/operator/servers').query({ healthy: 'true' }).expect(200);
    assert.equal(r.body.servers.length, 1);
  });
});

describe('request ids', () => {
  it('applies the same X-Request-Id once', async () => {
    okText(await register({ port: 1 }).set('X-Request-Id', 'rid-1'));
    okText(await register({ port: 2 }).set('X-Request-Id', 'rid-1'));
    assert.deepEqual(view().instances.map((i) => i.port), [1]);
    assert.equal(t.entries.length, 2, 'the retry is proposed, and applied as a duplicate');
    // The store's result for a retried id: a duplicate, naming the entry that applied it.
    const again = await t.registry.write({ type: 'deregister', ns: 'public', service: S, ip: '1.1.1.1', port: 1, cluster: 'DEFAULT' }, 'rid-1');
    assert.deepEqual(again, { duplicate: true, appliedAt: 1 });
    assert.equal(view().instances.length, 1);
    okText(await register({ port: 2 }).set('X-Request-Id', 'rid-2'));
    assert.deepEqual(view().instances.map((i) => i.port), [1, 2]);
  });

  it('applies the same RequestId header (the Nacos clients\' one) once, across routes', async () => {
    okText(await register({}).set('RequestId', 'f70df63e-385a-443f-838f-e72e69260cfb'));
    const revision = view().revision;
    okText(await request(t.app).delete(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80 }).set('RequestId', 'f70df63e-385a-443f-838f-e72e69260cfb'));
    assert.equal(view().instances.length, 1, 'the delete carried an id already applied');
    assert.equal(view().revision, revision, 'no datum changed');
    okText(await request(t.app).delete(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80 }));
    assert.equal(view().instances.length, 0);
  });

  it('refuses a request id that is not 1-128 visible ASCII characters, proposing nothing', async () => {
    const msg = 'request id (header X-Request-Id or RequestId) must be 1-128 visible ASCII characters';
    await refused(register({}).set('X-Request-Id', 'has space'), 400, msg);
    await refused(register({}).set('X-Request-Id', 'x'.repeat(129)), 400, msg);
    await refused(register({}).set('RequestId', 'tab\there'), 400, msg);
    okText(await register({}).set('X-Request-Id', 'x'.repeat(128)));
  });
});

describe('body limit', () => {
  it('refuses a form body over the limit and applies nothing', async () => {
    const small = testRegistry({ maxBodyBytes: 2048 });
    try {
      const r = await request(small.app)
        .post(INST)
        .type('form')
        .send({ serviceName: 'svc', ip: '1.1.1.1', port: '80', metadata: JSON.stringify({ k: 'v'.repeat(3000) }) });
      assert.equal(r.status, 413);
      assert.equal(r.text, 'caused: request body too large;');
      assert.equal(small.entries.length, 0);
      assert.equal(small.registry.views.service('public', S).instances.length, 0);
      // Under the limit: fine.
      okText(await request(small.app).post(INST).type('form').send({ serviceName: 'svc', ip: '1.1.1.1', port: '80' }));
      assert.equal(small.entries.length, 1);
    } finally {
      await small.close();
    }
  });
});
