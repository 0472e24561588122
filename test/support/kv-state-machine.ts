// A small key-value state machine for tests and the simulator. Its state lives on a MemDisk (so
// a crash loses what was not flushed, and apply is atomic with the applied index). It keeps a
// hash chain over every applied entry, so a checker can compare the state at `applied` with the
// fold of the committed prefix.

import { crc32 } from '../../src/consensus/crc32.ts';
import type { MemDisk } from '../../src/consensus/memory-disk.ts';
import type { NodeDiskState } from '../../src/consensus/memory-storage.ts';
import type { StateMachine } from '../../src/consensus/state-machine.ts';
import type { Entry, SnapshotMeta } from '../../src/consensus/types.ts';

export interface KvState {
  applied: number;
  /** Hash chain over (index, term, digest) of every applied entry. */
  hash: number;
  kv: Record<string, string>;
  /** Request ids applied (a retried request changes nothing). */
  seen: Record<string, number>;
}

export interface KvCommand {
  id: string;
  key: string;
  value: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeCommand(c: KvCommand): Uint8Array {
  return enc.encode(JSON.stringify(c));
}

export function decodeCommand(data: Uint8Array): KvCommand {
  return JSON.parse(dec.decode(data)) as KvCommand;
}

/** Digest of one entry's content (what two nodes must agree on at an index). */
export function entryDigest(e: Entry): number {
  if (e.data) return crc32(e.data);
  if (e.change) return crc32(enc.encode(JSON.stringify(e.change)));
  return 0;
}

export function chain(hash: number, index: number, term: number, digest: number): number {
  return crc32(enc.encode(`${index}:${term}:${digest}`), hash);
}

export const emptyKv = (): KvState => ({ applied: 0, hash: 0, kv: {}, seen: {} });

function applyTo(s: KvState, entries: readonly Entry[], results: unknown[] | null): void {
  for (const e of entries) {
    if (e.index !== s.applied + 1) throw new Error(`kv: applying ${e.index} after ${s.applied}`);
    let result: unknown = null;
    if (e.data) {
      const c = decodeCommand(e.data);
      if (s.seen[c.id] === undefined) {
        result = s.kv[c.key] ?? null;
        s.kv[c.key] = c.value;
        s.seen[c.id] = e.index;
      } else {
        result = 'duplicate';
      }
    }
    s.hash = chain(s.hash, e.index, e.term, entryDigest(e));
    s.applied = e.index;
    results?.push(result);
  }
}

export interface KvObserver {
  onApply?(entries: readonly Entry[], hashes: number[]): void;
  onRestore?(meta: SnapshotMeta, state: KvState): void;
}

export class KvStateMachine implements StateMachine {
  constructor(
    private readonly disk: MemDisk<NodeDiskState>,
    private readonly observer: KvObserver = {},
  ) {}

  get state(): KvState {
    return (this.disk.visible.app as KvState | undefined) ?? emptyKv();
  }

  applied(): number {
    return this.state.applied;
  }

  get(key: string): string | undefined {
    return this.state.kv[key];
  }

  apply(entries: readonly Entry[]): Promise<unknown[]> {
    const results: unknown[] = [];
    const hashes: number[] = [];
    let first = true;
    void this.disk.write((d) => {
      const s = (d.app as KvState | undefined) ?? emptyKv();
      d.app = s;
      if (first) {
        first = false;
        for (const e of entries) {
          applyTo(s, [e], results);
          hashes.push(s.hash);
        }
      } else applyTo(s, entries, null);
    });
    this.observer.onApply?.(entries, hashes);
    return Promise.resolve(results);
  }

  snapshot(): Promise<Uint8Array> {
    return Promise.resolve(enc.encode(JSON.stringify(this.state)));
  }

  restore(meta: SnapshotMeta, image: Uint8Array): Promise<void> {
    const parsed = JSON.parse(dec.decode(image)) as KvState;
    if (parsed.applied !== meta.index) throw new Error(`kv image at ${parsed.applied}, snapshot says ${meta.index}`);
    const p = this.disk.write((d) => {
      d.app = structuredClone(parsed);
    });
    this.observer.onRestore?.(meta, parsed);
    return p;
  }
}
