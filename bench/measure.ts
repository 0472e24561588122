// One table row: a warm-up, then --rounds measured closed-loop runs (the row keeps the median by
// throughput), with the CPU the serving processes used during each.

import type { Pool } from 'undici';
import { closePools, load, openPools, type LoadResult, type Target } from './load.ts';
import type { Options } from './options.ts';
import { totalCpuMs } from './proc-stats.ts';
import { progress } from './progress.ts';

export interface Round {
  result: LoadResult;
  /** CPU ms of the serving processes (all members) per successful request. */
  cpuMsPerReq: number | undefined;
  /** First request number of the round (so a later row can touch the same keys). */
  offset: number;
}

export interface Row extends Round {
  system: 'baseline' | 'etcd' | 'muster';
  scenario: string;
  concurrency: number;
  /** Every round; the row's own figures are those of the median round. */
  rounds: Round[];
  /** Something that happened during the row (e.g. a leader change). */
  note?: string;
}

/** Hands out disjoint ranges of request numbers. */
export class Seq {
  private next = 0;
  take(n: number): number {
    const o = this.next;
    this.next += n;
    return o;
  }
}

export interface MeasureSpec {
  system: Row['system'];
  scenario: string;
  targets: Target[];
  concurrency: number;
  pids: (number | undefined)[];
  /** Each round starts at this request number (default: fresh ranges). */
  offsets?: number[];
  /** Warm-up starts at this request number (default: a fresh range). */
  warmupOffset?: number;
  /** Measured requests per round (default requestCount). */
  requests?: number;
  /** Rounds (default opts.rounds). */
  rounds?: number;
}

/** Every worker sends a few requests in a row, whatever the flags. */
export const warmupCount = (opts: Options, concurrency: number) => Math.max(opts.warmup, concurrency);
export const requestCount = (opts: Options, concurrency: number) => Math.max(opts.requests, 4 * concurrency);

export async function measure(opts: Options, seq: Seq, s: MeasureSpec): Promise<Row> {
  const label = `${s.system} ${s.scenario} c=${s.concurrency}`;
  progress.step(`${label} (warm-up)`);
  const warmup = warmupCount(opts, s.concurrency);
  // The warm-up opens the row's connections and the rounds reuse them (clients of a registry keep
  // theirs open): a fresh burst of 256 connects against a busy node costs some requests a
  // second or more (SYN retransmission), which no steady client sees.
  const pools = openPools(s.targets, s.concurrency);
  try {
    await load(s.targets, { concurrency: s.concurrency, requests: warmup, offset: s.warmupOffset ?? seq.take(warmup), maxMs: opts.rowSecs * 1000, pools });
    return await measureRounds(opts, seq, s, label, pools);
  } finally {
    await closePools(pools);
  }
}

async function measureRounds(opts: Options, seq: Seq, s: MeasureSpec, label: string, pools: Pool[]): Promise<Row> {
  const requests = s.requests ?? requestCount(opts, s.concurrency);
  const n = s.offsets?.length ?? s.rounds ?? opts.rounds;
  const rounds: Round[] = [];
  for (let i = 0; i < n; i++) {
    const offset = s.offsets?.[i] ?? seq.take(requests);
    progress.step(`${label}${n > 1 ? ` round ${i + 1}/${n}` : ''}`);
    const cpu0 = totalCpuMs(s.pids);
    const result = await load(s.targets, { concurrency: s.concurrency, requests, offset, maxMs: opts.rowSecs * 1000, onProgress: (d) => progress.update(d, requests), pools });
    const cpu = totalCpuMs(s.pids) - cpu0;
    rounds.push({ result, cpuMsPerReq: result.ok > 0 ? cpu / result.ok : undefined, offset });
  }
  const median = [...rounds].sort((a, b) => a.result.rps - b.result.rps)[Math.floor((rounds.length - 1) / 2)]!;
  return { system: s.system, scenario: s.scenario, concurrency: s.concurrency, ...median, rounds };
}
