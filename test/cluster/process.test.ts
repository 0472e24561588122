// Process-level behaviour: bad configuration, SIGSTOP of the leader.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { ProcCluster } from '../support/processes.ts';

const ENTRY = new URL('./kv-server.ts', import.meta.url).pathname;

describe('node process', { timeout: 120_000 }, () => {
  it('a bad config value stops the process with a message naming the field', () => {
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, ['--import', 'tsx', ENTRY], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
    const a = run({ MUSTER_HTTP_PORT: 'eighty' });
    assert.equal(a.status, 2);
    assert.match(a.stderr, /MUSTER_HTTP_PORT must be an integer/);
    const b = run({ MUSTER_LOG_LEVEL: 'loud' });
    assert.equal(b.status, 2);
    assert.match(b.stderr, /logLevel/);
  });

  const c = new ProcCluster(ENTRY);
  after(() => c.shutdown());

  it('SIGSTOP the leader: a new leader is elected; on SIGCONT the old one steps down and its pending writes end with a typed outcome', async () => {
    const ids = ['n1', 'n2', 'n3'];
    await c.bootstrap(ids);
    const old = await c.leader(ids);
    const others = ids.filter((i) => i !== old);
    // A burst of writes at the leader, stopped while they are in flight.
    const pending = Array.from({ length: 20 }, (_, k) =>
      fetch(c.url(old, `/kv/burst-${k}?id=burst-${k}`), { method: 'PUT', body: `b${k}`, signal: AbortSignal.timeout(30_000) }),
    );
    await new Promise((r) => setTimeout(r, 5));
    c.nodes.get(old)!.proc!.kill('SIGSTOP');
    const next = await c.leader(others);
    const w = await fetch(c.url(next, '/kv/after?id=after'), { method: 'PUT', body: 'y' });
    assert.equal(w.status, 200);
    c.nodes.get(old)!.proc!.kill('SIGCONT');
    await c.until('old leader steps down', async () => {
      const h = await c.health(old);
      return h && h.body.role !== 'leader' && h.body.leader === next ? true : undefined;
    });
    for (const [k, p] of pending.entries()) {
      const r = await p;
      const body = (await r.json()) as { code?: string };
      if (r.status === 200) {
        const g = (await (await fetch(c.url(next, `/kv/burst-${k}?consistency=linearizable`))).json()) as { value: string };
        assert.equal(g.value, `b${k}`, `burst-${k} reported committed, so it must be there`);
      } else {
        assert.ok(['UNKNOWN', 'NOT_LEADER', 'TIMEOUT', 'DROPPED', 'SUPERSEDED'].includes(body.code!), `typed outcome, got ${JSON.stringify(body)}`);
      }
    }
  });
});

describe('graceful stop', { timeout: 120_000 }, () => {
  const c = new ProcCluster(ENTRY);
  after(() => c.shutdown());

  it('SIGTERM on the leader: leadership moves first, the process exits 0, and it rejoins with its state', async () => {
    const ids = ['n1', 'n2', 'n3'];
    const peers = await c.bootstrap(ids);
    const L = await c.leader(ids);
    const w = await fetch(c.url(L, '/kv/before-term?id=before-term'), { method: 'PUT', body: 'kept' });
    assert.equal(w.status, 200);
    const term = ((await c.health(L))!.body.term as number);
    const code = await c.kill(L, 'SIGTERM');
    assert.equal(code, 0);
    const next = await c.leader(ids.filter((i) => i !== L));
    assert.notEqual(next, L);
    c.start(L, { MUSTER_PEERS: peers });
    const h = await c.until('restarted node follows', async () => {
      const x = await c.health(L);
      return x?.status === 200 ? x : undefined;
    });
    assert.ok((h.body.term as number) >= term, 'term kept across the restart');
    const g = (await (await fetch(c.url(L, '/kv/before-term?consistency=linearizable'))).json()) as { value: string };
    assert.equal(g.value, 'kept');
  });
});
