import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { after, describe, it } from 'node:test';
import request from 'supertest';
import { createServer, request as httpRequest } from 'node:http';
import { createPeerListener } from '../../src/http/peer-app.ts';
import { encodeBatch } from '../../src/http/peer-codec.ts';
import { HttpTransport } from '../../src/http/peer-transport.ts';
import type { Message } from '../../src/consensus/types.ts';
import { ConsensusError } from '../../src/consensus/errors.ts';
import { Packr } from 'msgpackr';

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
  return { got, app: createPeerListener({ token: TOKEN, onMessages: (m) => got.push(...m) }) };
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

  it('refuses a batch over the body limit (413) and steps nothing; other paths go to the express routes', async () => {
    const got: Message[] = [];
    const a = createPeerListener({ token: TOKEN, maxBodyBytes: 64, onMessages: (m) => got.push(...m) });
    const r = await request(a).post('/raft/messages').set('x-muster-token', TOKEN).send(Buffer.alloc(100, 1)).expect(413);
    assert.equal(r.body.code, 'PEER_TOO_LARGE');
    assert.equal(got.length, 0);
    const nf = await request(a).get('/nope').set('x-muster-token', TOKEN).expect(404);
    assert.equal(nf.body.code, 'PEER_NOT_FOUND');
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

describe('peer app: what each message type needs', () => {
  const post = (a: ReturnType<typeof createPeerListener>, msgs: unknown[]) =>
    request(a).post('/raft/messages').set('x-muster-token', TOKEN).set('content-type', 'application/msgpack').send(Buffer.from(encodeBatch(msgs as Message[])));

  it('refuses (400, naming the field) a snap message without snap, and steps none of the batch', async () => {
    const got: Message[] = [];
    const warned: string[] = [];
    const a = createPeerListener({ token: TOKEN, nodeId: 'n2', onMessages: (m) => got.push(...m), logger: { warn: (o) => warned.push(JSON.stringify(o)) } });
    const r = await post(a, [hb, { type: 'snap', from: 'n1', to: 'n2', term: 3 }]).expect(400);
    assert.match(r.body.message, /\/1 \(snap\) snap: required/);
    assert.equal(got.length, 0);
    assert.equal(warned.length, 1, 'the refusal is logged');
  });

  it('refuses messages missing what their type needs, with gaps in entries, or addressed to another node', async () => {
    const got: Message[] = [];
    const a = createPeerListener({ token: TOKEN, nodeId: 'n2', onMessages: (m) => got.push(...m) });
    const bad: [unknown, RegExp][] = [
      [{ type: 'app', from: 'n1', to: 'n2', term: 3, index: 4, logTerm: 3, commit: 4 }, /entries: required/],
      [{ ...app, entries: [{ index: 7, term: 3, type: 'normal' }] }, /entries\/0\/index: 7, expected 5/],
      [{ ...app, entries: [{ index: 5, term: 9, type: 'normal' }] }, /entries\/0\/term/],
      [{ ...app, entries: [{ index: 5, term: 3, type: 'conf' }] }, /change: required/],
      [{ type: 'vote', from: 'n1', to: 'n2', term: 3 }, /index: required in vote/],
      [{ type: 'heartbeat', from: 'n1', to: 'n2', term: 3 }, /commit: required/],
      [{ type: 'readIndex', from: 'n1', to: 'n2', term: 3 }, /context: required/],
      [{ type: 'snapResp', from: 'n1', to: 'n2', term: 3, done: true, snapId: 's' }, /index: required/],
      [{ ...hb, to: 'n3' }, /to: addressed to n3, this is n2/],
      [{ ...hb, term: 0 }, /term: must be a positive integer/],
      [{ ...hb, from: 'n2' }, /to itself/],
    ];
    for (const [m, why] of bad) {
      const r = await post(a, [m]).expect(400);
      assert.match(r.body.message, why, JSON.stringify(m));
    }
    assert.equal(got.length, 0);
    await post(a, [hb, app]).expect(204);
    assert.equal(got.length, 2, 'well-formed messages still pass');
  });
});

describe('forwarded writes (POST /raft/propose-batch)', () => {
  it('appends each proposal of a batch and answers each outcome; a malformed batch is refused whole', async () => {
    const seen: number[] = [];
    const a = createPeerListener({
      token: TOKEN,
      onMessages: () => undefined,
      onPropose: async (d) => {
        seen.push(d[0]!);
        if (d[0] === 2) throw new ConsensusError('NOT_LEADER', 'not the leader', { leader: 'n3' });
        return { index: 10 + d[0]!, term: 4 };
      },
    });
    const packr = new Packr({ useRecords: false, moreTypes: false });
    const r = await request(a).post('/raft/propose-batch').set('x-muster-token', TOKEN).set('content-type', 'application/msgpack')
      .send(Buffer.from(packr.pack([new Uint8Array([1]), new Uint8Array([2]), new Uint8Array([3])]))).buffer(true).parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => cb(null, Buffer.concat(chunks)));
      });
    assert.equal(r.status, 200);
    assert.deepEqual(packr.unpack(r.body as Buffer), [{ index: 11, term: 4 }, { code: 'NOT_LEADER', message: 'not the leader', leader: 'n3' }, { index: 13, term: 4 }]);
    assert.deepEqual(seen, [1, 2, 3]);
    await request(a).post('/raft/propose-batch').set('x-muster-token', TOKEN).send(Buffer.from(packr.pack([]))).expect(400);
    await request(a).post('/raft/propose-batch').set('x-muster-token', TOKEN).send(Buffer.from(packr.pack(['text']))).expect(400);
    assert.deepEqual(seen, [1, 2, 3], 'nothing of a refused batch was proposed');
  });
});

describe('peer streams (POST /raft/stream)', () => {
  const frame = (msgs: unknown[]) => {
    const body = Buffer.from(encodeBatch(msgs as Message[]));
    const f = Buffer.alloc(4 + body.length);
    f.writeUInt32BE(body.length, 0);
    body.copy(f, 4);
    return f;
  };
  async function serve(token = TOKEN) {
    const got: Message[] = [];
    const srv = createServer(createPeerListener({ token, onMessages: (m) => got.push(...m) })).listen(0, '127.0.0.1');
    await new Promise((r) => srv.once('listening', r));
    return { got, srv, port: (srv.address() as AddressInfo).port };
  }
  function stream(port: number, headers: Record<string, string>, frames: Buffer[]): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/raft/stream', method: 'POST', headers, agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      for (const f of frames) req.write(f);
      req.end();
    });
  }

  it('steps each batch of a stream in order, split across chunks or not; answers 200 when it ends', async () => {
    const { got, srv, port } = await serve();
    const all = Buffer.concat([frame([hb]), frame([{ ...hb, seq: 8 }, app])]);
    const r = await stream(port, { 'x-muster-token': TOKEN }, [all.subarray(0, 5), all.subarray(5, 30), all.subarray(30)]);
    srv.close();
    assert.equal(r.status, 200);
    assert.deepEqual(got.map((m) => m.seq ?? m.type), [1, 8, 'app']);
  });

  it('refuses a stream without the token (401) and a malformed batch (400, the stream ends; earlier batches stand)', async () => {
    const { got, srv, port } = await serve();
    const r1 = await stream(port, {}, [frame([hb])]);
    assert.equal(r1.status, 401);
    assert.equal(got.length, 0);
    const r2 = await stream(port, { 'x-muster-token': TOKEN }, [frame([hb]), frame([{ ...hb, term: -1 }]), frame([hb])]);
    srv.close();
    assert.equal(r2.status, 400);
    assert.equal(got.length, 1, 'only the batch before the malformed one was stepped');
  });

  it("reports a sender's stream that closes — ended, or cut off as by a killed process — by the sender's id", async () => {
    const closed: string[] = [];
    const srv = createServer(createPeerListener({ token: TOKEN, onMessages: () => undefined, onStreamClosed: (from) => closed.push(from) })).listen(0, '127.0.0.1');
    await new Promise((r) => srv.once('listening', r));
    const port = (srv.address() as AddressInfo).port;
    await stream(port, { 'x-muster-token': TOKEN, 'x-muster-from': 'n1' }, [frame([hb])]);
    // A stream cut off mid-way (its socket destroyed, as when the sending process is killed).
    await new Promise<void>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/raft/stream', method: 'POST', headers: { 'x-muster-token': TOKEN, 'x-muster-from': 'n3' }, agent: false });
      req.on('error', () => undefined);
      req.write(frame([hb]), () => setTimeout(() => (req.destroy(), resolve()), 20));
    });
    for (let i = 0; i < 50 && closed.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    srv.close();
    assert.deepEqual(closed, ['n1', 'n3']);
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
    const srv = createServer(createPeerListener({ token: TOKEN, onMessages: (m) => t.deliver(m) })).listen(0, '127.0.0.1');
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
