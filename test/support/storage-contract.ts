// The storage contract: one suite, run against every Storage implementation (in-memory now,
// LMDB with the server). `make` returns a fresh, empty storage; `reopen` (optional) returns the
// same storage as found after a restart (only what is durable).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 } from '../../src/consensus/crc32.ts';
import type { Storage } from '../../src/consensus/storage.ts';
import type { Entry, SnapshotMeta } from '../../src/consensus/types.ts';

export interface StorageFactory {
  name: string;
  make(): Promise<Storage>;
  /** The storage as a restarted process finds it (after every resolved write). */
  reopen?(s: Storage): Promise<Storage>;
}

const ent = (index: number, term: number, data = `e${index}`): Entry => ({ index, term, type: 'normal', data: new TextEncoder().encode(data) });
const range = (lo: number, hi: number, term: number) => Array.from({ length: hi - lo + 1 }, (_, i) => ent(lo + i, term));
const noSnap = { snapshotOps: [] };

function image(text: string): { meta: SnapshotMeta; bytes: Uint8Array } {
  const bytes = new TextEncoder().encode(text);
  return { meta: { id: `img-${text.length}`, index: 0, term: 0, conf: { voters: ['a'], learners: [], addresses: {} }, size: bytes.length, checksum: crc32(bytes) }, bytes };
}

export function storageContract(f: StorageFactory): void {
  describe(`storage contract: ${f.name}`, () => {
    it('starts empty', async () => {
      const s = await f.make();
      assert.deepEqual(s.hardState(), { term: 0, vote: null, commit: 0 });
      assert.equal(s.firstIndex(), 1);
      assert.equal(s.lastIndex(), 0);
      assert.equal(s.term(0), 0);
      assert.equal(s.snapshot(), undefined);
      assert.equal(s.staged(), undefined);
    });

    it('persists hard state and entries in one write, and reads [lo, hi) within a byte budget', async () => {
      const s = await f.make();
      await s.persist({ hardState: { term: 2, vote: 'b', commit: 3 }, entries: range(1, 5, 2), ...noSnap });
      assert.deepEqual(s.hardState(), { term: 2, vote: 'b', commit: 3 });
      assert.equal(s.lastIndex(), 5);
      assert.equal(s.term(4), 2);
      assert.equal(s.term(6), undefined);
      assert.deepEqual(s.entries(2, 5, 1 << 20).map((e) => e.index), [2, 3, 4]);
      assert.equal(s.entries(1, 6, 1).length, 1, 'at least one entry even over budget');
      assert.deepEqual(new TextDecoder().decode(s.entries(3, 4, 1 << 20)[0]!.data), 'e3');
    });

    it('replacing from an index deletes the whole stale tail', async () => {
      const s = await f.make();
      await s.persist({ entries: range(1, 10, 1), ...noSnap });
      await s.persist({ entries: [ent(4, 2, 'new4'), ent(5, 2, 'new5')], ...noSnap });
      assert.equal(s.lastIndex(), 5, 'entries 6..10 are gone');
      assert.equal(s.term(4), 2);
      assert.equal(s.term(3), 1);
      assert.equal(s.term(6), undefined);
    });

    it('keeps a snapshot image readable by id and offset, and compacts up to it', async () => {
      const s = await f.make();
      await s.persist({ entries: range(1, 10, 1), ...noSnap });
      const { meta, bytes } = image('0123456789abcdef');
      const m = { ...meta, index: 6, term: 1 };
      await s.saveSnapshot(m, bytes);
      await s.compact(6);
      assert.equal(s.firstIndex(), 7);
      assert.equal(s.term(6), 1, 'the term at the snapshot point stays known');
      assert.equal(s.term(5), undefined);
      assert.deepEqual(s.snapshot()?.id, m.id);
      assert.equal(new TextDecoder().decode(s.readSnapshotChunk(m.id, 4, 6)), '456789');
      assert.equal(s.readSnapshotChunk('nope', 0, 4), undefined);
      assert.deepEqual(s.entries(7, 11, 1 << 20).map((e) => e.index), [7, 8, 9, 10]);
    });

    it('stages chunks in order and installs atomically, keeping the log suffix only if it matches', async () => {
      for (const matches of [true, false]) {
        const s = await f.make();
        await s.persist({ entries: range(1, 8, 1), hardState: { term: 1, vote: null, commit: 2 }, ...noSnap });
        const { bytes } = image('snapshot image bytes');
        const meta: SnapshotMeta = { id: `s-${matches}`, index: 5, term: matches ? 1 : 3, conf: { voters: ['a', 'b'], learners: [], addresses: {} }, size: bytes.length, checksum: crc32(bytes) };
        await s.persist({ entries: [], snapshotOps: [{ op: 'stage', meta, offset: 0, data: bytes.subarray(0, 8), crc: crc32(bytes.subarray(0, 8)) }] });
        assert.equal(s.staged()?.offset, 8);
        await s.persist({ entries: [], snapshotOps: [{ op: 'stage', meta, offset: 8, data: bytes.subarray(8), crc: meta.checksum }, { op: 'install', meta, keepTo: matches ? 8 : 5 }] });
        assert.equal(s.staged(), undefined);
        assert.equal(s.snapshot()?.id, meta.id);
        assert.equal(s.firstIndex(), 6);
        assert.equal(s.term(5), meta.term);
        assert.equal(s.lastIndex(), matches ? 8 : 5, matches ? 'suffix kept' : 'suffix dropped');
        assert.ok(s.hardState().commit >= 5);
        assert.deepEqual(s.readSnapshotChunk(meta.id, 0, meta.size), bytes);
      }
    });

    it('an install keeps exactly the durable entries the core decided to keep (keepTo), not more', async () => {
      const s = await f.make();
      await s.persist({ entries: range(1, 8, 1), hardState: { term: 1, vote: null, commit: 2 }, ...noSnap });
      const { bytes } = image('snapshot image bytes');
      const meta: SnapshotMeta = { id: 'keep-to', index: 4, term: 1, conf: { voters: ['a'], learners: [], addresses: {} }, size: bytes.length, checksum: crc32(bytes) };
      await s.persist({
        entries: [],
        snapshotOps: [
          { op: 'stage', meta, offset: 0, data: bytes, crc: meta.checksum },
          { op: 'install', meta, keepTo: 6 },
        ],
      });
      assert.equal(s.firstIndex(), 5);
      assert.equal(s.lastIndex(), 6, 'entries above keepTo are gone although the log held (4, 1)');
      assert.equal(s.term(7), undefined);
      assert.deepEqual(s.entries(5, 7, 1 << 20).map((e) => e.index), [5, 6]);
    });

    it('keeps a pinned image (in transfer) however many snapshots follow, and drops it once unpinned', async () => {
      const s = await f.make();
      await s.persist({ entries: range(1, 10, 1), ...noSnap });
      const snap = async (index: number, pinned: string[]) => {
        const { meta, bytes } = image(`image at ${index}`);
        const m = { ...meta, id: `img-${index}`, index, term: 1 };
        await s.saveSnapshot(m, bytes, pinned);
        return m.id;
      };
      const sent = await snap(2, []);
      for (const i of [4, 6, 8]) await snap(i, [sent]);
      assert.ok(s.readSnapshotChunk(sent, 0, 4), 'the image in transfer is still readable');
      assert.equal(s.readSnapshotChunk('img-4', 0, 4), undefined, 'an unpinned older image is dropped');
      assert.ok(s.readSnapshotChunk('img-6', 0, 4) && s.readSnapshotChunk('img-8', 0, 4), 'the newest two are kept');
      await snap(10, []);
      assert.equal(s.readSnapshotChunk(sent, 0, 4), undefined, 'unpinned: dropped at the next snapshot');
    });

    it('a discard drops a partial image', async () => {
      const s = await f.make();
      const { meta, bytes } = image('partial');
      await s.persist({ entries: [], snapshotOps: [{ op: 'stage', meta: { ...meta, index: 3, term: 1 }, offset: 0, data: bytes.subarray(0, 3), crc: 0 }] });
      await s.persist({ entries: [], snapshotOps: [{ op: 'discard' }] });
      assert.equal(s.staged(), undefined);
    });

    if (f.reopen) {
      it('finds after a restart everything whose write resolved', async () => {
        const s = await f.make();
        await s.persist({ hardState: { term: 4, vote: 'c', commit: 2 }, entries: range(1, 3, 4), ...noSnap });
        const { meta, bytes } = image('restart image');
        await s.saveSnapshot({ ...meta, index: 2, term: 4 }, bytes);
        await s.compact(1);
        const r = await f.reopen!(s);
        assert.deepEqual(r.hardState(), { term: 4, vote: 'c', commit: 2 });
        assert.equal(r.firstIndex(), 2);
        assert.equal(r.lastIndex(), 3);
        assert.equal(r.snapshot()?.index, 2);
        assert.deepEqual(r.readSnapshotChunk(meta.id, 0, meta.size), bytes);
      });
    }
  });
}
