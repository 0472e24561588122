// Last-beat times of ephemeral instances, in memory only (DESIGN §6: beats never go through the
// log). Every node records the beats it receives; a follower also collects the keys it saw
// since its last digest, for the leader. Times are this node's monotonic clock, ms.

/** `ns␟group@@service␟instanceId`: one instance, the same on every node. */
export function beatKey(ns: string, grouped: string, id: string): string {
  return `${ns}\u001f${grouped}\u001f${id}`;
}

export class BeatTable {
  private readonly last = new Map<string, number>();
  /** The instance rev the leader last saw per key: a new rev (registered or updated again) counts as a beat. */
  private readonly revs = new Map<string, number>();
  private pending = new Set<string>();

  /** Records `rev` for `key`; true when it differs from the one seen before (or none was). */
  noteRev(key: string, rev: number): boolean {
    if (this.revs.get(key) === rev) return false;
    this.revs.set(key, rev);
    return true;
  }

  /** Records a beat at `now` (ms, monotonic). */
  record(key: string, now: number): void {
    this.last.set(key, now);
    this.pending.add(key);
  }

  /** Records beats that another node saw (a digest), at `now` of this node's clock. */
  recordDigest(keys: readonly string[], now: number): void {
    for (const k of keys) this.last.set(k, now);
  }

  /** Last beat of `key` at this node, or undefined. */
  get(key: string): number | undefined {
    return this.last.get(key);
  }

  /** Keys beaten here since the last call (what a follower sends the leader). */
  drainDigest(): string[] {
    if (this.pending.size === 0) return [];
    const keys = [...this.pending];
    this.pending = new Set();
    return keys;
  }

  /** Forgets every key not in `live` (instances that no longer exist). */
  retain(live: ReadonlySet<string>): void {
    for (const k of this.last.keys()) if (!live.has(k)) this.last.delete(k);
    for (const k of this.revs.keys()) if (!live.has(k)) this.revs.delete(k);
    for (const k of this.pending) if (!live.has(k)) this.pending.delete(k);
  }

  get size(): number {
    return this.last.size;
  }
}
