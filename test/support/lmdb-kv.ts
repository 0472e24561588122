// The test key-value state machine on LMDB: applied changes and the applied index commit in one
// transaction (a restart resumes from the applied index and never applies an entry twice).

import type { Database, RootDatabase } from 'lmdb';
import type { StateMachine } from '../../src/consensus/state-machine.ts';
import type { Entry, SnapshotMeta } from '../../src/consensus/types.ts';
import { chain, decodeCommand, entryDigest, type KvState } from './kv-state-machine.ts';

const META = '\u0000meta';
const enc = new TextEncoder();
const dec = new TextDecoder();

export class LmdbKv implements StateMachine {
  private readonly db: Database<unknown, string>;
  private meta: { applied: number; hash: number };

  constructor(root: RootDatabase) {
    this.db = root.openDB<unknown, string>({ name: 'test-kv' });
    this.meta = (this.db.get(META) as { applied: number; hash: number } | undefined) ?? { applied: 0, hash: 0 };
  }

  applied(): number {
    return this.meta.applied;
  }

  get(key: string): string | undefined {
    return this.db.get(`k:${key}`) as string | undefined;
  }

  async apply(entries: readonly Entry[]): Promise<unknown[]> {
    const results: unknown[] = [];
    let next = this.meta;
    await this.db.transaction(() => {
      let { applied, hash } = this.meta;
      for (const e of entries) {
        if (e.index !== applied + 1) throw new Error(`kv: applying ${e.index} after ${applied}`);
        let result: unknown = null;
        if (e.data) {
          const c = decodeCommand(e.data);
          if (this.db.get(`r:${c.id}`) === undefined) {
            result = (this.db.get(`k:${c.key}`) as string | undefined) ?? null;
            this.db.put(`k:${c.key}`, c.value);
            this.db.put(`r:${c.id}`, e.index);
          } else result = 'duplicate';
        }
        hash = chain(hash, e.index, e.term, entryDigest(e));
        applied = e.index;
        results.push(result);
      }
      next = { applied, hash };
      this.db.put(META, next);
    });
    this.meta = next; // published once committed: reads see the data from now on
    return results;
  }

  snapshot(): Promise<Uint8Array> {
    const s: KvState = { applied: this.meta.applied, hash: this.meta.hash, kv: {}, seen: {} };
    for (const { key, value } of this.db.getRange({})) {
      if (key.startsWith('k:')) s.kv[key.slice(2)] = value as string;
      else if (key.startsWith('r:')) s.seen[key.slice(2)] = value as number;
    }
    return Promise.resolve(enc.encode(JSON.stringify(s)));
  }

  async restore(meta: SnapshotMeta, image: Uint8Array): Promise<void> {
    const s = JSON.parse(dec.decode(image)) as KvState;
    if (s.applied !== meta.index) throw new Error(`kv image at ${s.applied}, snapshot says ${meta.index}`);
    await this.db.transaction(() => {
      for (const key of this.db.getKeys({})) this.db.remove(key);
      for (const [k, v] of Object.entries(s.kv)) this.db.put(`k:${k}`, v);
      for (const [k, v] of Object.entries(s.seen)) this.db.put(`r:${k}`, v);
      this.db.put(META, { applied: s.applied, hash: s.hash });
    });
    this.meta = { applied: s.applied, hash: s.hash };
    await this.db.flushed;
  }
}
