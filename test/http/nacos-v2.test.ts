// Nacos Open API v2 (2.2+) against the registry app built without listening: Result bodies
// `{code, message, data}` with Nacos' ErrorCode values and HTTP statuses
// (docs/nacos/nacos-service-and-v2.md Part B); the beat answers the plain v1-style object.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import request from 'supertest';
import type { Response } from 'supertest';
import { testRegistry, type TestRegistry } from '../support/registry-app.ts';

const INST = '/nacos/v2/ns/instance';
const LIST = '/nacos/v2/ns/instance/list';
const BEAT = '/nacos/v2/ns/instance/beat';
const SVC = '/nacos/v2/ns/service';
const SLIST = '/nacos/v2/ns/service/list';
const HEALTH = '/nacos/v2/ns/health/instance';
const S = 'DEFAULT_GROUP@@svc';
const OK = { code: 0, message: 'success', data: 'ok' };

let t: TestRegistry;
beforeEach(() => {
  t = testRegistry();
});
afterEach(async () => {
  await t.close();
});

const CODES = {
  10000: 'parameter missing',
  20002: 'parameter validate error',
  20004: 'resource not found',
  21001: 'weight error',
  21004: 'instance error',
  21006: 'selector error',
  21007: 'service already exist',
  21008: 'service not exist',
  21009: 'service delete failure',
  30000: 'server error',
} as const;

function v2Error(r: Response, status: number, code: keyof typeof CODES, data: string): void {
  assert.equal(r.status, status, `status of ${r.text}`);
  assert.match(r.headers['content-type'] ?? '', /^application\/json/);
  assert.deepEqual(r.body, { code, message: CODES[code], data });
  assert.deepEqual(Object.keys(r.body), ['code', 'message', 'data']);
}

function ok(r: Response): void {
  assert.equal(r.status, 200, r.text);
  assert.equal(r.text, JSON.stringify(OK));
}

async function refused(r: Promise<Response> | request.Test, status: number, code: keyof typeof CODES, data: string): Promise<void> {
  const before = t.entries.length;
  v2Error(await r, status, code, data);
  assert.equal(t.entries.length, before, `refused request "${data}" reached the log`);
}

const register = (q: Record<string, string | number> = {}) => request(t.app).post(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, ...q });
const view = (grouped = S, ns = 'public') => t.registry.views.service(ns, grouped);

describe('v2 instance writes', () => {
  it('registers with defaults and answers {"code":0,"message":"success","data":"ok"}', async () => {
    ok(await register());
    const i = view().instances[0]!;
    assert.deepEqual({ id: i.instanceId, weight: i.weight, healthy: i.healthy, enabled: i.enabled, ephemeral: i.ephemeral, metadata: i.metadata }, { id: '1.1.1.1#80#DEFAULT#DEFAULT_GROUP@@svc', weight: 1, healthy: true, enabled: true, ephemeral: true, metadata: {} });
  });

  it('takes groupName, namespaceId and every field from a form body; no enable alias', async () => {
    ok(await request(t.app).post(INST).type('form').send({ serviceName: 'svc', groupName: 'G', namespaceId: 'dev', ip: '2.2.2.2', port: '81', weight: '3', healthy: 'false', enable: 'false', clusterName: 'c1', metadata: 'a=1' }));
    const i = view('G@@svc', 'dev').instances[0]!;
    assert.deepEqual({ id: i.instanceId, weight: i.weight, healthy: i.healthy, enabled: i.enabled, metadata: i.metadata }, { id: '2.2.2.2#81#c1#G@@svc', weight: 3, healthy: false, enabled: true, metadata: { a: '1' } });
    ok(await register({ port: 82, enabled: 'false' }));
    assert.equal(view().instances[0]!.enabled, false);
  });

  it('answers 10000 with the form texts for missing serviceName, ip, port', async () => {
    await refused(request(t.app).post(INST).query({ ip: '1.1.1.1', port: 80 }), 400, 10000, "Required parameter 'serviceName' type String is not present");
    await refused(request(t.app).post(INST).query({ serviceName: 'svc', port: 80 }), 400, 10000, "Required parameter 'ip' type String is not present");
    await refused(request(t.app).post(INST).query({ serviceName: 'svc', ip: '1.1.1.1' }), 400, 10000, "Required parameter 'port' type Integer is not present");
    await refused(request(t.app).delete(INST).query({ serviceName: 'svc', ip: '1.1.1.1' }), 400, 10000, "Required parameter 'port' type Integer is not present");
    await refused(request(t.app).put(INST).query({ ip: '1.1.1.1', port: 80 }), 400, 10000, "Required parameter 'serviceName' type String is not present");
  });

  it('answers 20002 for a bad port or a serviceName holding @@', async () => {
    await refused(register({ port: 'x' }), 400, 20002, 'For input string: "x"');
    await refused(register({ serviceName: 'G@@svc' }), 400, 20002, "Param 'serviceName' is illegal, illegal characters should not appear in the param.");
  });

  it('answers 21001 for a weight out of range', async () => {
    await refused(register({ weight: 10001 }), 400, 21001, 'instance format invalid: The weights range from 0.0 to 10000.0');
    await refused(request(t.app).delete(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, weight: -1 }), 400, 21001, 'instance format invalid: The weights range from 0.0 to 10000.0');
  });

  it('answers 21004 for heartbeat timing and cluster name (checkInstanceIsLegal)', async () => {
    await refused(register({ metadata: '{"preserved.heart.beat.interval":"16000"}' }), 400, 21004, "Instance 'heart beat interval' must less than 'heart beat timeout' and 'ip delete timeout'.");
    await refused(register({ clusterName: 'c_1' }), 400, 21004, "Instance 'clusterName' should be characters with only 0-9a-zA-Z-. (current: c_1)");
  });

  it('answers 30000 (HTTP 400) for bad metadata (a plain NacosException)', async () => {
    await refused(register({ metadata: 'oops' }), 400, 30000, 'metadata format incorrect:oops');
  });

  it('answers 30000 with the NacosRuntimeException message (HTTP 400) for the ephemeral/persistent rule', async () => {
    ok(await register());
    v2Error(await register({ port: 81, ephemeral: 'false' }), 400, 30000, "errCode: 400, errMsg: Current service DEFAULT_GROUP@@svc is ephemeral service, can't register persistent instance. ");
    ok(await request(t.app).post(SVC).query({ serviceName: 'p' }));
    v2Error(await register({ serviceName: 'p' }), 400, 30000, "errCode: 400, errMsg: Current service DEFAULT_GROUP@@p is persistent service, can't register ephemeral instance. ");
  });

  it('deregisters (unknown: still ok)', async () => {
    ok(await register());
    ok(await request(t.app).delete(INST).type('form').send({ serviceName: 'svc', ip: '1.1.1.1', port: '80' }));
    assert.equal(view().instances.length, 0);
    ok(await request(t.app).delete(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80 }));
  });

  it('updates weight, enabled and metadata; 21004 for an unknown service or instance', async () => {
    v2Error(
      await request(t.app).put(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80 }),
      400,
      21004,
      "service not found, namespace: public, service: Service{namespace='public', group='DEFAULT_GROUP', name='svc', ephemeral=true, revision=0}",
    );
    ok(await register({ metadata: 'a=1' }));
    v2Error(await request(t.app).put(INST).query({ serviceName: 'svc', ip: '1.1.1.2', port: 80 }), 400, 21004, 'instance not exist: 1.1.1.2#80#DEFAULT#DEFAULT_GROUP@@svc');
    ok(await request(t.app).put(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, weight: 5, enabled: 'false', metadata: 'b=2' }));
    const i = view().instances[0]!;
    assert.deepEqual([i.weight, i.enabled, i.metadata], [5, false, { a: '1', b: '2' }]);
  });

  it('patches the fields given; 20004 (HTTP 404) when the instance is not there', async () => {
    await refused(request(t.app).patch(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, weight: 2 }), 404, 20004, 'no ips found for cluster DEFAULT in service DEFAULT_GROUP@@svc');
    ok(await register({ weight: 3 }));
    await refused(request(t.app).patch(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, clusterName: 'c2' }), 404, 20004, 'no matched ip found!');
    ok(await request(t.app).patch(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, enabled: 'false' }));
    assert.deepEqual([view().instances[0]!.weight, view().instances[0]!.enabled], [3, false]);
  });
});

describe('v2 instance reads', () => {
  it('GET /instance answers InstanceDetailInfoVo with the grouped name', async () => {
    ok(await register({ serviceName: 'svc', groupName: 'G', weight: 2, metadata: 'a=1' }));
    const r = await request(t.app).get(INST).query({ serviceName: 'svc', groupName: 'G', ip: '1.1.1.1', port: 80 }).expect(200);
    assert.equal(r.text, JSON.stringify({ code: 0, message: 'success', data: { serviceName: 'G@@svc', ip: '1.1.1.1', port: 80, clusterName: 'DEFAULT', weight: 2, healthy: true, instanceId: '1.1.1.1#80#DEFAULT#G@@svc', metadata: { a: '1' } } }));
  });

  it('GET /instance: 20004 with HTTP 404 when absent; Spring texts (10000) when parameters are missing', async () => {
    v2Error(await request(t.app).get(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80 }), 404, 20004, 'no ips found for cluster DEFAULT in service DEFAULT_GROUP@@svc');
    ok(await register());
    v2Error(await request(t.app).get(INST).query({ serviceName: 'svc', ip: '1.1.1.1', port: 81 }), 404, 20004, 'no matched ip found!');
    v2Error(await request(t.app).get(INST).query({ ip: '1.1.1.1', port: 80 }), 400, 10000, "Required request parameter 'serviceName' for method parameter type String is not present");
    v2Error(await request(t.app).get(INST).query({ serviceName: 'svc', port: 80 }), 400, 10000, "Required request parameter 'ip' for method parameter type String is not present");
    v2Error(await request(t.app).get(INST).query({ serviceName: 'svc', ip: '1.1.1.1' }), 400, 10000, "Required request parameter 'port' for method parameter type Integer is not present");
  });

  it('GET /instance/list answers the ServiceInfo in data; clusterName filters and is echoed; healthyOnly', async () => {
    ok(await register({ port: 1, clusterName: 'c1' }));
    ok(await register({ port: 2, healthy: 'false' }));
    ok(await register({ port: 3, enabled: 'false' }));
    let r = await request(t.app).get(LIST).query({ serviceName: 'svc' }).expect(200);
    assert.deepEqual(Object.keys(r.body), ['code', 'message', 'data']);
    assert.equal(r.body.code, 0);
    const d = r.body.data;
    assert.deepEqual(Object.keys(d), ['name', 'groupName', 'clusters', 'cacheMillis', 'hosts', 'lastRefTime', 'checksum', 'allIPs', 'reachProtectionThreshold', 'valid']);
    assert.equal(d.name, S);
    assert.equal(d.clusters, '');
    assert.deepEqual(d.hosts.map((h: { port: number }) => h.port), [1, 2]);
    r = await request(t.app).get(LIST).query({ serviceName: 'svc', clusterName: 'c1' }).expect(200);
    assert.equal(r.body.data.clusters, 'c1');
    assert.deepEqual(r.body.data.hosts.map((h: { port: number }) => h.port), [1]);
    r = await request(t.app).get(LIST).query({ serviceName: 'svc', healthyOnly: 'true' }).expect(200);
    assert.deepEqual(r.body.data.hosts.map((h: { port: number }) => h.port), [1]);
    r = await request(t.app).get(LIST).query({ serviceName: 'nope', groupName: 'G' }).expect(200);
    assert.equal(r.body.data.name, 'G@@nope');
    assert.deepEqual(r.body.data.hosts, []);
    v2Error(await request(t.app).get(LIST), 400, 10000, "Required request parameter 'serviceName' for method parameter type String is not present");
  });
});

describe('v2 beat', () => {
  it('answers the plain object, not a Result', async () => {
    let r = await request(t.app).put(BEAT).query({ serviceName: S, ip: '1.1.1.1', port: 80 }).expect(200);
    assert.equal(r.text, '{"clientBeatInterval":5000,"code":20404,"lightBeatEnabled":true}');
    ok(await register());
    const n = t.entries.length;
    r = await request(t.app).put(BEAT).query({ serviceName: S, ip: '1.1.1.1', port: 80 }).expect(200);
    assert.equal(r.text, '{"clientBeatInterval":5000,"code":10200,"lightBeatEnabled":true}');
    assert.equal(t.entries.length, n);
  });

  it('registers an unknown instance from a full beat', async () => {
    const beat = JSON.stringify({ serviceName: S, ip: '3.3.3.3', port: 90, cluster: 'c1', weight: 1, metadata: { a: 'b' } });
    const r = await request(t.app).put(BEAT).type('form').send({ serviceName: S, beat }).expect(200);
    assert.equal(r.body.code, 10200);
    assert.equal(view().instances[0]!.instanceId, '3.3.3.3#90#c1#DEFAULT_GROUP@@svc');
  });

  it('renders its errors as Results: a missing serviceName with the @RequestParam text', async () => {
    await refused(request(t.app).put(BEAT).query({ ip: '1.1.1.1', port: 80 }), 400, 10000, "Required request parameter 'serviceName' for method parameter type String is not present");
    await refused(request(t.app).put(BEAT).query({ serviceName: '@@svc', ip: '1.1.1.1', port: 80 }), 400, 20002, "Param 'serviceName' is illegal, groupName can't be empty");
  });
});

describe('v2 services', () => {
  it('POST creates a persistent service by default; GET answers ServiceDetailInfo', async () => {
    ok(await request(t.app).post(SVC).query({ serviceName: 'svc' }));
    const r = await request(t.app).get(SVC).query({ serviceName: 'svc' }).expect(200);
    assert.equal(r.text, JSON.stringify({ code: 0, message: 'success', data: { namespace: 'public', serviceName: 'svc', groupName: 'DEFAULT_GROUP', clusterMap: {}, metadata: {}, protectThreshold: 0, selector: { type: 'none', contextType: 'NONE' }, ephemeral: false } }));
  });

  it('POST with ephemeral=true makes an ephemeral service; every field from a form body', async () => {
    ok(await request(t.app).post(SVC).type('form').send({ serviceName: 'svc', groupName: 'G', namespaceId: 'dev', ephemeral: 'true', protectThreshold: '0.4', metadata: '{"m":"1"}', selector: '{"type":"label","expression":"e"}' }));
    ok(await register({ serviceName: 'svc', groupName: 'G', namespaceId: 'dev', clusterName: 'c1' }));
    const r = await request(t.app).get(SVC).query({ serviceName: 'svc', groupName: 'G', namespaceId: 'dev' }).expect(200);
    assert.deepEqual(r.body.data, {
      namespace: 'dev',
      serviceName: 'svc',
      groupName: 'G',
      clusterMap: { c1: { clusterName: 'c1', healthChecker: { type: 'TCP' }, metadata: {}, hosts: null } },
      metadata: { m: '1' },
      protectThreshold: 0.4,
      selector: { type: 'label', expression: 'e', contextType: 'CMDB' },
      ephemeral: true,
    });
  });

  it('POST: 10000 without serviceName, 21006 for a bad selector, 21007 for a duplicate, 20002 for a bad threshold', async () => {
    await refused(request(t.app).post(SVC), 400, 10000, "Required parameter 'serviceName' type String is not present");
    await refused(request(t.app).post(SVC).query({ serviceName: 'svc', selector: '{"type":"zone"}' }), 400, 21006, 'not match any type of selector!');
    await refused(request(t.app).post(SVC).query({ serviceName: 'svc', protectThreshold: '3' }), 400, 20002, "Param 'protectThreshold' is illegal, it must be between 0 and 1 (got 3).");
    await refused(request(t.app).post(SVC).query({ serviceName: 'svc', metadata: 'q' }), 400, 30000, 'metadata format incorrect:q');
    ok(await request(t.app).post(SVC).query({ serviceName: 'svc' }));
    v2Error(await request(t.app).post(SVC).query({ serviceName: 'svc' }), 400, 21007, 'specified service DEFAULT_GROUP@@svc already exists!');
  });

  it('PUT replaces the fields, resetting omitted ones; 21008 for an unknown service', async () => {
    v2Error(await request(t.app).put(SVC).query({ serviceName: 'svc' }), 400, 21008, 'service DEFAULT_GROUP@@svc not found!');
    ok(await request(t.app).post(SVC).query({ serviceName: 'svc', protectThreshold: '0.5', metadata: 'a=1' }));
    ok(await request(t.app).put(SVC).query({ serviceName: 'svc', selector: '{"type":"label","expression":"z"}' }));
    const s = view().service!;
    assert.deepEqual([s.protectThreshold, s.metadata, s.selector, s.ephemeral], [0, {}, { type: 'label', expression: 'z' }, false]);
    await refused(request(t.app).put(SVC).query({ serviceName: 'svc', selector: '{}' }), 400, 21006, 'not match any type of selector!');
    await refused(request(t.app).put(SVC), 400, 10000, "Required parameter 'serviceName' type String is not present");
  });

  it('DELETE: 21008 unknown, 21009 not empty, Spring text without serviceName', async () => {
    v2Error(await request(t.app).delete(SVC).query({ serviceName: 'svc' }), 400, 21008, 'service DEFAULT_GROUP@@svc not found!');
    ok(await register());
    v2Error(await request(t.app).delete(SVC).query({ serviceName: 'svc' }), 400, 21009, "Service DEFAULT_GROUP@@svc is not empty, can't be delete. Please unregister instance first");
    await refused(request(t.app).delete(SVC), 400, 10000, "Required request parameter 'serviceName' for method parameter type String is not present");
    ok(await request(t.app).post(SVC).query({ serviceName: 'empty', groupName: 'G' }));
    ok(await request(t.app).delete(SVC).query({ serviceName: 'empty', groupName: 'G' }));
    assert.equal(view('G@@empty').service, undefined);
  });

  it('GET: 21008 with the grouped name for an unknown service', async () => {
    v2Error(await request(t.app).get(SVC).query({ serviceName: 'nope' }), 400, 21008, 'service not found, namespace: public, serviceName: DEFAULT_GROUP@@nope');
    v2Error(await request(t.app).get(SVC).query({ serviceName: 'nope', groupName: 'G', namespaceId: 'dev' }), 400, 21008, 'service not found, namespace: dev, serviceName: G@@nope');
  });

  it('GET /service/list answers {count, services}: pageNo 1 and pageSize 20 by default, groupName', async () => {
    for (let k = 0; k < 25; k++) ok(await request(t.app).post(SVC).query({ serviceName: `s${String(k).padStart(2, '0')}` }));
    ok(await request(t.app).post(SVC).query({ serviceName: 'x', groupName: 'G' }));
    let r = await request(t.app).get(SLIST).expect(200);
    assert.deepEqual(Object.keys(r.body.data), ['count', 'services']);
    assert.equal(r.body.code, 0);
    assert.equal(r.body.data.count, 25);
    assert.equal(r.body.data.services.length, 20);
    assert.equal(r.body.data.services[0], 's00');
    r = await request(t.app).get(SLIST).query({ pageNo: '2' }).expect(200);
    assert.deepEqual(r.body.data.services, ['s20', 's21', 's22', 's23', 's24']);
    r = await request(t.app).get(SLIST).query({ pageNo: '2', pageSize: '10' }).expect(200);
    assert.equal(r.body.data.services[0], 's10');
    r = await request(t.app).get(SLIST).query({ pageSize: '100000' }).expect(200);
    assert.equal(r.body.data.services.length, 25);
    r = await request(t.app).get(SLIST).query({ groupName: 'G' }).expect(200);
    assert.deepEqual(r.body.data, { count: 1, services: ['x'] });
  });
});

describe('v2 health and operator', () => {
  it('PUT /health/instance: healthy checked first (10000), 30000 while the checker runs, then ok', async () => {
    await refused(request(t.app).put(HEALTH).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80 }), 400, 10000, "Required parameter 'healthy' type Boolean is not present");
    await refused(request(t.app).put(HEALTH).query({ healthy: 'false', ip: '1.1.1.1', port: 80 }), 400, 10000, "Required parameter 'serviceName' type String is not present");
    ok(await register({ ephemeral: 'false' }));
    v2Error(await request(t.app).put(HEALTH).query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, healthy: 'false' }), 400, 30000, 'health check is still working, service: DEFAULT_GROUP@@svc, cluster: DEFAULT');
    const c = await request(t.app).put('/nacos/v1/ns/cluster').query({ serviceName: 'svc', clusterName: 'DEFAULT', checkPort: '80', useInstancePort4Check: 'true', healthChecker: '{"type":"NONE"}' });
    assert.equal(c.text, 'ok');
    ok(await request(t.app).put(HEALTH).type('form').send({ serviceName: 'svc', ip: '1.1.1.1', port: '80', healthy: 'false' }));
    assert.equal(view().instances[0]!.healthy, false);
    ok(await request(t.app).put('/nacos/v2/ns/health').query({ serviceName: 'svc', ip: '1.1.1.1', port: 80, healthy: 'true' }));
    assert.equal(view().instances[0]!.healthy, true);
  });

  it('operator/metrics answers {status} by default in a Result, on /operator and /ops', async () => {
    for (const p of ['/nacos/v2/ns/operator/metrics', '/nacos/v2/ns/ops/metrics']) {
      const r = await request(t.app).get(p).expect(200);
      assert.equal(r.text, '{"code":0,"message":"success","data":{"status":"UP"}}');
    }
    ok(await register());
    const r = await request(t.app).get('/nacos/v2/ns/operator/metrics').query({ onlyStatus: 'false' }).expect(200);
    assert.equal(r.body.data.status, 'UP');
    assert.equal(r.body.data.serviceCount, 1);
    assert.equal(r.body.data.instanceCount, 1);
  });
});

describe('v2 request ids and body limit', () => {
  it('applies the same X-Request-Id once and refuses a bad one with 20002', async () => {
    ok(await register({ port: 1 }).set('X-Request-Id', 'same'));
    ok(await register({ port: 2 }).set('X-Request-Id', 'same'));
    assert.deepEqual(view().instances.map((i) => i.port), [1]);
    await refused(register({ port: 3 }).set('X-Request-Id', 'not ok'), 400, 20002, 'request id (header X-Request-Id or RequestId) must be 1-128 visible ASCII characters');
  });

  it('refuses a body over the limit as a Result (HTTP 413) and applies nothing', async () => {
    const small = testRegistry({ maxBodyBytes: 2048 });
    try {
      const r = await request(small.app).post(SVC).type('form').send({ serviceName: 'svc', metadata: `k=${'v'.repeat(4000)}` });
      assert.equal(r.status, 413);
      assert.deepEqual(r.body, { code: 20002, message: 'parameter validate error', data: 'request body too large' });
      assert.equal(small.entries.length, 0);
      assert.equal(small.registry.views.service('public', S).service, undefined);
    } finally {
      await small.close();
    }
  });
});
