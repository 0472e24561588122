import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { after, describe, it } from 'node:test';
import request from 'supertest';
import { createPeerApp } from '../../src/http/peer-app.ts';
import { encodeBatch } from '../../src/http/peer-codec.ts';
import { HttpTransport } from '../../src/http/peer-transport.ts';
import type { Message } from '../../src/consensus/types.ts';

const TOKEN = 'secret-token';
const hb: Message = { type: 'heartbeat', from: 'n1', to: 'n2', term: 3, commit: 7, seq: 1 };
const app: Message = {
  type: 'app',
  from: 'n1',
  to: 'n2',
  term: 3,
  index: 4,
  logTerm: 3,
  commit: 4,
  entries: [
    { index: 5, term: 3, type: 'normal', data: new Uint8Array([1, 2, 3]) },
    { index: 6, term: 3, type: 'conf', change: { type: 'addLearner', node: 'n4', address: '127.0.0.1:8878:7878' } },
  ],
};

function appWithSink() {
  const got: Message[] = [];
  return { got, app: createPeerApp({ token: TOKEN, onMessages: (m) => got.push(...m) }) };
}

describe('peer app', () => {
  it('delivers a valid msgpack batch, binary payloads intact', async () => {
    const { got, app: a } = appWithSink();
    await request(a).post('/raft/messages').set('x-muster-token', TOKEN).set('content-type', 'application/msgpack').send(Buffer.from(encodeBatch([hb, app]))).expect(204);
    assert.equal(got.length, 2);
    assert.deepEqual(got[0], hb);
    assert.deepEqual([...got[1]!.entries![0]!.data!], [1, 2, 3]);
    assert.deepEqual(got[1]!.entries![1]!.change, app.entries![1]!.change);
  });

  it('refuses a request without the cluster token (401) and steps nothing', async () => {
    const { got, app: a } = appWithSink();
    const body = Buffer.from(encodeBatch([hb]));
    await request(a).post('/raft/messages').send(body).expect(401);
    const r = await request(a).post('/raft/messages').set('x-muster-token', 'wrong').send(body).expect(401);
    assert.equal(r.body.code, 'PEER_UNAUTHORIZED');
    assert.equal(got.length, 0);
  });

  it('refuses garbage and malformed messages (400) without stepping any of the batch', async () => {
    const { got, app: a } = appWithSink();
    const post = (body: Buffer) => request(a).post('/raft/messages').set('x-muster-token', TOKEN).set('content-type', 'application/msgpack').send(body);
    await post(Buffer.from('not msgpack at all \xff\xfe')).expect(400);
    const bad = { ...hb, term: -1 };
    const r = await post(Buffer.from(encodeBatch([hb, bad as Message]))).expect(400);
    assert.match(r.body.message, /term/);
    const wrongType = { ...hb, type: 'nope' };
    await post(Buffer.from(encodeBatch([wrongType as unknown as Message]))).expect(400);
    const badEntry = { ...app, entries: [{ index: 1, term: 1, type: 'normal', data: 'not binary' }] };
    await post(Buffer.from(encodeBatch([badEntry as unknown as Message]))).expect(400);
    assert.equal(got.length, 0);
  });
});

describe('http transport', () => {
  const servers: Server[] = [];
  const transports: HttpTransport[] = [];
  after(async () => {
    for (const t of transports) await t.shutdown();
    for (const s of servers) s.close();
  });

  async function node(id: string, urls: Map<string, string>) {
    const t = new HttpTransport({ token: TOKEN, resolve: (p) => urls.get(p) });
    transports.push(t);
    const got: Message[] = [];
    t.listen(id, (m) => got.push(m));
    const srv = createPeerApp({ token: TOKEN, onMessages: (m) => t.deliver(m) }).listen(0, '127.0.0.1');
    servers.push(srv);
    await new Promise((r) => srv.once('listening', r));
    urls.set(id, `http://127.0.0.1:${(srv.address() as AddressInfo).port}`);
    return { t, got };
  }

  it('carries batches between nodes over loopback; a peer that is down does not hold up the others', async () => {
    const urls = new Map<string, string>();
    const a = await node('a', urls);
    const b = await node('b', urls);
    urls.set('dead', 'http://127.0.0.1:9'); // nothing listens there
    const msgs: Message[] = [];
    for (let i = 0; i < 50; i++) {
      msgs.push({ type: 'heartbeat', from: 'a', to: 'dead', term: 1, commit: 0, seq: i });
      msgs.push({ type: 'heartbeat', from: 'a', to: 'b', term: 1, commit: 0, seq: i });
    }
    a.t.send(msgs);
    const deadline = Date.now() + 5000;
    while (b.got.length < 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(b.got.length, 50);
    assert.deepEqual(b.got.map((m) => m.seq), Array.from({ length: 50 }, (_, i) => i), 'in order');
  });
});
