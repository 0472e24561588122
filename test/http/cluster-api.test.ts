import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import { createServer, type AddressInfo } from 'node:net';
import request from 'supertest';
import { clusterRouter, statusOf } from '../../src/http/cluster-api.ts';
import type { RaftStatus } from '../../src/consensus/raft.ts';
import type { ClusterNode } from '../../src/server/cluster-node.ts';

function appWith(status: Partial<RaftStatus>, calls: string[] = []) {
  const full: RaftStatus = {
    id: 'n1', term: 7, vote: null, role: 'follower', lead: null, commit: 10, applied: 9, firstIndex: 1, lastIndex: 10,
    conf: { voters: ['n1', 'n2', 'n3'], learners: [], addresses: {} }, progress: {}, leadTransferee: null, ...status,
  };
  const raft = {
    status: () => full,
    addNode: async (id: string) => (calls.push(`add ${id}`), { index: 20, term: 7, result: null }),
    promote: async (id: string) => (calls.push(`promote ${id}`), { index: 21, term: 7, result: null }),
  };
  const node = { raft, lastContact: () => null } as unknown as ClusterNode;
  const app = express();
  app.use(clusterRouter(node));
  return app;
}

describe('health', () => {
  it('200 UP with the documented shape when a leader is known', async () => {
    const r = await request(appWith({ lead: 'n2' })).get('/muster/v1/health').expect(200);
    assert.deepEqual(r.body, { status: 'UP', nodeId: 'n1', role: 'follower', leader: 'n2', term: 7, commitIndex: 10, appliedIndex: 9 });
  });

  it('503 with the same shape when no leader is known', async () => {
    const r = await request(appWith({ lead: null, role: 'candidate' })).get('/muster/v1/health').expect(503);
    assert.deepEqual(r.body, { status: 'DOWN', nodeId: 'n1', role: 'candidate', leader: null, term: 7, commitIndex: 10, appliedIndex: 9 });
  });

  it('reports a node outside the voters as a learner', async () => {
    const r = await request(appWith({ id: 'n4', lead: 'n1' })).get('/muster/v1/health').expect(200);
    assert.equal(r.body.role, 'learner');
  });
});

describe('cluster admin input', () => {
  it('refuses a bad node id or address with a 400 naming the field, changing nothing', async () => {
    const app = appWith({ lead: 'n1', role: 'leader' });
    const a = await request(app).post('/muster/v1/cluster/nodes').send({ id: 'bad id!', address: '127.0.0.1:1:2' }).expect(400);
    assert.match(a.body.message, /^id:/);
    const b = await request(app).post('/muster/v1/cluster/nodes').send({ id: 'n4', address: 'nowhere' }).expect(400);
    assert.match(b.body.message, /^address:/);
    const c = await request(app).post('/muster/v1/cluster/leader').send({}).expect(400);
    assert.match(c.body.message, /^to:/);
  });

  it('maps each consensus code to one status', () => {
    assert.equal(statusOf('INVALID'), 400);
    assert.equal(statusOf('NOT_LEADER'), 503);
    assert.equal(statusOf('CONF_PENDING'), 409);
    assert.equal(statusOf('UNKNOWN'), 504);
  });
});

describe('adding a node is idempotent', () => {
  const conf = { voters: ['n1', 'n2', 'n3'], learners: ['n4'], addresses: { n4: '127.0.0.1:8878:7878' } };
  it('a new node is added (learner, caught up, promoted)', async () => {
    const calls: string[] = [];
    await request(appWith({ lead: 'n1', role: 'leader', conf }, calls)).post('/muster/v1/cluster/nodes').send({ id: 'n5', address: '127.0.0.1:8888:7888' }).expect(200);
    assert.deepEqual(calls, ['add n5']);
  });
  it('an existing learner is promoted, an existing voter left alone', async () => {
    const calls: string[] = [];
    const app = appWith({ lead: 'n1', role: 'leader', conf }, calls);
    await request(app).post('/muster/v1/cluster/nodes').send({ id: 'n4', address: '127.0.0.1:8878:7878' }).expect(200);
    const r = await request(app).post('/muster/v1/cluster/nodes').send({ id: 'n2', address: '127.0.0.1:8858:7858' }).expect(200);
    assert.equal(r.body.voter, true);
    assert.deepEqual(calls, ['promote n4']);
  });
});

describe('membership requests passed to the leader', () => {
  it('a lost answer from the leader is UNKNOWN (504), not NOT_LEADER', async () => {
    // A "leader" that takes the request and drops the connection without answering.
    let got = 0;
    const srv = createServer((sock) => {
      sock.once('data', () => {
        got++;
        sock.destroy();
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as AddressInfo).port;
    try {
      const conf = { voters: ['n1', 'n2', 'n3'], learners: [], addresses: { n2: `127.0.0.1:${port}:1` } };
      const app = appWith({ lead: 'n2', role: 'follower', conf });
      const r = await request(app).post('/muster/v1/cluster/nodes').send({ id: 'n5', address: '127.0.0.1:8888:7888' }).expect(504);
      assert.equal(r.body.code, 'UNKNOWN');
      assert.equal(got, 1, 'the request reached the leader');
      const d = await request(app).delete('/muster/v1/cluster/nodes/n3').expect(504);
      assert.equal(d.body.code, 'UNKNOWN');
    } finally {
      srv.close();
    }
  });

  it('a leader that refuses the connection: nothing was sent, NOT_LEADER (503)', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const conf = { voters: ['n1', 'n2', 'n3'], learners: [], addresses: { n2: `127.0.0.1:${port}:1` } };
    const r = await request(appWith({ lead: 'n2', role: 'follower', conf })).post('/muster/v1/cluster/leader').send({ to: 'n3' }).expect(503);
    assert.equal(r.body.code, 'NOT_LEADER');
  });
});
