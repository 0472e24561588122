// Beats: --beat-instances ephemeral instances, each beating every 5 s from its own registration
// on (as a Nacos client does), light form, spread over the nodes. Registration (c=64) and beats
// (up to 256 in flight) run together; once every instance is registered the beats go on alone for
// --beat-secs, the steady window in which throughput and the node processes' CPU (/proc) are
// measured. Then every service is listed: an instance unhealthy or missing was falsely expired
// (must be 0) — as long as no beat was sent more than 10 s late (then expiry is the bench's fault).

import { Pool } from 'undici';
import { summarize, type LoadResult, type Target } from '../load.ts';
import type { Seq } from '../measure.ts';
import type { Muster } from '../muster.ts';
import { beat, hosts, ipOf, register } from '../nacos.ts';
import type { Options } from '../options.ts';
import { cpuMs } from '../proc-stats.ts';
import { progress } from '../progress.ts';

const FAMILY = 'beat';
const SERVICES = 100;
/** Registrations in flight; beats in flight (enough that the generator, not the cap, sets the pace). */
const CONCURRENCY = 64;
const BEAT_CONCURRENCY = 256;
const REGISTER_BOUND_MS = 10 * 60_000;

export interface BeatsResult {
  instances: number;
  intervalMs: number;
  register: LoadResult;
  /** Beats in the steady window (after the last registration). */
  beats: LoadResult;
  /** Beats sent in all, including while instances were still registering. */
  beatsTotal: number;
  /** How late beats were sent against their schedule, ms (p99, max). */
  lateP99Ms: number;
  lateMaxMs: number;
  /** Beats per second the instances call for (instances / interval). */
  offeredPerSec: number;
  /** CPU ms per node in the steady window, and as a share of one core. */
  cpuMs: Record<string, number | undefined>;
  cpuCoreShare: Record<string, number | undefined>;
  cpuMsPerBeat: number | undefined;
  /** Instances listed unhealthy, and not listed at all, at the end: both must be 0. */
  unhealthy: number;
  missing: number;
}

interface Due {
  k: number;
  due: number;
}

/** A FIFO of nondecreasing due times. */
class Queue {
  private items: Due[] = [];
  private head = 0;
  push(d: Due): void {
    this.items.push(d);
  }
  peek(): Due | undefined {
    return this.items[this.head];
  }
  shift(): Due | undefined {
    const d = this.items[this.head++];
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return d;
  }
}

export async function beatsScenario(opts: Options, seq: Seq, m: Muster): Promise<BeatsResult> {
  const n = opts.beatInstances;
  const interval = opts.beatIntervalMs;
  const base = seq.take(n);
  const origins = m.origins;
  const pools = origins.map((o) => new Pool(o, { connections: CONCURRENCY + BEAT_CONCURRENCY, headersTimeout: 15_000, bodyTimeout: 15_000 }));
  const regT = origins.map((o) => register(o, FAMILY, SERVICES, true));
  const beatT = origins.map((o) => beat(o, FAMILY, SERVICES));
  const samples = new Set<string>();
  const send = async (t: Target[], k: number): Promise<boolean> => {
    const i = k % t.length;
    try {
      const r = await pools[i]!.request({ path: t[i]!.path(k), method: t[i]!.method, body: t[i]!.body?.(k), headers: t[i]!.headers });
      const text = await r.body.text();
      const ok = t[i]!.ok ? t[i]!.ok!(r.statusCode, text) : r.statusCode === 200;
      if (!ok && samples.size < 5) samples.add(`${r.statusCode} ${text.slice(0, 100)}`);
      return ok;
    } catch (e) {
      if (samples.size < 5) samples.add((e as Error).message);
      return false;
    }
  };
  // Instances due for a beat: those just registered, and those just beaten; each queue's due
  // times never decrease, so the earlier head of the two is the next beat due.
  const fromReg = new Queue();
  const fromBeat = new Queue();
  const t0 = performance.now();
  const reg = { lat: [] as number[], ok: 0, errors: 0 };
  const steady = { lat: [] as number[], ok: 0, errors: 0 };
  const late: number[] = [];
  let beatsTotal = 0;
  let regDoneAt: number | undefined;
  let endAt: number | undefined;
  let cpu0: Record<string, number | undefined> = {};
  let stop = false;

  progress.step(`${n} ephemeral instances register and beat every ${interval / 1000} s`);
  let nextReg = 0;
  const registerWorker = async () => {
    for (let j = nextReg++; j < n && performance.now() - t0 < REGISTER_BOUND_MS; j = nextReg++) {
      const s = performance.now();
      const ok = await send(regT, base + j);
      const e = performance.now();
      reg.lat.push(e - s);
      if (ok) {
        reg.ok++;
        fromReg.push({ k: base + j, due: e + interval });
      } else reg.errors++;
      if ((reg.ok + reg.errors) % 500 === 0) progress.update(reg.ok + reg.errors, n);
    }
  };
  const beatWorker = async () => {
    while (!stop) {
      const a = fromReg.peek();
      const b = fromBeat.peek();
      const next = a && (!b || a.due <= b.due) ? fromReg.shift() : b ? fromBeat.shift() : undefined;
      if (!next) {
        if (regDoneAt !== undefined) break;
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      // The window ends by the schedule, or (when beats run late) one interval after it in real time.
      if (endAt !== undefined && (next.due > endAt || performance.now() > endAt + interval)) {
        stop = true;
        break;
      }
      const wait = next.due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const s = performance.now();
      late.push(s - next.due);
      const ok = await send(beatT, next.k);
      const e = performance.now();
      beatsTotal++;
      if (regDoneAt !== undefined && s >= regDoneAt) {
        steady.lat.push(e - s);
        if (ok) steady.ok++;
        else steady.errors++;
        if (beatsTotal % 500 === 0) progress.update(Math.round((e - regDoneAt) / 1000), opts.beatSecs);
      }
      fromBeat.push({ k: next.k, due: next.due + interval });
    }
  };
  const beating = Promise.all(Array.from({ length: BEAT_CONCURRENCY }, beatWorker));
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, registerWorker));
    const regSecs = (performance.now() - t0) / 1000;
    cpu0 = Object.fromEntries(m.ids.map((id) => [id, cpuMs(m.pid(id))]));
    regDoneAt = performance.now();
    endAt = regDoneAt + opts.beatSecs * 1000;
    progress.step(`${reg.ok} instances beating every ${interval / 1000} s (steady window, s)`);
    await beating;
    const windowMs = performance.now() - regDoneAt;
    const used = Object.fromEntries(
      m.ids.map((id) => {
        const x = cpu0[id];
        const y = cpuMs(m.pid(id));
        return [id, x !== undefined && y !== undefined ? y - x : undefined];
      }),
    );

    progress.step('listing every beaten instance');
    const L = m.origin(await m.leader());
    let unhealthy = 0;
    let missing = 0;
    for (let s = 0; s < SERVICES; s++) {
      const listed = new Map((await hosts(L, `${FAMILY}-${s}`)).map((h) => [h.ip, h.healthy]));
      // The instances of service s: request numbers equal to s modulo SERVICES.
      for (let k = base + ((s - (base % SERVICES) + SERVICES) % SERVICES); k < base + n; k += SERVICES) {
        const h = listed.get(ipOf(k));
        if (h === undefined) missing++;
        else if (!h) unhealthy++;
      }
    }
    const totalCpu = Object.values(used).reduce<number>((x, y) => x + (y ?? 0), 0);
    late.sort((x, y) => x - y);
    return {
      instances: n,
      intervalMs: interval,
      register: summarize(CONCURRENCY, reg.lat, reg.ok, reg.errors, regSecs, [...samples]),
      beats: summarize(BEAT_CONCURRENCY, steady.lat, steady.ok, steady.errors, windowMs / 1000, [...samples]),
      beatsTotal,
      lateP99Ms: late.length ? late[Math.floor(0.99 * (late.length - 1))]! : NaN,
      lateMaxMs: late.length ? late[late.length - 1]! : NaN,
      offeredPerSec: n / (interval / 1000),
      cpuMs: used,
      cpuCoreShare: Object.fromEntries(Object.entries(used).map(([id, v]) => [id, v === undefined ? undefined : v / windowMs])),
      cpuMsPerBeat: steady.ok > 0 ? totalCpu / steady.ok : undefined,
      unhealthy,
      missing,
    };
  } finally {
    stop = true;
    regDoneAt ??= performance.now();
    await beating;
    await Promise.all(pools.map((p) => p.destroy()));
  }
}
