// ecosystem.config.js as PM2 reads it (require() of this ES module): three nodes on one machine.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { parsePeers } from '../../src/config.ts';

describe('PM2 ecosystem', () => {
  it('describes three nodes at 8848/7848, 8858/7858, 8868/7868 with one peer list and data under ./data/pm2', () => {
    const require = createRequire(import.meta.url);
    const { apps } = require('../../ecosystem.config.js') as { apps: { name: string; script: string; node_args: string; env: Record<string, string> }[] };
    assert.equal(apps.length, 3);
    const ports = apps.map((a) => `${a.env.MUSTER_HTTP_PORT}/${a.env.MUSTER_PEER_PORT}`);
    assert.deepEqual(ports, ['8848/7848', '8858/7858', '8868/7868']);
    for (const a of apps) {
      assert.equal(a.script, 'src/main.ts');
      assert.match(a.node_args, /--import tsx/);
      assert.equal(a.env.MUSTER_DATA_DIR, './data/pm2', 'not the data dir of the single-node default (npm start)');
      const peers = parsePeers(a.env.MUSTER_PEERS!);
      assert.deepEqual(peers.map((p) => p.id), ['n1', 'n2', 'n3']);
      assert.ok(peers.some((p) => p.id === a.env.MUSTER_NODE_ID && String(p.httpPort) === a.env.MUSTER_HTTP_PORT));
    }
  });
});
