import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { LmdbStorage } from '../../src/storage/lmdb-storage.ts';
import { storageContract } from '../support/storage-contract.ts';

const dirs: string[] = [];
const opened: LmdbStorage[] = [];
after(async () => {
  for (const s of opened) await s.close().catch(() => {});
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function fresh(dir?: string): LmdbStorage {
  const path = dir ?? mkdtempSync(join(tmpdir(), 'muster-lmdb-'));
  if (!dir) dirs.push(path);
  const s = LmdbStorage.open({ path, mapSize: 16 * 1024 * 1024 });
  opened.push(s);
  return s;
}

storageContract({
  name: 'lmdb',
  make: async () => fresh(),
  reopen: async (s) => {
    const path = (s as LmdbStorage).path;
    await (s as LmdbStorage).close();
    opened.splice(opened.indexOf(s as LmdbStorage), 1);
    return fresh(path);
  },
});
