// Time enters the driver only through a Timer, so the simulator can run it on a virtual clock.

export interface Timer {
  /** Monotonic milliseconds. */
  now(): number;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

/** The wall clock: monotonic (performance.now), real intervals. */
export const wallTimer: Timer = {
  now: () => performance.now(),
  setInterval: (fn, ms) => {
    const h = setInterval(fn, ms);
    h.unref?.();
    return h;
  },
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};
