import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemDisk } from '../../src/consensus/memory-disk.ts';
import { MemoryStorage, newMemDisk } from '../../src/consensus/memory-storage.ts';
import { storageContract } from '../support/storage-contract.ts';

storageContract({
  name: 'memory',
  make: async () => new MemoryStorage(),
  reopen: async (s) => {
    const disk = (s as MemoryStorage).disk;
    disk.crash(); // keeps only what was flushed
    return new MemoryStorage(disk);
  },
});

describe('memory disk', () => {
  it('a crash loses every write not yet flushed, and their promises never resolve', async () => {
    const flushes: (() => void)[] = [];
    const disk = newMemDisk((f) => flushes.push(f));
    const s = new MemoryStorage(disk);
    let resolved = false;
    void s.persist({ hardState: { term: 9, vote: 'x', commit: 0 }, entries: [], snapshotOps: [] }).then(() => (resolved = true));
    assert.equal(s.hardState().term, 9, 'visible at once');
    disk.crash();
    for (const f of flushes) f(); // a flush scheduled before the crash does nothing
    await new Promise((r) => setImmediate(r));
    assert.equal(resolved, false);
    assert.equal(new MemoryStorage(disk).hardState().term, 0);
  });

  it('flushes in order and resolves after the write is durable', async () => {
    const flushes: (() => void)[] = [];
    const disk = new MemDisk<{ n: number }>({ n: 0 }, (x) => ({ ...x }), (f) => flushes.push(f));
    const p = disk.write((x) => (x.n = 1));
    assert.equal(disk.visible.n, 1);
    assert.equal(disk.durable.n, 0);
    flushes.shift()!();
    await p;
    assert.equal(disk.durable.n, 1);
  });
});
