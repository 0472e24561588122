// The node's watch hub (DESIGN §7): turns each applied batch into watch events (in revision
// order), keeps them in the bounded history, wakes blocking queries waiting on what changed (a
// service, or its namespace — never other services), and hands events to subscribers (SSE
// streams, UDP push). Everything is served from THIS node's applied state: a watcher on a
// follower sees a change once that follower applied it.

import type { RegistryViews, ServiceChange } from '../views.ts';
import { History, WatchEventKind, type WatchEvent } from './history.ts';
import { LatencyWindow } from './latency.ts';

export interface Subscriber {
  /** Whether this subscriber wants `e`. */
  wants(e: WatchEvent): boolean;
  /** Events of one applied batch it wants, in revision order. */
  deliver(events: WatchEvent[]): void;
}

interface Waiter {
  resolve: () => void;
}

/** Last event revisions remembered per service (for services deleted since the node started). */
const MAX_TOMBSTONES = 100_000;

export class WatchHub {
  readonly history: History;
  private start: number;
  private readonly lastRev = new Map<string, number>();
  /** The largest revision dropped from lastRev: a floor for services not remembered. */
  private forgottenRev = 0;
  private readonly nsRev = new Map<string, number>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly subscribers = new Set<Subscriber>();
  readonly latency = { blocking: new LatencyWindow(), sse: new LatencyWindow(), udp: new LatencyWindow() };
  readonly counters = { events: 0, blockingWoken: 0 };

  constructor(
    private readonly views: RegistryViews,
    opts: { historySize: number; startRevision: number },
    /** Leader time of the last applied command, ms (the time of a deletion, whose datum is gone). */
    private readonly appliedTime: () => number,
    private readonly wallNow: () => number = Date.now,
  ) {
    this.history = new History(opts.historySize, opts.startRevision);
    this.start = opts.startRevision;
    views.onChange((changes) => this.onChange(changes));
  }

  /** A snapshot replaced the state: history and remembered revisions start over at `applied`. */
  restored(applied: number): void {
    this.history.reset(applied);
    this.start = applied;
    this.lastRev.clear();
    this.nsRev.clear();
    this.forgottenRev = 0;
    this.views.reset();
    // Everyone waiting may be behind now.
    for (const set of this.waiters.values()) for (const w of set) w.resolve();
    this.waiters.clear();
  }

  /** Revision of a service as watchers see it (monotonic on this node): its last change. */
  serviceRevision(ns: string, grouped: string): number {
    const v = this.views.service(ns, grouped);
    const k = key(ns, grouped);
    return Math.max(v.revision, this.lastRev.get(k) ?? (v.service ? 0 : this.forgottenRev));
  }

  /** Revision of a namespace's service list: its last change, at least this node's start. */
  namespaceRevision(ns: string): number {
    return Math.max(this.nsRev.get(ns) ?? 0, this.start);
  }

  /** Resolves at the first change to `grouped` in `ns` (or to any service of `ns` when grouped is
   * undefined), or after `timeoutMs`. Returns the stop function too (for a closed request). */
  wait(ns: string, grouped: string | undefined, timeoutMs: number): { done: Promise<boolean>; cancel: () => void } {
    const k = grouped === undefined ? nsKey(ns) : key(ns, grouped);
    let timer: NodeJS.Timeout | undefined;
    let w!: Waiter;
    const done = new Promise<boolean>((resolve) => {
      w = {
        resolve: () => {
          clearTimeout(timer);
          this.removeWaiter(k, w);
          resolve(true);
        },
      };
      timer = setTimeout(() => {
        this.removeWaiter(k, w);
        resolve(false);
      }, timeoutMs);
    });
    let set = this.waiters.get(k);
    if (!set) this.waiters.set(k, (set = new Set()));
    set.add(w);
    return { done, cancel: () => { clearTimeout(timer); this.removeWaiter(k, w); } };
  }

  /** Blocking queries waiting now. */
  get waiting(): number {
    let n = 0;
    for (const s of this.waiters.values()) n += s.size;
    return n;
  }

  subscribe(s: Subscriber): () => void {
    this.subscribers.add(s);
    return () => this.subscribers.delete(s);
  }

  private removeWaiter(k: string, w: Waiter): void {
    const set = this.waiters.get(k);
    if (!set) return;
    set.delete(w);
    if (set.size === 0) this.waiters.delete(k);
  }

  private onChange(changes: readonly ServiceChange[]): void {
    if (changes.length === 0) return;
    const events: WatchEvent[] = [];
    for (const c of changes) {
      const h = this.views.head(c.ns, c.grouped);
      const kind = !h.exists ? WatchEventKind.DELETED : c.instances ? WatchEventKind.INSTANCES : WatchEventKind.SERVICE;
      const e: WatchEvent = { revision: c.revision, ns: c.ns, grouped: c.grouped, kind, time: h.exists ? h.time : this.appliedTime() };
      events.push(e);
      this.history.push(e);
      this.remember(key(c.ns, c.grouped), c.revision);
      this.nsRev.set(c.ns, Math.max(this.nsRev.get(c.ns) ?? 0, c.revision));
    }
    this.counters.events += events.length;
    const now = this.wallNow();
    for (const e of events) {
      for (const k of [key(e.ns, e.grouped), nsKey(e.ns)]) {
        const set = this.waiters.get(k);
        if (!set) continue;
        for (const w of [...set]) {
          this.latency.blocking.add(now - e.time);
          this.counters.blockingWoken++;
          w.resolve();
        }
      }
    }
    for (const s of this.subscribers) {
      const mine = events.filter((e) => s.wants(e));
      if (mine.length > 0) s.deliver(mine);
    }
  }

  private remember(k: string, rev: number): void {
    this.lastRev.delete(k);
    this.lastRev.set(k, rev);
    if (this.lastRev.size > MAX_TOMBSTONES) {
      const [oldest, r] = this.lastRev.entries().next().value as [string, number];
      this.lastRev.delete(oldest);
      this.forgottenRev = Math.max(this.forgottenRev, r);
    }
  }
}

function key(ns: string, grouped: string): string {
  return `${ns}\u001f${grouped}`;
}
function nsKey(ns: string): string {
  return `${ns}\u001f`;
}
