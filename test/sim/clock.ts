// One virtual clock for the whole simulated cluster: a priority queue of events by (time, seq).
// Times are virtual milliseconds.

interface Ev {
  t: number;
  seq: number;
  fn: () => void;
}

export class VirtualClock {
  now = 0;
  private heap: Ev[] = [];
  private seq = 0;

  at(t: number, fn: () => void): void {
    const ev = { t: Math.max(t, this.now), seq: this.seq++, fn };
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[p]!, h[i]!)) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  after(delayMs: number, fn: () => void): void {
    this.at(this.now + delayMs, fn);
  }

  get size(): number {
    return this.heap.length;
  }

  peekTime(): number {
    return this.heap[0]?.t ?? Infinity;
  }

  /** Runs the earliest event; false when none is left. */
  runNext(): boolean {
    const h = this.heap;
    if (h.length === 0) return false;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    this.now = top.t;
    top.fn();
    return true;
  }
}

function less(a: Ev, b: Ev): boolean {
  return a.t < b.t || (a.t === b.t && a.seq < b.seq);
}
