// The native watch API against the registry app on a loopback port: blocking queries and SSE
// streams (resume, reset, slow consumers). Changes are made through the registry (each applied
// at once as the next log entry).

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { testRegistry, type TestRegistry } from '../support/registry-app.ts';

const open: { t: TestRegistry; server: Server }[] = [];
after(async () => {
  for (const { t, server } of open) {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await t.close();
  }
});

async function start(opts: Parameters<typeof testRegistry>[0] = {}): Promise<{ t: TestRegistry; base: string; server: Server }> {
  const t = testRegistry(opts);
  const server = createServer(t.app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  open.push({ t, server });
  return { t, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

let rid = 0;
function register(t: TestRegistry, service: string, port: number, metadata: Record<string, string> = {}): Promise<unknown> {
  return t.registry.write(
    { type: 'register', ns: 'public', service: `DEFAULT_GROUP@@${service}`, instance: { ip: '10.0.0.1', port, weight: 1, healthy: true, enabled: true, ephemeral: true, clusterName: 'DEFAULT', metadata } },
    `r${++rid}`,
  );
}

interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
}

/** Reads SSE events from `url` until `stop` says so (or `ms` pass); returns them. */
async function readEvents(url: string, headers: Record<string, string>, stop: (evs: SseEvent[]) => boolean, ms = 5000): Promise<SseEvent[]> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), ms);
  const evs: SseEvent[] = [];
  try {
    const res = await fetch(url, { headers, signal: ctl.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const dec = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += dec.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const e: SseEvent = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const [k, ...v] = line.split(': ');
          (e as Record<string, string>)[k!] = v.join(': ');
        }
        if (e.event) evs.push(e);
      }
      if (stop(evs)) break;
    }
  } catch (e) {
    if ((e as Error).name !== 'AbortError') throw e;
  } finally {
    clearTimeout(timer);
    ctl.abort();
  }
  return evs;
}

describe('blocking queries', () => {
  it('answer at once when the index is behind, with the revision in X-Muster-Index', async () => {
    const { t, base } = await start();
    await register(t, 'a', 1);
    const r = await fetch(`${base}/muster/v1/namespaces/public/services/DEFAULT_GROUP/a?index=0&wait=10s`);
    const rev = Number(r.headers.get('x-muster-index'));
    assert.ok(rev > 0);
    const t0 = Date.now();
    const again = await fetch(`${base}/muster/v1/namespaces/public/services/DEFAULT_GROUP/a?index=${rev - 1}&wait=10s`);
    assert.ok(Date.now() - t0 < 1000, 'behind: no wait');
    assert.equal(((await again.json()) as { instances: unknown[] }).instances.length, 1);
  });

  it('return on the change with the new revision', async () => {
    const { t, base } = await start();
    await register(t, 'b', 1);
    const rev = Number((await fetch(`${base}/muster/v1/namespaces/public/services/DEFAULT_GROUP/b`)).headers.get('x-muster-index'));
    const pending = fetch(`${base}/muster/v1/namespaces/public/services/DEFAULT_GROUP/b?index=${rev}&wait=20s`);
    await new Promise((r) => setTimeout(r, 200));
    await register(t, 'b', 2);
    const r = await pending;
    assert.ok(Number(r.headers.get('x-muster-index')) > rev);
    assert.equal(((await r.json()) as { instances: unknown[] }).instances.length, 2);
  });

  it('time out with an unchanged revision', async () => {
    const { t, base } = await start();
    await register(t, 'c', 1);
    const rev = Number((await fetch(`${base}/muster/v1/namespaces/public/services/DEFAULT_GROUP/c`)).headers.get('x-muster-index'));
    const t0 = Date.now();
    const r = await fetch(`${base}/muster/v1/namespaces/public/services/DEFAULT_GROUP/c?index=${rev}&wait=300ms`);
    assert.ok(Date.now() - t0 >= 280, 'waited');
    assert.equal(Number(r.headers.get('x-muster-index')), rev);
  });

  it('a namespace query wakes on a change to any of its services; a bad wait or index is refused', async () => {
    const { t, base } = await start();
    await register(t, 'n1', 1);
    const rev = Number((await fetch(`${base}/muster/v1/namespaces/public/services`)).headers.get('x-muster-index'));
    const pending = fetch(`${base}/muster/v1/namespaces/public/services?index=${rev}&wait=20s`);
    await new Promise((r) => setTimeout(r, 100));
    await register(t, 'n2', 1);
    const body = (await (await pending).json()) as { services: { name: string }[]; revision: number };
    assert.deepEqual(body.services.map((s) => s.name).sort(), ['n1', 'n2']);
    const bad = await fetch(`${base}/muster/v1/namespaces/public/services?index=${rev}&wait=forever`);
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { message: string }).message, /^wait:/);
    const badIndex = await fetch(`${base}/muster/v1/namespaces/public/services?index=-1`);
    assert.equal(badIndex.status, 400);
  });

  it('200 concurrent waiters on 50 services are each woken only by their own service', async () => {
    const { t, base } = await start();
    for (let s = 0; s < 50; s++) await register(t, `w${s}`, 1);
    const revs = await Promise.all(Array.from({ length: 50 }, async (_, s) => Number((await fetch(`${base}/muster/v1/namespaces/public/services/DEFAULT_GROUP/w${s}`)).headers.get('x-muster-index'))));
    const woken = new Set<number>();
    const waiters = Array.from({ length: 200 }, (_, k) => {
      const s = k % 50;
      return fetch(`${base}/muster/v1/namespaces/public/services/DEFAULT_GROUP/w${s}?index=${revs[s]}&wait=3s`).then(async (r) => {
        if (Number(r.headers.get('x-muster-index')) > revs[s]!) woken.add(k);
        await r.body?.cancel();
      });
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(t.hub.waiting, 200, 'all 200 are waiting');
    for (const s of [3, 17, 42]) await register(t, `w${s}`, 2);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(t.hub.waiting, 200 - 12, 'exactly the 12 waiters of the 3 changed services woke');
    await Promise.all(waiters);
    assert.deepEqual([...woken].sort((a, b) => a - b), [3, 17, 42, 53, 67, 92, 103, 117, 142, 153, 167, 192].sort((a, b) => a - b));
  });
});

describe('SSE watch streams', () => {
  it('a consumer that disconnects and resumes with Last-Event-ID gets exactly the events it missed', async () => {
    const { t, base } = await start();
    await register(t, 's', 1);
    const first = readEvents(`${base}/muster/v1/watch?namespace=public`, {}, (evs) => evs.length >= 2);
    await new Promise((r) => setTimeout(r, 200));
    await register(t, 's', 2);
    await register(t, 'other', 1);
    const seen = await first;
    assert.deepEqual(seen.map((e) => e.event), ['instances', 'instances']);
    const last = seen[1]!.id!;
    // Missed while disconnected: three changes (one a deletion).
    await register(t, 's', 3);
    await t.registry.write({ type: 'deregister', ns: 'public', service: 'DEFAULT_GROUP@@other', ip: '10.0.0.1', port: 1, cluster: 'DEFAULT', ephemeral: true }, `r${++rid}`);
    await register(t, 's', 4);
    const resumed = await readEvents(`${base}/muster/v1/watch?namespace=public`, { 'last-event-id': last }, (evs) => evs.length >= 3, 2000);
    assert.deepEqual(resumed.map((e) => e.event), ['instances', 'deleted', 'instances']);
    const ids = resumed.map((e) => Number(e.id));
    assert.ok(ids.every((id, i) => id > Number(last) && (i === 0 || id > ids[i - 1]!)), 'ordered, after the resume point, no duplicates');
    assert.equal(JSON.parse(resumed[1]!.data!).name, 'other');
    // ?since= is the same resume point.
    const viaQuery = await readEvents(`${base}/muster/v1/watch?namespace=public&since=${last}`, {}, (evs) => evs.length >= 3, 2000);
    assert.deepEqual(viaQuery.map((e) => e.id), resumed.map((e) => e.id));
  });

  it('a resume point older than the history gets `reset` with the full current state, then live events', async () => {
    const { t, base } = await start({ historySize: 16 });
    for (let k = 0; k < 40; k++) await register(t, `h${k % 4}`, k);
    const evsP = readEvents(`${base}/muster/v1/watch?namespace=public&since=1`, {}, (evs) => evs.length >= 2);
    await new Promise((r) => setTimeout(r, 200));
    await register(t, 'h0', 999);
    const evs = await evsP;
    assert.equal(evs[0]!.event, 'reset');
    const reset = JSON.parse(evs[0]!.data!) as { services: { name: string; instances: unknown[] }[]; reason: string };
    assert.deepEqual(reset.services.map((s) => s.name).sort(), ['h0', 'h1', 'h2', 'h3']);
    assert.equal(reset.services.find((s) => s.name === 'h1')!.instances.length, 10);
    assert.match(reset.reason, /older than this node's history/);
    assert.equal(evs[1]!.event, 'instances');
    assert.ok(Number(evs[1]!.id) > Number(evs[0]!.id));
  });

  it('a stream scoped to one service sees only that service', async () => {
    const { t, base } = await start();
    const p = readEvents(`${base}/muster/v1/watch?namespace=public&group=DEFAULT_GROUP&service=only`, {}, (evs) => evs.length >= 1, 3000);
    await new Promise((r) => setTimeout(r, 200));
    await register(t, 'noise', 1);
    await register(t, 'only', 1);
    const evs = await p;
    assert.equal(evs.length, 1);
    assert.equal(JSON.parse(evs[0]!.data!).name, 'only');
  });

  it('a stalled consumer is cut off with a final event, and the node lets go of it', async () => {
    const { t, base } = await start({ sseMaxBufferedBytes: 64 * 1024 });
    const { port } = new URL(base);
    // A raw socket that sends the request and never reads.
    const sock = connect(Number(port), '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write('GET /muster/v1/watch?namespace=public HTTP/1.1\r\nHost: x\r\n\r\n');
    sock.pause();
    await new Promise((r) => setTimeout(r, 200));
    const big: Record<string, string> = {};
    for (let k = 0; k < 40; k++) big[`key${k}`] = 'v'.repeat(20);
    let k = 0;
    const metricsStreams = async () => ((await (await fetch(`${base}/muster/v1/metrics`)).json()) as { watch: { sseStreams: number } }).watch.sseStreams;
    assert.equal(await metricsStreams(), 1);
    // Each event carries every instance of the service (~1 KiB each): the buffer grows fast.
    while ((await metricsStreams()) === 1 && k < 3000) await register(t, 'flood', k++ % 200, big);
    assert.ok(k < 3000, 'the stalled stream was dropped');
    sock.resume();
    let text = '';
    sock.on('data', (b: Buffer) => (text += b.toString()));
    await new Promise((r) => sock.once('close', r));
    assert.match(text, /event: closed\ndata: \{"reason":"consumer too slow/);
    sock.destroy();
  });
});
