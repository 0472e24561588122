// The core's only source of randomness is injected; this is the seeded generator used by the
// driver (seeded from the node id and start time in production, from the run seed in the
// simulator). It holds no global state.

export interface Rand {
  /** A uniformly distributed integer in [0, n). */
  int(n: number): number;
}

/** mulberry32: small, fast, good enough for timeouts and fault injection; deterministic per seed. */
export class SeededRand implements Rand {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

/** Derives a 32-bit seed from a string (FNV-1a), e.g. a node id. */
export function seedFrom(s: string, salt = 0): number {
  let h = (0x811c9dc5 ^ salt) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
