// Nacos Open API v1 service and cluster routes against the registry app built without listening.
// Expected behaviour: Nacos 2.2–2.4 as in docs/nacos/nacos-service-and-v2.md (Part A), with
// Muster's departures (protectThreshold within [0, 1]; v1 errors `caused: <message>;`).

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import request from 'supertest';
import { okText, refusedBy, v1Error } from '../support/nacos-asserts.ts';
import { testRegistry, type TestRegistry } from '../support/registry-app.ts';

const SVC = '/nacos/v1/ns/service';
const SLIST = '/nacos/v1/ns/service/list';
const CLUSTER = '/nacos/v1/ns/cluster';
const INST = '/nacos/v1/ns/instance';
const SPRING_MISSING = "Required request parameter 'serviceName' for method parameter type String is not present";

let t: TestRegistry;
beforeEach(() => {
  t = testRegistry();
});
afterEach(async () => {
  await t.close();
});

const refused = refusedBy(() => t);

const create = (q: Record<string, string> = {}) => request(t.app).post(SVC).query({ serviceName: 'svc', ...q });
const detail = async (q: Record<string, string> = {}) => {
  const r = await request(t.app).get(SVC).query({ serviceName: 'svc', ...q });
  assert.equal(r.status, 200, r.text);
  return r;
};
const register = (q: Record<string, string | number>) => request(t.app).post(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, ...q });
const service = (grouped = 'DEFAULT_GROUP@@svc', ns = 'public') => t.registry.views.service(ns, grouped).service;

describe('POST /nacos/v1/ns/service (create)', () => {
  it('creates a persistent service with Nacos defaults; GET shows them in order', async () => {
    okText(await create());
    const s = service()!;
    assert.equal(s.ephemeral, false);
    assert.equal(s.explicit, true);
    const r = await detail();
    assert.equal(r.text, '{"namespaceId":"public","groupName":"DEFAULT_GROUP","name":"svc","protectThreshold":0,"metadata":{},"selector":{"type":"none","contextType":"NONE"},"clusters":[]}');
  });

  it('takes every parameter from a form body; the group only inside serviceName', async () => {
    okText(
      await request(t.app)
        .post(SVC)
        .type('form')
        .send({ serviceName: 'G@@svc', namespaceId: 'dev', protectThreshold: '0.25', metadata: '{"a":"1"}', selector: '{"type":"label","expression":"CONSUMER.label.a = PROVIDER.label.a"}' }),
    );
    const r = await detail({ serviceName: 'G@@svc', namespaceId: 'dev' });
    assert.deepEqual(r.body, {
      namespaceId: 'dev',
      groupName: 'G',
      name: 'svc',
      protectThreshold: 0.25,
      metadata: { a: '1' },
      selector: { type: 'label', expression: 'CONSUMER.label.a = PROVIDER.label.a', contextType: 'CMDB' },
      clusters: [],
    });
  });

  it('reads no groupName (v1 create takes the group only through serviceName)', async () => {
    okText(await create({ groupName: 'G' }));
    assert.ok(service());
    assert.equal(service('G@@svc'), undefined);
  });

  it('accepts metadata as k=v,k=v and refuses bad metadata text', async () => {
    okText(await create({ metadata: 'a=1,b=2' }));
    assert.deepEqual(service()!.metadata, { a: '1', b: '2' });
    await refused(create({ serviceName: 'x', metadata: 'a:1' }), 400, 'metadata format incorrect:a:1');
  });

  it('parses the selector: blank → none, URL-encoded JSON, label without expression; anything else refused', async () => {
    okText(await create({ serviceName: 's1', selector: '' }));
    assert.deepEqual(service('DEFAULT_GROUP@@s1')!.selector, { type: 'none' });
    okText(await create({ serviceName: 's2', selector: encodeURIComponent('{"type":"label","expression":"a"}') }));
    assert.deepEqual(service('DEFAULT_GROUP@@s2')!.selector, { type: 'label', expression: 'a' });
    okText(await create({ serviceName: 's3', selector: '{"type":"label"}' }));
    assert.deepEqual((await detail({ serviceName: 's3' })).body.selector, { type: 'label', expression: '', contextType: 'CMDB' });
    okText(await create({ serviceName: 's4', selector: '{"type":"none"}' }));
    for (const sel of ['{}', '{"type":"cmdb"}', 'not json', '[1]']) await refused(create({ serviceName: 'bad', selector: sel }), 400, 'not match any type of selector!');
  });

  it('refuses a protectThreshold outside [0, 1] or not a number (Muster departure: Nacos stores any float)', async () => {
    await refused(create({ protectThreshold: '1.5' }), 400, "Param 'protectThreshold' is illegal, it must be between 0 and 1 (got 1.5).");
    await refused(create({ protectThreshold: '-0.1' }), 400, "Param 'protectThreshold' is illegal, it must be between 0 and 1 (got -0.1).");
    await refused(create({ protectThreshold: 'abc' }), 400, 'Param \'protectThreshold\' is illegal, "abc" is not a number.');
    okText(await create({ protectThreshold: '1' }));
    assert.equal(service()!.protectThreshold, 1);
  });

  it('refuses a duplicate with Nacos\' text (400) and changes nothing', async () => {
    okText(await create({ protectThreshold: '0.3' }));
    v1Error(await create(), 400, 'specified service DEFAULT_GROUP@@svc already exists!');
    v1Error(await create({ serviceName: 'DEFAULT_GROUP@@svc' }), 400, 'specified service DEFAULT_GROUP@@svc already exists!');
    assert.equal(service()!.protectThreshold, 0.3);
    // A service created by a registration exists too.
    okText(await register({ serviceName: 'reg' }));
    v1Error(await create({ serviceName: 'reg' }), 400, 'specified service DEFAULT_GROUP@@reg already exists!');
  });

  it('refuses a missing serviceName with Spring\'s @RequestParam text (not the instance routes\' wording)', async () => {
    await refused(request(t.app).post(SVC), 400, SPRING_MISSING);
    await refused(request(t.app).post(SVC).query({ serviceName: '' }), 400, SPRING_MISSING);
    await refused(request(t.app).post(INST).query({ ip: '1.1.1.1', port: 80 }), 400, "Param 'serviceName' is required.");
  });
});

describe('DELETE /nacos/v1/ns/service', () => {
  it('removes an empty service', async () => {
    okText(await create({ serviceName: 'G@@svc' }));
    okText(await request(t.app).delete(SVC).type('form').send({ serviceName: 'G@@svc' }));
    assert.equal(service('G@@svc'), undefined);
    v1Error(await request(t.app).get(SVC).query({ serviceName: 'G@@svc' }), 400, 'service not found, namespace: public, serviceName: G@@svc');
  });

  it('refuses an unknown service and a service with instances, with Nacos\' texts', async () => {
    v1Error(await request(t.app).delete(SVC).query({ serviceName: 'nope' }), 400, 'service DEFAULT_GROUP@@nope not found!');
    okText(await create());
    okText(await register({ ephemeral: 'false' }));
    v1Error(await request(t.app).delete(SVC).query({ serviceName: 'svc' }), 400, "Service DEFAULT_GROUP@@svc is not empty, can't be delete. Please unregister instance first");
    assert.ok(service());
    okText(await request(t.app).delete(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, ephemeral: 'false' }));
    okText(await request(t.app).delete(SVC).query({ serviceName: 'svc' }));
    assert.equal(service(), undefined);
  });

  it('refuses a missing serviceName with Spring\'s text', async () => {
    await refused(request(t.app).delete(SVC), 400, SPRING_MISSING);
  });
});

describe('PUT /nacos/v1/ns/service (update)', () => {
  it('requires serviceName and protectThreshold with WebUtils texts', async () => {
    okText(await create());
    await refused(request(t.app).put(SVC).query({ protectThreshold: '0.5' }), 400, "Param 'serviceName' is required.");
    await refused(request(t.app).put(SVC).query({ serviceName: 'svc' }), 400, "Param 'protectThreshold' is required.");
  });

  it('replaces threshold, metadata and selector; omitted metadata and selector are reset', async () => {
    okText(await create({ metadata: 'a=1', selector: '{"type":"label","expression":"x"}' }));
    okText(await request(t.app).put(SVC).type('form').send({ serviceName: 'svc', protectThreshold: '0.7', metadata: '{"b":"2"}' }));
    let s = service()!;
    assert.deepEqual([s.protectThreshold, s.metadata, s.selector], [0.7, { b: '2' }, { type: 'none' }]);
    okText(await request(t.app).put(SVC).query({ serviceName: 'svc', protectThreshold: '0.1', selector: '{"type":"label","expression":"y"}' }));
    s = service()!;
    assert.deepEqual([s.protectThreshold, s.metadata, s.selector], [0.1, {}, { type: 'label', expression: 'y' }]);
  });

  it('takes a non-numeric protectThreshold as 0 (NumberUtils.toFloat) and refuses one outside [0, 1]', async () => {
    okText(await create({ protectThreshold: '0.5' }));
    okText(await request(t.app).put(SVC).query({ serviceName: 'svc', protectThreshold: 'abc' }));
    assert.equal(service()!.protectThreshold, 0);
    await refused(request(t.app).put(SVC).query({ serviceName: 'svc', protectThreshold: '2' }), 400, "Param 'protectThreshold' is illegal, it must be between 0 and 1 (got 2).");
  });

  it('refuses an unknown service, bad metadata, a bad selector', async () => {
    v1Error(await request(t.app).put(SVC).query({ serviceName: 'nope', protectThreshold: '0' }), 400, 'service DEFAULT_GROUP@@nope not found!');
    okText(await create());
    await refused(request(t.app).put(SVC).query({ serviceName: 'svc', protectThreshold: '0', metadata: 'bad' }), 400, 'metadata format incorrect:bad');
    await refused(request(t.app).put(SVC).query({ serviceName: 'svc', protectThreshold: '0', selector: '{"type":"x"}' }), 400, 'not match any type of selector!');
  });

  it('gives a service created by registration service metadata: the protect threshold applies and it outlives its instances', async () => {
    okText(await register({ healthy: 'false' }));
    assert.equal((await request(t.app).get('/nacos/v1/ns/instance/list').query({ serviceName: 'svc' })).body.reachProtectionThreshold, false);
    okText(await request(t.app).put(SVC).query({ serviceName: 'svc', protectThreshold: '0.5' }));
    const l = (await request(t.app).get('/nacos/v1/ns/instance/list').query({ serviceName: 'svc' })).body;
    assert.equal(l.reachProtectionThreshold, true);
    assert.equal(l.hosts[0].healthy, true);
    okText(await request(t.app).delete(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80 }));
    assert.ok(service(), 'kept after its last instance');
    assert.equal(service()!.ephemeral, true, 'the kind is left as the registration made it');
  });
});

describe('GET /nacos/v1/ns/service (detail)', () => {
  it('lists the clusters that have instances, sorted, with defaults or their settings', async () => {
    okText(await register({ port: 1, clusterName: 'b' }));
    okText(await register({ port: 2, clusterName: 'a' }));
    okText(await register({ port: 3, clusterName: 'b' }));
    okText(await request(t.app).put(CLUSTER).query({ serviceName: 'svc', clusterName: 'b', checkPort: '8080', useInstancePort4Check: 'false', healthChecker: '{"type":"HTTP","path":"/ping","headers":"h:v","expectedResponseCode":204}', metadata: 'k=v' }));
    okText(await request(t.app).put(CLUSTER).query({ serviceName: 'svc', clusterName: 'unused', checkPort: '1', useInstancePort4Check: 'true', healthChecker: '{"type":"NONE"}' }));
    const r = await detail();
    assert.deepEqual(r.body.clusters, [
      { name: 'a', healthChecker: { type: 'TCP' }, metadata: {} },
      { name: 'b', healthChecker: { type: 'HTTP', path: '/ping', headers: 'h:v', expectedResponseCode: 204 }, metadata: { k: 'v' } },
    ]);
  });

  it('answers 400 for an unknown service with the name as sent', async () => {
    v1Error(await request(t.app).get(SVC).query({ serviceName: 'nope' }), 400, 'service not found, namespace: public, serviceName: nope');
    v1Error(await request(t.app).get(SVC).query({ serviceName: 'g@@nope', namespaceId: 'dev' }), 400, 'service not found, namespace: dev, serviceName: g@@nope');
  });

  it('refuses a missing serviceName with Spring\'s text and a bad consistency', async () => {
    v1Error(await request(t.app).get(SVC), 400, SPRING_MISSING);
    okText(await create());
    v1Error(await request(t.app).get(SVC).query({ serviceName: 'svc', consistency: 'x' }), 400, 'consistency must be "linearizable" or "local", got "x"');
    assert.equal((await detail({ consistency: 'linearizable' })).body.name, 'svc');
  });
});

describe('GET /nacos/v1/ns/service/list', () => {
  const page = async (q: Record<string, string>) => {
    const r = await request(t.app).get(SLIST).query(q);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.body), ['count', 'doms']);
    return r.body as { count: number; doms: string[] };
  };

  it('requires pageNo and pageSize', async () => {
    v1Error(await request(t.app).get(SLIST).query({ pageSize: '10' }), 400, "Param 'pageNo' is required.");
    v1Error(await request(t.app).get(SLIST).query({ pageNo: '1' }), 400, "Param 'pageSize' is required.");
    v1Error(await request(t.app).get(SLIST).query({ pageNo: '', pageSize: '10' }), 400, "Param 'pageNo' is required.");
  });

  it('pages bare names of the group, counting them all (empty and registration-made services included)', async () => {
    for (const n of ['e', 'c', 'a']) okText(await create({ serviceName: n }));
    okText(await register({ serviceName: 'b' }));
    okText(await register({ serviceName: 'd', ephemeral: 'false' }));
    okText(await create({ serviceName: 'G@@other' }));
    assert.deepEqual(await page({ pageNo: '1', pageSize: '2' }), { count: 5, doms: ['a', 'b'] });
    assert.deepEqual(await page({ pageNo: '2', pageSize: '2' }), { count: 5, doms: ['c', 'd'] });
    assert.deepEqual(await page({ pageNo: '3', pageSize: '2' }), { count: 5, doms: ['e'] });
    assert.deepEqual(await page({ pageNo: '4', pageSize: '2' }), { count: 5, doms: [] });
    assert.deepEqual(await page({ pageNo: '1', pageSize: '0' }), { count: 5, doms: [] });
    // NumberUtils.toInt: non-numeric is 0; a start below 0 is clamped to 0.
    assert.deepEqual(await page({ pageNo: 'x', pageSize: '2' }), { count: 5, doms: ['a', 'b'] });
    assert.deepEqual(await page({ pageNo: '1', pageSize: '10', groupName: 'G' }), { count: 1, doms: ['other'] });
  });

  it('takes namespaceId and a form body; an unknown namespace or group is empty', async () => {
    okText(await create({ serviceName: 's', namespaceId: 'dev' }));
    assert.deepEqual(await page({ pageNo: '1', pageSize: '10' }), { count: 0, doms: [] });
    const r = await request(t.app).get(SLIST).type('form').send({ pageNo: '1', pageSize: '10', namespaceId: 'dev' }).expect(200);
    assert.deepEqual(r.body, { count: 1, doms: ['s'] });
    assert.deepEqual(await page({ pageNo: '1', pageSize: '10', namespaceId: 'dev', groupName: 'none' }), { count: 0, doms: [] });
  });
});

describe('PUT /nacos/v1/ns/cluster', () => {
  const full = { serviceName: 'svc', clusterName: 'c1', checkPort: '8080', useInstancePort4Check: 'false', healthChecker: '{"type":"NONE"}' };
  const put = (q: Record<string, string>) => request(t.app).put(CLUSTER).query(q);

  it('requires clusterName, serviceName, checkPort, useInstancePort4Check, healthChecker, in that order', async () => {
    okText(await create());
    const { clusterName: _c, ...noCluster } = full;
    await refused(put(noCluster), 400, "Param 'clusterName' is required.");
    const { serviceName: _s, ...noService } = full;
    await refused(put(noService), 400, "Param 'serviceName' is required.");
    const { checkPort: _p, ...noPort } = full;
    await refused(put(noPort), 400, "Param 'checkPort' is required.");
    const { useInstancePort4Check: _u, ...noUse } = full;
    await refused(put(noUse), 400, "Param 'useInstancePort4Check' is required.");
    const { healthChecker: _h, ...noChecker } = full;
    await refused(put(noChecker), 400, "Param 'healthChecker' is required.");
  });

  it('stores the cluster settings (form body alike) and creates an unknown cluster', async () => {
    okText(await create());
    okText(await request(t.app).put(CLUSTER).type('form').send({ ...full, metadata: '{"m":"1"}' }));
    assert.deepEqual(service()!.clusters.c1, { healthChecker: { type: 'NONE' }, checkPort: 8080, useInstancePort4Check: false, metadata: { m: '1' } });
    okText(await put({ ...full, healthChecker: '{"type":"tcp"}', useInstancePort4Check: 'true', checkPort: 'x' }));
    assert.deepEqual(service()!.clusters.c1, { healthChecker: { type: 'TCP' }, checkPort: 0, useInstancePort4Check: true, metadata: {} });
  });

  it('falls back to NONE for an unknown or missing checker type; refuses a checker that is not a JSON object', async () => {
    okText(await create());
    okText(await put({ ...full, healthChecker: '{"type":"MYSQL"}' }));
    assert.deepEqual(service()!.clusters.c1!.healthChecker, { type: 'NONE' });
    okText(await put({ ...full, healthChecker: '{}' }));
    assert.deepEqual(service()!.clusters.c1!.healthChecker, { type: 'NONE' });
    const r = await put({ ...full, healthChecker: 'TCP' });
    assert.equal(r.status, 400);
    assert.match(r.text, /^caused: Param 'healthChecker' is illegal, it must be a JSON object with a type: .*;$/);
  });

  it('refuses an unknown service, a bad cluster name, a bad port, bad metadata', async () => {
    v1Error(await put(full), 400, 'service not found:DEFAULT_GROUP@@svc');
    okText(await create());
    await refused(put({ ...full, clusterName: 'a_b' }), 400, "Param 'cluster' is illegal, illegal characters should not appear in the param.");
    await refused(put({ ...full, checkPort: '70000' }), 400, "Param 'port' is illegal, the value should be between 0 and 65535.");
    await refused(put({ ...full, metadata: 'zzz' }), 400, 'metadata format incorrect:zzz');
    assert.deepEqual(service()!.clusters, {});
  });

  it('works on a service made by a registration', async () => {
    okText(await register({ clusterName: 'c1', ephemeral: 'false' }));
    okText(await put(full));
    assert.deepEqual((await detail()).body.clusters, [{ name: 'c1', healthChecker: { type: 'NONE' }, metadata: {} }]);
  });
});
