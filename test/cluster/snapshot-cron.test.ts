// Scheduled snapshots: with the entry threshold out of reach, the node-cron schedule alone
// snapshots the state machine and compacts the log.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ProcCluster } from '../support/processes.ts';

const ENTRY = new URL('./kv-server.ts', import.meta.url).pathname;

describe('scheduled snapshots', { timeout: 60_000 }, () => {
  const c = new ProcCluster(ENTRY);
  after(() => c.shutdown());

  it('the cron schedule takes a snapshot and compacts the log', async () => {
    await c.define(['n1']);
    const conf = join(c.dir, 'cron.json');
    writeFileSync(conf, JSON.stringify({ raft: { snapshotEntries: 1_000_000, keepEntries: 0, snapshotCron: '* * * * * *' } }));
    c.start('n1', {}, ['--config', conf]); // no peers, no join: a single-node cluster
    await c.leader(['n1']);
    for (let k = 0; k < 20; k++) assert.equal((await fetch(c.url('n1', `/kv/k${k}?id=c${k}`), { method: 'PUT', body: String(k) })).status, 200);
    const first = await c.until('compaction by the schedule', async () => {
      const s = (await (await fetch(c.url('n1', '/muster/v1/cluster'))).json()) as { firstIndex: number };
      return s.firstIndex > 20 ? s.firstIndex : undefined;
    }, 10_000);
    assert.ok(first > 20);
    // The state survives a restart from the snapshot.
    await c.kill('n1', 'SIGKILL');
    c.start('n1', {}, ['--config', conf]);
    await c.leader(['n1']);
    const g = (await (await fetch(c.url('n1', '/kv/k19'))).json()) as { value: string };
    assert.equal(g.value, '19');
  });
});
