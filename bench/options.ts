// Command-line flags of `npm run bench`; `--quick` shrinks every count so a run takes < 3 min.

export interface Options {
  quick: boolean;
  /** Measured requests per row (after the warm-up). */
  requests: number;
  warmup: number;
  /** Measured rounds per row; a row shows the median one. */
  rounds: number;
  concurrency: number[];
  /** Longest a row may take, s (it stops issuing requests then). */
  rowSecs: number;
  /** Instances the cluster holds for the join and memory scenarios. */
  instances: number;
  /** Services the bulk registration spreads its instances over. */
  fillServices: number;
  /** Concurrency of the bulk registration, spread over the nodes. */
  fillConcurrency: number;
  beatInstances: number;
  beatIntervalMs: number;
  beatSecs: number;
  /** Instances per service the list scenarios read. */
  listSize: number;
  /** Failover: register stream concurrency and how long it runs before the kill, s. */
  failoverConcurrency: number;
  failoverLeadSecs: number;
  etcd: boolean;
  /** Where the JSON results go (default bench/results/<timestamp>.json). */
  out: string | undefined;
}

export const USAGE = `npm run bench [-- --quick] [--requests N] [--warmup N] [--rounds N] [--concurrency 1,16,64,256]
  [--row-secs S] [--instances N] [--fill-services N] [--fill-concurrency N] [--beat-instances N] [--beat-secs S]
  [--list-size N] [--failover-concurrency N] [--no-etcd] [--out FILE]`;

export function parseOptions(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const known = new Set(['--quick', '--no-etcd', '--help']);
  const withValue = new Set(['--requests', '--warmup', '--rounds', '--concurrency', '--row-secs', '--instances', '--fill-services', '--fill-concurrency', '--beat-instances', '--beat-secs', '--list-size', '--failover-concurrency', '--out']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (withValue.has(a)) {
      if (argv[i + 1] === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      i++;
    } else if (!known.has(a)) throw new Error(`unknown flag ${a}\n${USAGE}`);
  }
  if (argv.includes('--help')) {
    console.log(USAGE);
    process.exit(0);
  }
  const str = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (name: string, full: number, short: number): number => {
    const v = str(name);
    if (v === undefined) return quick ? short : full;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${v}`);
    return n;
  };
  const concurrency = (str('concurrency') ?? '1,16,64,256').split(',').map(Number);
  if (concurrency.some((c) => !Number.isInteger(c) || c < 1 || c > 4096)) throw new Error('--concurrency takes integers 1..4096, comma-separated');
  return {
    quick,
    requests: num('requests', 2000, 300),
    warmup: num('warmup', 200, 50),
    rounds: num('rounds', 3, 1),
    concurrency,
    rowSecs: num('row-secs', 30, 8),
    instances: num('instances', 100_000, 5_000),
    fillServices: num('fill-services', 1000, 100),
    fillConcurrency: num('fill-concurrency', 256, 128),
    beatInstances: num('beat-instances', 20_000, 2_000),
    beatIntervalMs: 5_000,
    beatSecs: num('beat-secs', 40, 20),
    listSize: num('list-size', 10, 10),
    failoverConcurrency: num('failover-concurrency', 16, 16),
    failoverLeadSecs: quick ? 1.5 : 3,
    etcd: !argv.includes('--no-etcd'),
    out: str('out'),
  };
}
