// npm run sim -- --seeds N [--start S] [--nodes 3|5] [--steps K] [--trace] [--mutation NAME]
//                [--profile mixed|reads|lease|disk|figure8|compaction] [--consequences-only]
//
// Prints one line per failing seed (with the command that replays it) and, last,
// `sim: N seeds, V violations`. Without --nodes, odd seeds run 5 nodes and even seeds 3.

import type { Mutations } from '../../src/consensus/raft.ts';
import { emptyStats, type SimStats } from './cluster.ts';
import { MUTATIONS } from './mutations.ts';
import { runSeed } from './run.ts';

function parse(argv: string[]): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      out[a.slice(2)] = next;
      i++;
    } else out[a.slice(2)] = true;
  }
  return out;
}

function int(v: string | true | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${String(v)}`);
  return n;
}


async function main(): Promise<number> {
  const args = parse(process.argv.slice(2));
  const seeds = int(args.seeds, 'seeds', 100);
  const start = int(args.start, 'start', 1);
  const steps = int(args.steps, 'steps', 300);
  const nodesArg = args.nodes === undefined ? undefined : int(args.nodes, 'nodes', 3);
  if (nodesArg !== undefined && nodesArg !== 3 && nodesArg !== 5) throw new Error('--nodes must be 3 or 5');
  const mutations: Mutations = {};
  if (typeof args.mutation === 'string') {
    if (!(MUTATIONS as string[]).includes(args.mutation)) throw new Error(`--mutation must be one of ${MUTATIONS.join(', ')}`);
    (mutations as Record<string, boolean>)[args.mutation] = true;
  }
  const PROFILES = ['mixed', 'reads', 'lease', 'disk', 'figure8', 'compaction'] as const;
  const profile = typeof args.profile === 'string' ? (args.profile as (typeof PROFILES)[number]) : undefined;
  if (profile !== undefined && !PROFILES.includes(profile)) throw new Error(`--profile must be one of ${PROFILES.join(', ')}`);
  const tty = process.stderr.isTTY && !process.env.CI;
  const totals: SimStats = emptyStats();
  let violations = 0;
  const t0 = performance.now();
  for (let k = 0; k < seeds; k++) {
    const seed = start + k;
    const nodes = nodesArg ?? (seed % 2 === 1 ? 5 : 3);
    const r = await runSeed(seed, { nodes, steps, mutations, trace: args.trace === true, consequencesOnly: args['consequences-only'] === true, ...(profile ? { profile } : {}) });
    for (const key of Object.keys(totals) as (keyof SimStats)[]) totals[key] += r.stats[key];
    if (r.violations.length > 0) {
      violations++;
      if (tty) process.stderr.write('\r\x1b[K');
      const replay = `npm run sim -- --start ${seed} --seeds 1 --nodes ${nodes} --steps ${steps}${args.mutation ? ` --mutation ${String(args.mutation)}` : ''}${profile ? ` --profile ${profile}` : ''} --trace`;
      console.log(`FAIL seed ${seed} (${nodes} nodes): ${r.violations[0]}   [replay: ${replay}]`);
      if (args.trace === true && r.trace) console.log(r.trace.join('\n'));
    }
    if (tty) {
      const done = k + 1;
      const w = 30;
      const bar = '#'.repeat(Math.round((done / seeds) * w)).padEnd(w, '.');
      process.stderr.write(`\r[${bar}] ${done}/${seeds} seeds, ${violations} violations`);
    }
  }
  if (tty) process.stderr.write('\r\x1b[K');
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`sim counts: ${Object.entries(totals).map(([k, v]) => `${k}=${v}`).join(' ')} (${secs}s)`);
  console.log(`sim: ${seeds} seeds, ${violations} violations`);
  return violations === 0 ? 0 : 1;
}

// exitCode, not exit(): exit() would drop output still buffered for a pipe (long traces).
main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`sim: ${(err as Error).message}`);
    process.exitCode = 2;
  },
);
