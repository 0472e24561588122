// Test entry point (not the product): a Muster node process whose state machine is the test
// key-value machine, with test-only /kv routes on the public port. Configured and run exactly
// like the product (src/server/run-node.ts).

import express from 'express';
import type { ConsensusError } from '../../src/consensus/errors.ts';
import { statusOf } from '../../src/http/cluster-api.ts';
import { runNode } from '../../src/server/run-node.ts';
import { encodeCommand } from '../support/kv-state-machine.ts';
import { LmdbKv } from '../support/lmdb-kv.ts';

await runNode({
  defaultsPath: new URL('../../conf/default.json', import.meta.url).pathname,
  argv: process.argv,
  env: process.env,
  stateMachine: (root) => new LmdbKv(root),
  routes: (app, node, kv, config) => {
    let seq = 0;
    app.put('/kv/:key', express.text({ type: () => true }), (req, res) => {
      const id = String(req.query.id ?? `${config.nodeId}-${process.pid}-${++seq}`);
      node.propose(encodeCommand({ id, key: String(req.params.key), value: String(req.body ?? '') })).then(
        (c) => res.json({ index: c.index, term: c.term }),
        (e: ConsensusError) => res.status(statusOf(e.code)).json({ code: e.code, message: e.message }),
      );
    });
    app.get('/kv/:key', (req, res) => {
      const key = String(req.params.key);
      if (req.query.consistency === 'linearizable') {
        node.raft.read((p) => ({ value: kv.get(key) ?? null, index: p.applied })).then(
          (r) => res.json(r),
          (e: ConsensusError) => res.status(statusOf(e.code)).json({ code: e.code, message: e.message }),
        );
      } else res.json({ value: kv.get(key) ?? null, index: node.raft.status().applied });
    });
  },
});
