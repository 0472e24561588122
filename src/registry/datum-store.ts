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
//   applied time, in apply, so every node (and every snapshot image) forgets the same ones;
// - apply reads no clock and no randomness: same log, same datums on every node.

import type { Database, RootDatabase } from 'lmdb';
import { Packr } from 'msgpackr';
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
  private readonly datums: Database<Datum, string>;
  private readonly meta: Database<Meta, string>;
  /** Request id → the entry that applied it and its time. */
  private readonly requests: Database<RequestRecord, string>;
  /** [time, request id] → null: the retention order, oldest first. */
  private readonly requestTimes: Database<null, [number, string]>;
  private readonly retentionMs: number;
  private m: Meta;
  /** Called after each applied batch (once committed) with each key it changed, the index of the
   * last entry that changed it, and the new applied index. */
  onApplied: ((changes: DatumChange[], applied: number) => void) | undefined;
  /** Called after a snapshot replaced the whole state (before onApplied reports its keys). */
  onRestored: ((applied: number) => void) | undefined;

  constructor(root: RootDatabase, private readonly handlers: Readonly<Record<string, CommandHandler>>, opts: DatumStoreOptions = {}) {
    this.datums = root.openDB<Datum, string>({ name: 'datums' });
    this.meta = root.openDB<Meta, string>({ name: 'datum-meta' });
    this.requests = root.openDB<RequestRecord, string>({ name: 'datum-requests' });
    this.requestTimes = root.openDB<null, [number, string]>({ name: 'datum-request-times' });
    this.retentionMs = opts.requestIdRetentionMs ?? DEFAULT_REQUEST_ID_RETENTION_MS;
    const stored = this.meta.get(META);
    this.m = { applied: stored?.applied ?? 0, time: stored?.time ?? 0 };
  }

  /** Time of the last applied command (leader-assigned ms). */
  appliedTime(): number {
    return this.m.time;
  }

  /** Number of request ids retained. */
  retainedRequestIds(): number {
    return this.requests.getCount();
  }

  applied(): number {
    return this.m.applied;
  }

  get(key: string): Datum | undefined {
    return this.datums.get(key);
  }

  /** Datums whose key starts with `prefix`, in key order. */
  *range(prefix: string): Iterable<Datum> {
    for (const { value } of this.datums.getRange({ start: prefix })) {
      if (!value.key.startsWith(prefix)) return;
      yield value;
    }
  }

  async apply(entries: readonly Entry[]): Promise<ApplyResult[]> {
    const results: ApplyResult[] = [];
    const changed = new Map<string, number>();
    let next = this.m;
    await this.datums.transaction(() => {
      let applied = this.m.applied;
      const clock = { time: this.m.time };
      for (const e of entries) {
        if (e.index !== applied + 1) throw new Error(`datum store: applying ${e.index} after ${applied}`);
        applied = e.index;
        // Empty and configuration entries change no datum.
        results.push(e.data ? this.applyOne(e, changed, clock) : { ok: true, result: null, revision: e.index });
      }
      next = { applied, time: clock.time };
      this.meta.put(META, next);
    });
    // Published once committed: readers see the datums and the applied index together.
    this.m = next;
    this.onApplied?.([...changed].map(([key, revision]) => ({ key, revision })), this.m.applied);
    return results;
  }

  private applyOne(e: Entry, changed: Map<string, number>, clock: { time: number }): ApplyResult {
    const decoded = decodeCommand(e.data!);
    if (!decoded) return { ok: false, code: 'BAD_COMMAND', message: 'entry is not a command', revision: e.index };
    // Leader time never goes backwards, even across leaders whose clocks differ.
    if (Number.isFinite(decoded.time) && decoded.time > clock.time) {
      clock.time = decoded.time;
      // Per entry, never per batch: whether an id is still remembered must not depend on how
      // entries were batched (nodes batch differently).
      this.forgetRequestsBefore(clock.time - this.retentionMs);
    }
    const cmd: Command = { ...decoded, time: clock.time };
    if (typeof cmd.requestId === 'string') {
      const prev = this.requests.get(cmd.requestId); // sees this transaction's own writes
      if (prev !== undefined) return { ok: true, result: { duplicate: true, appliedAt: prev.index }, revision: prev.index };
    }
    const handler = Object.hasOwn(this.handlers, cmd.type) ? this.handlers[cmd.type] : undefined;
    if (!handler || typeof cmd.requestId !== 'string') {
      return { ok: false, code: 'UNKNOWN_COMMAND', message: `no handler for command type ${String(cmd.type)}`, revision: e.index };
    }
    let outcome: CommandOutcome;
    try {
      outcome = handler(cmd, (key) => this.datums.get(key), e.index);
    } catch (err) {
      if (err instanceof DatumCommandError) return { ok: false, code: err.code, message: err.message, revision: e.index };
      throw err;
    }
    for (const w of outcome.writes) {
      if ('delete' in w) this.datums.remove(w.key);
      else this.datums.put(w.key, { key: w.key, value: w.value, revision: e.index, time: cmd.time });
      changed.set(w.key, e.index);
    }
    this.requests.put(cmd.requestId, { index: e.index, time: cmd.time });
    this.requestTimes.put([cmd.time, cmd.requestId], null);
    return { ok: true, result: outcome.result, revision: e.index };
  }

  /** Forgets request ids applied at a time before `cutoff` (ms). Deterministic: a function of
   * the applied commands only. */
  private forgetRequestsBefore(cutoff: number): void {
    const old: [number, string][] = [];
    for (const key of this.requestTimes.getKeys({ end: [cutoff, ''] })) old.push(key);
    for (const key of old) {
      this.requestTimes.remove(key);
      const r = this.requests.get(key[1]);
      if (r && r.time === key[0]) this.requests.remove(key[1]);
    }
  }

  snapshot(): Promise<Uint8Array> {
    const datums: Datum[] = [];
    for (const { value } of this.datums.getRange({})) datums.push(value);
    const requests: [string, number, number][] = [];
    for (const { key, value } of this.requests.getRange({})) requests.push([key, value.index, value.time]);
    return Promise.resolve(packr.pack({ applied: this.m.applied, time: this.m.time, requests, datums }));
  }

  async restore(meta: SnapshotMeta, image: Uint8Array): Promise<void> {
    const s = packr.unpack(image) as { applied: number; time: number; requests: [string, number, number][]; datums: Datum[] };
    if (s.applied !== meta.index) throw new Error(`datum image at ${s.applied}, snapshot says ${meta.index}`);
    const keys = new Set<string>(s.datums.map((d) => d.key));
    await this.datums.transaction(() => {
      for (const k of this.datums.getKeys({})) {
        keys.add(k);
        this.datums.remove(k);
      }
      for (const d of s.datums) this.datums.put(d.key, d);
      for (const k of this.requests.getKeys({})) this.requests.remove(k);
      for (const k of this.requestTimes.getKeys({})) this.requestTimes.remove(k);
      for (const [id, index, time] of s.requests) {
        this.requests.put(id, { index, time });
        this.requestTimes.put([time, id], null);
      }
      this.meta.put(META, { applied: s.applied, time: s.time });
    });
    this.m = { applied: s.applied, time: s.time };
    await this.datums.flushed;
    this.onRestored?.(this.m.applied);
    // Every key the restore touched, removed ones included.
    this.onApplied?.([...keys].map((key) => ({ key, revision: this.m.applied })), this.m.applied);
  }
}
