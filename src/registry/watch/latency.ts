// A window of the most recent latency samples (ms), for p50/p99 in metrics.

export class LatencyWindow {
  private readonly samples: number[] = [];
  private next = 0;
  count = 0;

  constructor(private readonly size = 2048) {}

  add(ms: number): void {
    if (this.samples.length < this.size) this.samples.push(ms);
    else this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.size;
    this.count++;
  }

  /** { count, p50, p99 } over the window, ms (null when empty). */
  summary(): { count: number; p50: number | null; p99: number | null } {
    if (this.samples.length === 0) return { count: this.count, p50: null, p99: null };
    const s = [...this.samples].sort((a, b) => a - b);
    const q = (p: number) => Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]! * 100) / 100;
    return { count: this.count, p50: q(0.5), p99: q(0.99) };
  }
}
