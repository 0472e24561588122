// A simulated disk: writes are visible at once (like a committed LMDB transaction) and durable
// only once flushed. A crash drops every write not yet flushed (their promises never resolve,
// as with a killed process) and reverts the visible state to the durable one.
//
// Writes are closures applied to the visible state now and to the durable state at flush, so a
// write must be deterministic and must not keep references to mutable parts of either state.

export class MemDisk<S> {
  private vis: S;
  private dur: S;
  private pending: { op: (s: S) => void; resolve: () => void }[] = [];
  private flushScheduled = false;
  /** Number of crashes so far; a flush scheduled before a crash does nothing. */
  private epoch = 0;

  /**
   * @param schedule arranges for `flush` to run later (a microtask by default; the simulator
   *   uses its virtual clock).
   */
  constructor(
    initial: S,
    private readonly clone: (s: S) => S,
    private readonly schedule: (flush: () => void) => void = queueMicrotask,
  ) {
    this.vis = clone(initial);
    this.dur = clone(initial);
  }

  get visible(): S {
    return this.vis;
  }

  /** The state a crash would leave (read-only use: checkers). */
  get durable(): S {
    return this.dur;
  }

  /** Applies `op` now; resolves once it is durable. */
  write(op: (s: S) => void): Promise<void> {
    op(this.vis);
    return new Promise<void>((resolve) => {
      this.pending.push({ op, resolve });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        const epoch = this.epoch;
        this.schedule(() => {
          if (epoch === this.epoch) this.flush();
        });
      }
    });
  }

  /** Makes every pending write durable, in order, then resolves them. */
  flush(): void {
    this.flushScheduled = false;
    const ps = this.pending;
    this.pending = [];
    for (const p of ps) p.op(this.dur);
    for (const p of ps) p.resolve();
  }

  /** Loses every write not yet flushed. */
  crash(): void {
    this.epoch++;
    this.pending = [];
    this.flushScheduled = false;
    this.vis = this.clone(this.dur);
  }
}
