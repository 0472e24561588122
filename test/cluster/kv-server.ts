// Test entry point (not the product): a Muster node process whose state machine is the test
// key-value machine, with test-only /kv routes on the public port. Configured exactly like the
// product (conf/default.json, --config, MUSTER_* variables).

import { createServer } from 'node:http';
import express from 'express';
import pino from 'pino';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { ConsensusError } from '../../src/consensus/errors.ts';
import { clusterRouter, statusOf } from '../../src/http/cluster-api.ts';
import { ClusterNode, nodeAddress } from '../../src/server/cluster-node.ts';
import { encodeCommand } from '../support/kv-state-machine.ts';
import { LmdbKv } from '../support/lmdb-kv.ts';

let config;
try {
  config = loadConfig({ defaultsPath: new URL('../../conf/default.json', import.meta.url).pathname, argv: process.argv, env: process.env });
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(`muster: ${e.message}`);
    process.exit(2);
  }
  throw e;
}
const logger = pino({ level: config.logLevel, base: { node: config.nodeId } });
let kv!: LmdbKv;
const node = new ClusterNode({ config, logger, stateMachine: (root) => (kv = new LmdbKv(root)) });

const app = express();
app.use(clusterRouter(node));
app.put('/kv/:key', express.text({ type: () => true }), (req, res) => {
  const id = String(req.query.id ?? `${config.nodeId}-${process.pid}-${Date.now()}-${Math.random()}`);
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

await node.start();
const server = createServer(app).listen(config.httpPort, '0.0.0.0');
await new Promise((r) => server.once('listening', r));
logger.info({ httpPort: config.httpPort }, 'test kv node serving');

if (config.join) {
  // Join an existing cluster through any member: it adds us as a learner, catches us up, promotes us.
  const address = nodeAddress(config.host, config.httpPort, config.peerPort);
  for (;;) {
    try {
      const r = await fetch(`http://${config.join}/muster/v1/cluster/nodes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: config.nodeId, address }),
      });
      if (r.ok) break;
      logger.info({ status: r.status, body: await r.text() }, 'join not accepted yet');
    } catch (e) {
      logger.info({ err: (e as Error).message }, 'join target unreachable');
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  logger.info('joined the cluster');
}

process.on('SIGTERM', () => {
  server.close();
  node.stop().then(
    () => process.exit(0),
    (e) => {
      logger.error({ err: e }, 'shutdown failed');
      process.exit(1);
    },
  );
});
