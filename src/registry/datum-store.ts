// The datum store: the registry's state machine on LMDB (DESIGN §4, §5).
//
// A log entry carries one command: a 9-byte header (format byte, then the leader-assigned time as
// a big-endian float64, ms since the epoch) and the msgpack body { type, requestId, ...fields }.
// The node that takes a request encodes it with time 0; the leader stamps the header just
// before proposing (stampCommand), so every node applies the same time. `requestId` is the
// client's or one assigned by the node that took the request.
// Applying a command runs the handler registered for its type, a pure function of the command,
// the current datums and the entry's index, and writes what it returns; every datum written
// carries the revision (the Raft index of the entry) and the command's time. Invariants:
// - the datum changes of a batch and the new applied index commit in ONE transaction, so a
//   restart resumes at `applied` and never applies an entry twice;
// - command time never goes backwards: applied time = max(header time, last applied time);
// - a request id applied once is not applied again while it is retained (a retry after an
//   UNKNOWN outcome is safe); ids are forgotten once older than the retention window of
//   applied time, in apply, entry by entry, so every node (and every snapshot image) forgets
//   the same ones however its entries were batched;
// - apply reads no clock and no randomness: same log, same datums on every node;
// - applied changes are visible from memory at once (an overlay of the writes not yet committed)
//   and their LMDB transaction — datums, request ids and the applied index together — commits
//   in order behind them (DESIGN §4): a restart resumes from the committed applied index and
//   re-applies the rest from the log, which is durable. A failed commit fails the next apply.

import type { Database, RootDatabase } from 'lmdb';
import { Packr } from 'msgpackr';
import { datumKeyOf, decodeDatum, encodeDatum, packImage, unpackImage } from './datum-codec.ts';
import type { StateMachine } from '../consensus/state-machine.ts';
import type { Entry, SnapshotMeta } from '../consensus/types.ts';

export interface Datum<V = unknown> {
  key: string;
  value: V;
  /** Raft index of the entry that last changed this datum. */
  revision: number;
  /** Leader-assigned time of that change, ms since the epoch. */
  time: number;
}

export interface Command {
  type: string;
  requestId: string;
  /** Leader-assigned, ms since the epoch. */
  time: number;
  [field: string]: unknown;
}

/** One key changed by an applied batch: the Raft index of the last entry that changed it. */
export interface DatumChange {
  key: string;
  revision: number;
}

export type DatumWrite = { key: string; value: unknown } | { key: string; delete: true };

export interface CommandOutcome {
  writes: DatumWrite[];
  result: unknown;
}

/** Pure: same command, datums and index, same outcome. `index` is the entry's Raft index (the
 * revision of every datum written). Throws DatumCommandError for a command it refuses. */
export type CommandHandler = (cmd: Command, read: (key: string) => Datum | undefined, index: number) => CommandOutcome;

export class DatumCommandError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** What applying one entry produced: the handler's result, or a deterministic rejection. */
export type ApplyResult = { ok: true; result: unknown; revision: number } | { ok: false; code: string; message: string; revision: number };

const packr = new Packr({ useRecords: false, moreTypes: false });
const META = 'meta';
const FORMAT = 0x4d; // 'M'
/** Decoded datums kept in memory at most. */
const CACHE_DATUMS = 4096;
const HEADER_BYTES = 9;

/** Encodes a command; `time` goes to the header (0 when absent: the leader stamps it). */
export function encodeCommand(cmd: Omit<Command, 'time'> & { time?: number }): Uint8Array {
  const { time, ...body } = cmd;
  const b = packr.pack(body);
  const out = new Uint8Array(HEADER_BYTES + b.length);
  out[0] = FORMAT;
  new DataView(out.buffer).setFloat64(1, time ?? 0);
  out.set(b, HEADER_BYTES);
  return out;
}

/** A copy of `data` with the leader's time in its header; data of another format is returned as is. */
export function stampCommand(data: Uint8Array, timeMs: number): Uint8Array {
  if (data.length < HEADER_BYTES || data[0] !== FORMAT) return data;
  const out = new Uint8Array(data);
  new DataView(out.buffer, out.byteOffset, out.byteLength).setFloat64(1, timeMs);
  return out;
}

/** Decodes a command, or undefined when the bytes are not one. */
export function decodeCommand(data: Uint8Array): Command | undefined {
  if (data.length < HEADER_BYTES || data[0] !== FORMAT) return undefined;
  try {
    const v: unknown = packr.unpack(data.subarray(HEADER_BYTES));
    if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
    const time = new DataView(data.buffer, data.byteOffset, data.byteLength).getFloat64(1);
    return { ...(v as Omit<Command, 'time'>), time } as Command;
  } catch {
    return undefined;
  }
}

interface Meta {
  applied: number;
  /** Time of the last applied command, ms (never decreases). */
  time: number;
}

export interface DatumStoreOptions {
  /** How long a request id is remembered, in ms of applied (leader-assigned) time. Every node
   * must use the same value (it is part of the state machine's definition). */
  requestIdRetentionMs?: number;
}

export const DEFAULT_REQUEST_ID_RETENTION_MS = 10 * 60 * 1000;

interface RequestRecord {
  index: number;
  time: number;
}

export class DatumStore implements StateMachine {
  private readonly root: RootDatabase;
  /** key → datum bytes (datum-codec.ts). */
  private readonly datums: Database<Buffer, string>;
  private readonly meta: Database<Meta, string>;
  /** Request id → the entry that applied it and its time (durable copy of `requestIds`). */
  private readonly requests: Database<RequestRecord, string>;
  private readonly retentionMs: number;
  /** Applied state, visible now (ahead of LMDB while a commit is pending). */
  private m: Meta;
  /** Request ids retained, in applied-time order (insertion order: applied time never decreases). */
  private readonly requestIds = new Map<string, RequestRecord>();
  /** Datum writes applied but not yet committed to LMDB: key → datum (null: deleted), with the
   * batch that wrote it (an entry leaves once that batch committed and no later one rewrote it). */
  private readonly overlay = new Map<string, { datum: Datum | null; batch: number }>();
  private batch = 0;
  /** Decoded committed datums most recently read or written (LRU, at most CACHE_DATUMS): a large
   * instance list is decoded once, not at every register into its service. Values are never
   * mutated (handlers build new ones). */
  private readonly cache = new Map<string, Datum>();
  /** Settles when every batch applied so far is committed. */
  private committed: Promise<void> = Promise.resolve();
  private failure: unknown;
  /** Called after each applied batch with each key it changed, the index of the last entry that
   * changed it, and the new applied index (the changes are visible when it is called). */
  onApplied: ((changes: DatumChange[], applied: number) => void) | undefined;
  /** Called after a snapshot replaced the whole state (before onApplied reports its keys). */
  onRestored: ((applied: number) => void) | undefined;

  constructor(root: RootDatabase, private readonly handlers: Readonly<Record<string, CommandHandler>>, opts: DatumStoreOptions = {}) {
    this.root = root;
    this.datums = root.openDB<Buffer, string>({ name: 'datums-v2', encoding: 'binary' });
    this.meta = root.openDB<Meta, string>({ name: 'datum-meta' });
    this.requests = root.openDB<RequestRecord, string>({ name: 'datum-requests' });
    this.retentionMs = opts.requestIdRetentionMs ?? DEFAULT_REQUEST_ID_RETENTION_MS;
    const stored = this.meta.get(META);
    this.m = { applied: stored?.applied ?? 0, time: stored?.time ?? 0 };
    this.loadRequestIds();
  }

  private loadRequestIds(): void {
    const all: [string, RequestRecord][] = [];
    for (const { key, value } of this.requests.getRange({})) all.push([key, value]);
    all.sort((a, b) => a[1].time - b[1].time || a[1].index - b[1].index);
    this.requestIds.clear();
    for (const [id, r] of all) this.requestIds.set(id, r);
  }

  /** Time of the last applied command (leader-assigned ms). */
  appliedTime(): number {
    return this.m.time;
  }

  /** Number of request ids retained. */
  retainedRequestIds(): number {
    return this.requestIds.size;
  }

  applied(): number {
    return this.m.applied;
  }

  get(key: string): Datum | undefined {
    const o = this.overlay.get(key);
    if (o) return o.datum ?? undefined;
    const c = this.cache.get(key);
    if (c) {
      this.cache.delete(key);
      this.cache.set(key, c);
      return c;
    }
    const b = this.datums.get(key);
    if (!b) return undefined;
    const d = decodeDatum(b);
    this.remember(key, d);
    return d;
  }

  private remember(key: string, d: Datum): void {
    this.cache.delete(key);
    this.cache.set(key, d);
    if (this.cache.size > CACHE_DATUMS) this.cache.delete(this.cache.keys().next().value as string);
  }

  /** Datums whose key starts with `prefix`, in key order (applied state, committed or not). */
  *range(prefix: string): Iterable<Datum> {
    const pending = [...this.overlay].filter(([k]) => k.startsWith(prefix)).sort((a, b) => (a[0] < b[0] ? -1 : 1));
    let i = 0;
    for (const { key, value: bytes } of this.datums.getRange({ start: prefix })) {
      if (!key.startsWith(prefix)) break;
      while (i < pending.length && pending[i]![0] < key) {
        const d = pending[i++]![1].datum;
        if (d) yield d;
      }
      if (i < pending.length && pending[i]![0] === key) {
        const d = pending[i++]![1].datum;
        if (d) yield d;
        continue;
      }
      yield this.cache.get(key) ?? decodeDatum(bytes);
    }
    for (; i < pending.length; i++) {
      const d = pending[i]![1].datum;
      if (d) yield d;
    }
  }

  /** Resolves once everything applied so far is committed to LMDB. */
  flush(): Promise<void> {
    return this.committed;
  }

  apply(entries: readonly Entry[]): Promise<ApplyResult[]> {
    if (this.failure !== undefined) return Promise.reject(this.failure instanceof Error ? this.failure : new Error(String(this.failure)));
    const results: ApplyResult[] = [];
    const changed = new Map<string, number>();
    const batch = ++this.batch;
    /** This batch's writes, in order, for its LMDB transaction. */
    const writes: { key: string; datum: Datum | null }[] = [];
    /** Request-id changes in entry order (an id may be added and forgotten in one batch). */
    const idOps: [string, RequestRecord | null][] = [];
    let applied = this.m.applied;
    const clock = { time: this.m.time };
    for (const e of entries) {
      if (e.index !== applied + 1) throw new Error(`datum store: applying ${e.index} after ${applied}`);
      applied = e.index;
      // Empty and configuration entries change no datum.
      results.push(e.data ? this.applyOne(e, { changed, batch, writes, idOps }, clock) : { ok: true, result: null, revision: e.index });
    }
    // Visible now.
    this.m = { applied, time: clock.time };
    const meta = this.m;
    // Committed in order behind: one transaction for the batch's datums, request ids and meta.
    // Only the last write of each key in the batch reaches LMDB (a service registered into many
    // times in one batch is written once).
    const last = new Map<string, Datum | null>();
    for (const w of writes) {
      last.delete(w.key);
      last.set(w.key, w.datum);
    }
    const commit = this.root.transaction(() => {
      for (const [key, datum] of last) {
        if (datum) this.datums.put(key, encodeDatum(datum));
        else this.datums.remove(key);
      }
      for (const [id, r] of idOps) {
        if (r) this.requests.put(id, r);
        else this.requests.remove(id);
      }
      this.meta.put(META, meta);
    });
    this.committed = this.committed.then(
      () =>
        commit.then(
          () => {
            for (const [key, datum] of last) {
              // Committed: from the overlay to the cache (unless a later batch rewrote it).
              if (this.overlay.get(key)?.batch !== batch) continue;
              this.overlay.delete(key);
              if (datum) this.remember(key, datum);
              else this.cache.delete(key);
            }
          },
          (err: unknown) => {
            this.failure = err;
          },
        ),
    );
    this.onApplied?.([...changed].map(([key, revision]) => ({ key, revision })), applied);
    return Promise.resolve(results);
  }

  private applyOne(
    e: Entry,
    b: { changed: Map<string, number>; batch: number; writes: { key: string; datum: Datum | null }[]; idOps: [string, RequestRecord | null][] },
    clock: { time: number },
  ): ApplyResult {
    const decoded = decodeCommand(e.data!);
    if (!decoded) return { ok: false, code: 'BAD_COMMAND', message: 'entry is not a command', revision: e.index };
    // Leader time never goes backwards, even across leaders whose clocks differ.
    if (Number.isFinite(decoded.time) && decoded.time > clock.time) {
      clock.time = decoded.time;
      // Per entry, never per batch: whether an id is still remembered must not depend on how
      // entries were batched (nodes batch differently).
      this.forgetRequestsBefore(clock.time - this.retentionMs, b.idOps);
    }
    const cmd: Command = { ...decoded, time: clock.time };
    if (typeof cmd.requestId === 'string') {
      const prev = this.requestIds.get(cmd.requestId);
      if (prev !== undefined) return { ok: true, result: { duplicate: true, appliedAt: prev.index }, revision: prev.index };
    }
    const handler = Object.hasOwn(this.handlers, cmd.type) ? this.handlers[cmd.type] : undefined;
    if (!handler || typeof cmd.requestId !== 'string') {
      return { ok: false, code: 'UNKNOWN_COMMAND', message: `no handler for command type ${String(cmd.type)}`, revision: e.index };
    }
    let outcome: CommandOutcome;
    try {
      outcome = handler(cmd, (key) => this.get(key), e.index);
    } catch (err) {
      if (err instanceof DatumCommandError) return { ok: false, code: err.code, message: err.message, revision: e.index };
      throw err;
    }
    for (const w of outcome.writes) {
      const datum = 'delete' in w ? null : { key: w.key, value: w.value, revision: e.index, time: cmd.time };
      this.overlay.set(w.key, { datum, batch: b.batch });
      b.writes.push({ key: w.key, datum });
      b.changed.set(w.key, e.index);
    }
    const r = { index: e.index, time: cmd.time };
    this.requestIds.set(cmd.requestId, r);
    b.idOps.push([cmd.requestId, r]);
    return { ok: true, result: outcome.result, revision: e.index };
  }

  /** Forgets request ids applied at a time before `cutoff` (ms): the oldest first, since the map
   * is in applied-time order. Deterministic: a function of the applied commands only. */
  private forgetRequestsBefore(cutoff: number, idOps: [string, RequestRecord | null][]): void {
    for (const [id, r] of this.requestIds) {
      if (r.time >= cutoff) return;
      this.requestIds.delete(id);
      idOps.push([id, null]);
    }
  }

  async snapshot(): Promise<Uint8Array> {
    // A fixed image at applied(), taken synchronously (nothing is applied meanwhile): the
    // committed datums, read in one LMDB read snapshot and copied as stored (never decoded,
    // datum-codec.ts), overlaid with the applied writes whose transaction has not committed yet
    // (the overlay wins: a batch that committed while we read is in both, with the same datum).
    if (this.failure !== undefined) throw this.failure instanceof Error ? this.failure : new Error(String(this.failure));
    // In key order (as range() merges them), so equal states give equal images.
    const frames: Uint8Array[] = [];
    const pending = [...this.overlay].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    let i = 0;
    const upTo = (key: string | undefined) => {
      for (; i < pending.length && (key === undefined || pending[i]![0] < key); i++) {
        const d = pending[i]![1].datum;
        if (d) frames.push(encodeDatum(d));
      }
    };
    for (const { key, value } of this.datums.getRange({})) {
      upTo(key);
      if (i < pending.length && pending[i]![0] === key) continue; // the overlay's (upTo takes it next)
      frames.push(new Uint8Array(value)); // a copy: lmdb may reuse the buffer
    }
    upTo(undefined);
    const requests: [string, number, number][] = [];
    for (const [id, r] of this.requestIds) requests.push([id, r.index, r.time]);
    return packImage({ applied: this.m.applied, time: this.m.time, requests }, frames);
  }

  async restore(meta: SnapshotMeta, image: Uint8Array): Promise<void> {
    const framed = unpackImage(image);
    let s: { applied: number; time: number; requests: [string, number, number][] };
    let frames: [string, Uint8Array][];
    if (framed) {
      s = framed.head as typeof s;
      frames = framed.frames.map((f) => [datumKeyOf(f), f]);
    } else {
      // An image of an older version (plain msgpack of the decoded datums).
      const old = packr.unpack(image) as typeof s & { datums: Datum[] };
      s = old;
      frames = old.datums.map((d) => [d.key, encodeDatum(d)]);
    }
    if (s.applied !== meta.index) throw new Error(`datum image at ${s.applied}, snapshot says ${meta.index}`);
    await this.committed;
    const keys = new Set<string>(frames.map(([k]) => k));
    await this.root.transaction(() => {
      for (const k of this.datums.getKeys({})) {
        keys.add(k);
        this.datums.remove(k);
      }
      for (const [k, f] of frames) this.datums.put(k, Buffer.from(f.buffer, f.byteOffset, f.byteLength));
      for (const k of this.requests.getKeys({})) this.requests.remove(k);
      for (const [id, index, time] of s.requests) this.requests.put(id, { index, time });
      this.meta.put(META, { applied: s.applied, time: s.time });
    });
    this.overlay.clear();
    this.cache.clear();
    this.m = { applied: s.applied, time: s.time };
    this.requestIds.clear();
    for (const [id, index, time] of s.requests) this.requestIds.set(id, { index, time });
    await this.root.flushed;
    this.onRestored?.(this.m.applied);
    // Every key the restore touched, removed ones included.
    this.onApplied?.([...keys].map((key) => ({ key, revision: this.m.applied })), this.m.applied);
  }
}
