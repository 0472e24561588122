// The simulator as a test: a few hundred seeds with every fault must show no violation, and must
// actually exercise each behaviour (a timid simulator cannot pass); each mutation of the core
// must be caught within the seeds run here.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyStats, type SimStats } from './cluster.ts';
import { MUTATION_SEEDS, SIM_CAUGHT } from './mutations.ts';
import { runSeed } from './run.ts';

const SEEDS = Number(process.env.SIM_SEEDS ?? 300);

describe('simulator', () => {
  it(`${SEEDS} seeds of faults (3 and 5 nodes) violate no invariant and exercise every behaviour`, async () => {
    const totals: SimStats = emptyStats();
    const failures: string[] = [];
    for (let seed = 1; seed <= SEEDS; seed++) {
      const nodes = seed % 2 === 1 ? 5 : 3;
      const r = await runSeed(seed, { nodes, steps: 300 });
      for (const k of Object.keys(totals) as (keyof SimStats)[]) totals[k] += r.stats[k];
      if (r.violations.length > 0) failures.push(`seed ${seed} (${nodes} nodes): ${r.violations[0]}`);
    }
    assert.deepEqual(failures, []);
    for (const [k, v] of Object.entries(totals)) assert.ok(v > 0, `no ${k} in ${SEEDS} seeds`);
    assert.ok(totals.leaseReads > 0 && totals.readsServed > totals.leaseReads, 'both ReadIndex and lease reads served');
  });

  for (const m of SIM_CAUGHT) {
    it(`catches the mutation ${m} within ${MUTATION_SEEDS} seeds`, async () => {
      for (let seed = 1; seed <= MUTATION_SEEDS; seed++) {
        const r = await runSeed(seed, { nodes: seed % 2 === 1 ? 5 : 3, steps: 300, mutations: { [m]: true } });
        if (r.violations.length > 0) return;
      }
      assert.fail(`${m} went unnoticed for ${MUTATION_SEEDS} seeds`);
    });
  }

  it(`shows the Figure 8 mutation as a lost commit, with the direct rule checks off, within ${MUTATION_SEEDS} seeds`, async () => {
    for (let seed = 1; seed <= MUTATION_SEEDS; seed++) {
      const r = await runSeed(seed, { nodes: seed % 2 === 1 ? 5 : 3, steps: 300, mutations: { commitPrevTermByCount: true }, consequencesOnly: true });
      if (r.violations.length > 0) {
        assert.match(r.violations[0]!, /leader completeness|commit safety|committed entry|state machine safety/);
        return;
      }
    }
    assert.fail(`no lost commit in ${MUTATION_SEEDS} seeds`);
  });
});
