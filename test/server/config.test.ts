import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, parsePeers } from '../../src/config.ts';

const defaultsPath = new URL('../../conf/default.json', import.meta.url).pathname;
const load = (env: Record<string, string> = {}, argv: string[] = []) => loadConfig({ defaultsPath, argv, env });

function fails(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof ConfigError && re.test(e.message));
}

describe('config', () => {
  it('defaults give a single node on ./data at 8848/7848, frozen', () => {
    const c = load();
    assert.equal(c.httpPort, 8848);
    assert.equal(c.peerPort, 7848);
    assert.equal(c.dataDir, './data');
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.raft));
  });

  it('environment variables override the file; MUSTER_PEERS parses id=host:httpPort:peerPort', () => {
    const c = load({ MUSTER_NODE_ID: 'n2', MUSTER_HTTP_PORT: '8858', MUSTER_PEER_PORT: '7858', MUSTER_PEERS: 'n1=127.0.0.1:8848:7848,n2=127.0.0.1:8858:7858' });
    assert.equal(c.nodeId, 'n2');
    assert.deepEqual(c.peers[1], { id: 'n2', host: '127.0.0.1', httpPort: 8858, peerPort: 7858 });
    assert.deepEqual(parsePeers(''), []);
  });

  it('a --config file overrides the defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'muster-conf-'));
    const f = join(dir, 'c.json');
    writeFileSync(f, JSON.stringify({ raft: { tickMs: 50 } }));
    const c = load({}, ['--config', f]);
    assert.equal(c.raft.tickMs, 50);
    assert.equal(c.raft.electionTicks, 10, 'nested defaults kept');
  });

  it('a bad value names its field', () => {
    fails(() => load({ MUSTER_HTTP_PORT: 'eighty' }), /MUSTER_HTTP_PORT must be an integer/);
    fails(() => load({ MUSTER_HTTP_PORT: '70000' }), /httpPort must be <= 65535/);
    fails(() => load({ MUSTER_LOG_LEVEL: 'loud' }), /logLevel must be equal to one of the allowed values/);
    fails(() => load({ MUSTER_PEERS: 'n1=localhost:1' }), /MUSTER_PEERS item 1/);
    fails(() => load({ MUSTER_CLUSTER_TOKEN: 'short' }), /clusterToken must NOT have fewer than 8 characters/);
    fails(() => load({ MUSTER_PEERS: 'n2=127.0.0.1:8858:7858' }), /peers must include this node/);
    fails(() => load({ MUSTER_PEER_PORT: '8848' }), /must differ/);
  });
});
