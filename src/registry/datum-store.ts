// The datum store: the registry's state machine on LMDB (DESIGN §4, §5).
//
// A log entry carries one command (msgpack): { type, requestId, time, ...fields }, where `time`
// is assigned by the leader and `requestId` by the client or the node that took the request.
// Applying a command runs the handler registered for its type, a pure function of the command
// and the current datums, and writes what it returns; every datum written carries the revision
// (the Raft index of the entry) and the command's time. Invariants:
// - the datum changes of a batch and the new applied index commit in ONE transaction, so a
//   restart resumes at `applied` and never applies an entry twice;
// - a request id applied once is not applied again (a retry after an UNKNOWN outcome is safe);
//   the table of request ids is kept whole for now (a retention window comes with the registry);
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

export type DatumWrite = { key: string; value: unknown } | { key: string; delete: true };

export interface CommandOutcome {
  writes: DatumWrite[];
  result: unknown;
}

/** Pure: same command and datums, same outcome. Throws DatumCommandError for a bad command. */
export type CommandHandler = (cmd: Command, read: (key: string) => Datum | undefined) => CommandOutcome;

export class DatumCommandError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** What applying one entry produced: the handler's result, or a deterministic rejection. */
export type ApplyResult = { ok: true; result: unknown; revision: number } | { ok: false; code: string; message: string; revision: number };

const packr = new Packr({ useRecords: false, moreTypes: false });
const META = 'meta';

export function encodeCommand(cmd: Command): Uint8Array {
  return packr.pack(cmd);
}

interface Meta {
  applied: number;
}

export class DatumStore implements StateMachine {
  private readonly datums: Database<Datum, string>;
  private readonly meta: Database<Meta, string>;
  /** Request id → index of the entry that applied it. */
  private readonly requests: Database<number, string>;
  private m: Meta;
  /** Called after each applied batch with the keys it changed and the new applied index. */
  onApplied: ((keys: string[], applied: number) => void) | undefined;

  constructor(root: RootDatabase, private readonly handlers: Readonly<Record<string, CommandHandler>>) {
    this.datums = root.openDB<Datum, string>({ name: 'datums' });
    this.meta = root.openDB<Meta, string>({ name: 'datum-meta' });
    this.requests = root.openDB<number, string>({ name: 'datum-requests' });
    this.m = this.meta.get(META) ?? { applied: 0 };
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
    const changed = new Set<string>();
    let next = this.m;
    await this.datums.transaction(() => {
      let applied = this.m.applied;
      for (const e of entries) {
        if (e.index !== applied + 1) throw new Error(`datum store: applying ${e.index} after ${applied}`);
        applied = e.index;
        // Empty and configuration entries change no datum.
        results.push(e.data ? this.applyOne(e, changed) : { ok: true, result: null, revision: e.index });
      }
      next = { applied };
      this.meta.put(META, next);
    });
    // Published once committed: readers see the datums and the applied index together.
    this.m = next;
    this.onApplied?.([...changed], this.m.applied);
    return results;
  }

  private applyOne(e: Entry, changed: Set<string>): ApplyResult {
    let cmd: Command | undefined;
    try {
      const v: unknown = packr.unpack(e.data!);
      if (v && typeof v === 'object' && !Array.isArray(v)) cmd = v as Command;
    } catch {
      // not msgpack
    }
    if (!cmd) return { ok: false, code: 'BAD_COMMAND', message: 'entry is not a msgpack command object', revision: e.index };
    if (typeof cmd.requestId === 'string') {
      const prev = this.requests.get(cmd.requestId); // sees this transaction's own writes
      if (prev !== undefined) return { ok: true, result: { duplicate: true, appliedAt: prev }, revision: prev };
    }
    const handler = Object.hasOwn(this.handlers, cmd.type) ? this.handlers[cmd.type] : undefined;
    if (!handler || typeof cmd.requestId !== 'string' || typeof cmd.time !== 'number') {
      return { ok: false, code: 'UNKNOWN_COMMAND', message: `no handler for command type ${String(cmd.type)}`, revision: e.index };
    }
    let outcome: CommandOutcome;
    try {
      outcome = handler(cmd, (key) => this.datums.get(key));
    } catch (err) {
      if (err instanceof DatumCommandError) return { ok: false, code: err.code, message: err.message, revision: e.index };
      throw err;
    }
    for (const w of outcome.writes) {
      if ('delete' in w) this.datums.remove(w.key);
      else this.datums.put(w.key, { key: w.key, value: w.value, revision: e.index, time: cmd.time });
      changed.add(w.key);
    }
    this.requests.put(cmd.requestId, e.index);
    return { ok: true, result: outcome.result, revision: e.index };
  }

  snapshot(): Promise<Uint8Array> {
    const datums: Datum[] = [];
    for (const { value } of this.datums.getRange({})) datums.push(value);
    const requests: [string, number][] = [];
    for (const { key, value } of this.requests.getRange({})) requests.push([key, value]);
    return Promise.resolve(packr.pack({ applied: this.m.applied, requests, datums }));
  }

  async restore(meta: SnapshotMeta, image: Uint8Array): Promise<void> {
    const s = packr.unpack(image) as { applied: number; requests: [string, number][]; datums: Datum[] };
    if (s.applied !== meta.index) throw new Error(`datum image at ${s.applied}, snapshot says ${meta.index}`);
    await this.datums.transaction(() => {
      for (const k of this.datums.getKeys({})) this.datums.remove(k);
      for (const d of s.datums) this.datums.put(d.key, d);
      for (const k of this.requests.getKeys({})) this.requests.remove(k);
      for (const [id, index] of s.requests) this.requests.put(id, index);
      this.meta.put(META, { applied: s.applied });
    });
    this.m = { applied: s.applied };
    await this.datums.flushed;
    this.onApplied?.(s.datums.map((d) => d.key), this.m.applied);
  }
}
