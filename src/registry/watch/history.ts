// A bounded in-memory history of applied changes on this node (DESIGN §7), for resuming watchers.
// Events are in revision order (the Raft index of the change); several events may share a
// revision (one entry can change several services). The history is complete for every revision
// above `floor`: a resume point at or above it gets exactly the events after it; an older one
// must be answered with a reset.

export const WatchEventKind = {
  INSTANCES: 'instances',
  SERVICE: 'service',
  DELETED: 'deleted',
} as const;
export type WatchEventKind = (typeof WatchEventKind)[keyof typeof WatchEventKind];

export interface WatchEvent {
  revision: number;
  ns: string;
  /** group@@service */
  grouped: string;
  kind: WatchEventKind;
  /** Leader time of the change, ms (for commit-to-notification latency). */
  time: number;
}

export class History {
  private readonly ring: (WatchEvent | undefined)[];
  private start = 0; // index of the oldest event in the ring
  private count = 0;
  /** Every event with a revision above this is retained. */
  private floorRev: number;

  constructor(
    readonly capacity: number,
    startRevision: number,
  ) {
    this.ring = new Array<WatchEvent | undefined>(capacity);
    this.floorRev = startRevision;
  }

  /** Revision from which the history is complete (events with revision > floor are all here). */
  get floor(): number {
    return this.floorRev;
  }

  get size(): number {
    return this.count;
  }

  /** Starts over at `revision` (a restart or a snapshot install): nothing before it is known. */
  reset(revision: number): void {
    this.ring.fill(undefined);
    this.start = 0;
    this.count = 0;
    this.floorRev = revision;
  }

  /** Appends an event; revisions must not decrease. Evicting the oldest raises the floor. */
  push(e: WatchEvent): void {
    if (this.count === this.capacity) {
      const old = this.ring[this.start]!;
      this.ring[this.start] = undefined;
      this.start = (this.start + 1) % this.capacity;
      this.count--;
      // Everything at the evicted revision must go with it, or a resume there would miss one.
      this.floorRev = Math.max(this.floorRev, old.revision);
      while (this.count > 0 && this.ring[this.start]!.revision <= this.floorRev) {
        this.ring[this.start] = undefined;
        this.start = (this.start + 1) % this.capacity;
        this.count--;
      }
    }
    this.ring[(this.start + this.count) % this.capacity] = e;
    this.count++;
  }

  /** Events with revision > `since` matching `filter`, or undefined when `since` is below the floor. */
  since(since: number, filter: (e: WatchEvent) => boolean): WatchEvent[] | undefined {
    if (since < this.floorRev) return undefined;
    const out: WatchEvent[] = [];
    for (let k = 0; k < this.count; k++) {
      const e = this.ring[(this.start + k) % this.capacity]!;
      if (e.revision > since && filter(e)) out.push(e);
    }
    return out;
  }
}
