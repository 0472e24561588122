// A hand-driven cluster of pure Raft cores for scripted scenarios (etcd-io/raft's interaction
// tests): tick nodes, deliver or drop messages, inspect state. Storage is the in-memory one;
// the "state machine" records applied entries, and its snapshot image is their list.

import { crc32 } from '../../src/consensus/crc32.ts';
import { describeMessage } from '../../src/consensus/describe.ts';
import { MemoryStorage } from '../../src/consensus/memory-storage.ts';
import { RaftCore, type Mutations, type RaftConfig } from '../../src/consensus/raft.ts';
import { SeededRand } from '../../src/consensus/rand.ts';
import type { Entry, Message, NodeId, ReadState, SnapshotMeta } from '../../src/consensus/types.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

export interface ScenarioNode {
  id: NodeId;
  core: RaftCore;
  storage: MemoryStorage;
  /** Data of applied normal entries, in order ('' for empty entries). */
  applied: string[];
  appliedIndex: number;
  readStates: ReadState[];
  down: boolean;
}

export type Options = Partial<Omit<RaftConfig, 'id' | 'storage' | 'applied' | 'rand' | 'bootstrap'>> & { mutations?: Mutations };

export class Scenario {
  readonly nodes = new Map<NodeId, ScenarioNode>();
  /** Messages sent and not yet delivered. */
  queue: Message[] = [];
  /** Every message delivered, described (the story). */
  delivered: string[] = [];
  /** Directions that drop messages, as "from>to". */
  private cut = new Set<string>();
  /** Drops messages for which this returns true (one-off faults). */
  dropIf: ((m: Message) => boolean) | undefined;

  constructor(voters: NodeId[], readonly opts: Options = {}) {
    for (const id of voters) this.add(id, voters);
  }

  /** Adds a node; with `bootstrap` it bootstraps that configuration, else it starts empty (joining). */
  add(id: NodeId, bootstrap?: NodeId[]): ScenarioNode {
    const storage = new MemoryStorage();
    const n: ScenarioNode = { id, core: undefined as unknown as RaftCore, storage, applied: [], appliedIndex: 0, readStates: [], down: false };
    n.core = this.makeCore(n, bootstrap);
    this.nodes.set(id, n);
    this.process(n);
    return n;
  }

  private makeCore(n: ScenarioNode, bootstrap?: NodeId[]): RaftCore {
    return new RaftCore({
      electionTicks: 10,
      heartbeatTicks: 1,
      ...this.opts,
      id: n.id,
      storage: n.storage,
      applied: n.appliedIndex,
      rand: new SeededRand(n.id.charCodeAt(n.id.length - 1) * 7919),
      ...(bootstrap ? { bootstrap: { voters: bootstrap } } : {}),
    });
  }

  node(id: NodeId): ScenarioNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  core(id: NodeId): RaftCore {
    return this.node(id).core;
  }

  /** Runs every Ready of a node: persist, queue messages, apply, advance. */
  process(n: ScenarioNode): void {
    while (!n.down && n.core.hasReady()) {
      const rd = n.core.ready();
      void n.storage.persist({ hardState: rd.hardState, entries: rd.entries, snapshotOps: rd.snapshotOps });
      for (const op of rd.snapshotOps) {
        if (op.op !== 'install') continue;
        const image = n.storage.readSnapshotChunk(op.meta.id, 0, op.meta.size)!;
        n.applied = JSON.parse(dec.decode(image)) as string[];
        n.appliedIndex = op.meta.index;
      }
      this.queue.push(...rd.messages, ...rd.persistedMessages);
      for (const e of rd.committedEntries) this.apply(n, e);
      n.readStates.push(...rd.readStates);
      n.core.advance(rd);
    }
  }

  private apply(n: ScenarioNode, e: Entry): void {
    if (e.index !== n.appliedIndex + 1) throw new Error(`${n.id} applies ${e.index} after ${n.appliedIndex}`);
    n.applied.push(e.data ? dec.decode(e.data) : e.change ? `#${e.change.type}` : '');
    n.appliedIndex = e.index;
  }

  tick(id: NodeId, times = 1): void {
    const n = this.node(id);
    for (let i = 0; i < times; i++) {
      n.core.tick();
      this.process(n);
    }
  }

  /** Ticks a node until it starts an election, then delivers until quiet. */
  campaign(id: NodeId): void {
    const n = this.node(id);
    n.core.hup(false);
    this.process(n);
    this.stabilize();
  }

  propose(id: NodeId, data: string): { index: number; term: number } {
    const n = this.node(id);
    const [r] = n.core.propose([enc.encode(data)]);
    this.process(n);
    return r!;
  }

  /** Delivers the queued messages once (messages they cause are queued). Returns how many. */
  deliverOnce(filter?: (m: Message) => boolean): number {
    const batch = this.queue;
    this.queue = [];
    let count = 0;
    for (const m of batch) {
      if (filter && !filter(m)) {
        this.queue.push(m);
        continue;
      }
      const to = this.nodes.get(m.to);
      if (!to || to.down || this.nodes.get(m.from)?.down) continue;
      if (this.cut.has(`${m.from}>${m.to}`)) continue;
      if (this.dropIf?.(m)) continue;
      this.delivered.push(describeMessage(m));
      to.core.step(m);
      this.process(to);
      count++;
    }
    return count;
  }

  /** Delivers until no message is left (bounded). */
  stabilize(maxRounds = 1000): void {
    for (let i = 0; i < maxRounds && this.queue.length > 0; i++) this.deliverOnce();
  }

  /** Ticks every running node once and delivers until quiet: one heartbeat round. */
  heartbeat(rounds = 1): void {
    for (let r = 0; r < rounds; r++) {
      for (const n of this.nodes.values()) if (!n.down) this.tick(n.id);
      this.stabilize();
    }
  }

  /** Ticks `ids` round-robin, delivering after each tick, until `done()` (at most maxTicks each). */
  tickUntil(ids: NodeId[], done: () => boolean, maxTicks = 200): void {
    for (let t = 0; t < maxTicks && !done(); t++) {
      for (const id of ids) {
        this.tick(id);
        this.stabilize();
      }
    }
    if (!done()) throw new Error(`condition not reached after ${maxTicks} ticks of ${ids.join(',')}`);
  }

  /** Ticks `ids` until one of them leads; returns it. */
  electAmong(ids: NodeId[]): ScenarioNode {
    this.tickUntil(ids, () => ids.some((id) => this.core(id).role === 'leader'));
    return this.node(ids.find((id) => this.core(id).role === 'leader')!);
  }

  isolate(id: NodeId): void {
    for (const o of this.nodes.keys()) {
      if (o === id) continue;
      this.cut.add(`${id}>${o}`);
      this.cut.add(`${o}>${id}`);
    }
  }

  partition(...groups: NodeId[][]): void {
    for (const a of groups) for (const b of groups) if (a !== b) for (const x of a) for (const y of b) this.cut.add(`${x}>${y}`);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Restarts a node cleanly: a new core from its storage (everything was persisted), no
   * memory of its previous life; messages queued for it are still delivered. */
  restart(id: NodeId): RaftCore {
    const n = this.node(id);
    n.down = false;
    n.core = this.makeCore(n);
    this.process(n);
    return n.core;
  }

  /** Stops a node (messages to and from it are lost). */
  kill(id: NodeId): void {
    this.node(id).down = true;
  }

  /** Snapshots the node's applied state and compacts its log up to the snapshot index. */
  snapshot(id: NodeId, keep = 0): SnapshotMeta {
    const n = this.node(id);
    const image = enc.encode(JSON.stringify(n.applied));
    const index = n.appliedIndex;
    const meta: SnapshotMeta = {
      id: `${id}-${index}-${n.core.log.term(index)}`,
      index,
      term: n.core.log.term(index)!,
      conf: n.core.status().conf,
      size: image.length,
      checksum: crc32(image),
    };
    void n.storage.saveSnapshot(meta, image, n.core.pinnedImages());
    void n.storage.compact(index - keep);
    return meta;
  }

  leader(): ScenarioNode | undefined {
    let best: ScenarioNode | undefined;
    for (const n of this.nodes.values()) {
      if (!n.down && n.core.role === 'leader' && (!best || n.core.term > best.core.term)) best = n;
    }
    return best;
  }
}
