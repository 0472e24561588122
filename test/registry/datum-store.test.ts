import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { open, type RootDatabase } from 'lmdb';
import type { Entry } from '../../src/consensus/types.ts';
import { DatumCommandError, DatumStore, encodeCommand, type CommandHandler } from '../../src/registry/datum-store.ts';

// A handler defined here for the test: set a counter datum, refuse negative values.
const handlers: Record<string, CommandHandler> = {
  add: (cmd, read) => {
    const by = cmd.by as number;
    if (typeof by !== 'number' || by < 0) throw new DatumCommandError('INVALID', 'by: must be a number >= 0');
    const cur = (read(cmd.key as string)?.value as number | undefined) ?? 0;
    return { writes: [{ key: cmd.key as string, value: cur + by }], result: cur + by };
  },
  drop: (cmd) => ({ writes: [{ key: cmd.key as string, delete: true }], result: null }),
};

const dirs: string[] = [];
const roots: RootDatabase[] = [];
after(async () => {
  for (const r of roots) await r.close().catch(() => {});
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function env(path?: string): { root: RootDatabase; path: string } {
  const p = path ?? mkdtempSync(join(tmpdir(), 'muster-datum-'));
  if (!path) dirs.push(p);
  const root = open({ path: p, maxDbs: 16 });
  roots.push(root);
  return { root, path: p };
}
let idx = 0;
const entry = (cmd: Record<string, unknown> | null): Entry =>
  cmd ? { index: ++idx, term: 1, type: 'normal', data: encodeCommand({ time: 1000 + idx, ...cmd } as never) } : { index: ++idx, term: 1, type: 'normal' };

describe('datum store', () => {
  it('applies commands through their handler; datums carry revision (Raft index) and leader time', async () => {
    idx = 0;
    const s = new DatumStore(env().root, handlers);
    const r = await s.apply([entry(null), entry({ type: 'add', requestId: 'a', key: 'c', by: 2 }), entry({ type: 'add', requestId: 'b', key: 'c', by: 3 })]);
    assert.deepEqual(r.map((x) => (x.ok ? x.result : x.code)), [null, 2, 5]);
    assert.deepEqual(s.get('c'), { key: 'c', value: 5, revision: 3, time: 1003 });
    assert.equal(s.applied(), 3);
  });

  it('a request id applied once changes nothing the second time', async () => {
    idx = 0;
    const s = new DatumStore(env().root, handlers);
    await s.apply([entry({ type: 'add', requestId: 'same', key: 'c', by: 2 })]);
    const [again] = await s.apply([entry({ type: 'add', requestId: 'same', key: 'c', by: 2 })]);
    assert.deepEqual(again, { ok: true, result: { duplicate: true, appliedAt: 1 }, revision: 1 });
    assert.equal(s.get('c')!.value, 2);
    assert.equal(s.applied(), 2, 'the entry is applied (as a no-op)');
  });

  it('a bad or unknown command is rejected deterministically and changes nothing', async () => {
    idx = 0;
    const s = new DatumStore(env().root, handlers);
    const r = await s.apply([
      entry({ type: 'add', requestId: 'x', key: 'c', by: -1 }),
      entry({ type: 'nope', requestId: 'y' }),
      { index: ++idx, term: 1, type: 'normal', data: new Uint8Array([0xa3, 0x61, 0x62, 0x63]) }, // msgpack "abc": not a command object
    ]);
    assert.deepEqual(r.map((x) => (x.ok ? 'ok' : x.code)), ['INVALID', 'UNKNOWN_COMMAND', 'BAD_COMMAND']);
    assert.equal(s.get('c'), undefined);
    assert.equal(s.applied(), 3);
  });

  it('a restart resumes from the applied index with the same datums', async () => {
    idx = 0;
    const e = env();
    const s = new DatumStore(e.root, handlers);
    await s.apply([entry({ type: 'add', requestId: 'a', key: 'x', by: 1 }), entry({ type: 'add', requestId: 'b', key: 'y', by: 7 })]);
    await e.root.close();
    const again = new DatumStore(env(e.path).root, handlers);
    assert.equal(again.applied(), 2);
    assert.equal(again.get('y')!.value, 7);
    const [dup] = await again.apply([entry({ type: 'add', requestId: 'a', key: 'x', by: 1 })]);
    assert.ok(dup!.ok && (dup!.result as { duplicate: boolean }).duplicate, 'request ids survive a restart');
  });

  it('a snapshot image restores the same datums, request ids and applied index elsewhere', async () => {
    idx = 0;
    const a = new DatumStore(env().root, handlers);
    await a.apply([entry({ type: 'add', requestId: 'a', key: 'svc/1', by: 1 }), entry({ type: 'add', requestId: 'b', key: 'svc/2', by: 2 }), entry({ type: 'drop', requestId: 'c', key: 'svc/1' })]);
    const image = await a.snapshot();
    const b = new DatumStore(env().root, handlers);
    await b.apply([{ index: 1, term: 1, type: 'normal', data: encodeCommand({ type: 'add', requestId: 'z', key: 'stale', by: 9, time: 0 }) }]);
    await b.restore({ id: 's', index: 3, term: 1, conf: { voters: [], learners: [], addresses: {} }, size: image.length, checksum: 0 }, image);
    assert.equal(b.applied(), 3);
    assert.equal(b.get('stale'), undefined);
    assert.deepEqual([...b.range('svc/')].map((d) => d.key), ['svc/2']);
    idx = 3;
    const [dup] = await b.apply([entry({ type: 'add', requestId: 'b', key: 'svc/2', by: 2 })]);
    assert.ok(dup!.ok && (dup!.result as { duplicate: boolean }).duplicate);
  });
});
