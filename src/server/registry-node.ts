// The registry on a node: the datum store's read views, health (beats, digests, the leader's
// sweeps and checks) and the Nacos routers, wired to the Raft node. Used by src/main.ts.

import type { Express } from 'express';
import type pino from 'pino';
import type { Config } from '../config.ts';
import { encodeCommand, stampCommand, type ApplyResult, type DatumStore } from '../registry/datum-store.ts';
import { HealthService } from '../registry/health/health-service.ts';
import { Registry } from '../registry/registry.ts';
import { nacosRouter } from '../http/nacos/router.ts';
import { UdpPush } from '../http/nacos/udp-push.ts';
import { nativeRouter } from '../http/native-api.ts';
import { WatchHub } from '../registry/watch/hub.ts';
import { beatDigestRoute, sendBeatDigest } from '../http/peer-beats.ts';
import type { ClusterNode } from './cluster-node.ts';
import { parseAddress } from './cluster-node.ts';
import type { ProductHooks } from './run-node.ts';

export function registryRoutes(app: Express, node: ClusterNode, store: DatumStore, config: Readonly<Config>, logger: pino.Logger): ProductHooks {
  const log = logger.child({ component: 'registry' });
  const registry = new Registry({
    store,
    propose: (data) => node.propose(data),
    readIndex: (serve) => node.raft.read(() => serve()),
  });
  store.onApplied = (keys, applied) => registry.views.applied(keys, applied);
  const wc = config.watch;
  const hub = new WatchHub(registry.views, { historySize: wc.historySize, startRevision: store.applied() }, () => store.appliedTime());
  store.onRestored = (applied) => hub.restored(applied);
  const push = new UdpPush(registry.views, hub, { host: config.host, port: wc.udpPort, coalesceMs: wc.pushCoalesceMs, ackTimeoutMs: wc.pushAckTimeoutMs, targetTtlMs: wc.pushTargetTtlMs }, log);
  const rc = config.registry;
  const health = new HealthService(
    {
      views: registry.views,
      role: () => {
        const s = node.raft.status();
        return { leader: s.role === 'leader', leaderId: s.lead };
      },
      // At this node only (never forwarded): a deposed leader's batch fails with NOT_LEADER.
      commit: async (changes) => {
        const c = await node.raft.propose(stampCommand(encodeCommand({ type: 'health', changes, requestId: Registry.requestId() }), Date.now()));
        const r = c.result as ApplyResult | undefined;
        if (r && !r.ok) throw new Error(`${r.code}: ${r.message}`);
      },
      sendDigest: (leaderId, keys) => {
        const url = node.peerUrl(leaderId);
        if (!url) return Promise.reject(new Error(`no address for leader ${leaderId}`));
        return sendBeatDigest(url, node.peerHeaders(), keys);
      },
      now: () => performance.now(),
      logger: log,
    },
    { sweepMs: rc.sweepMs, digestMs: rc.beatDigestMs, checkIntervalMs: rc.checkIntervalMs, checkTimeoutMs: rc.checkTimeoutMs, checkConcurrency: rc.checkConcurrency, checkFailures: rc.checkFailures },
  );
  node.addPeerRoutes(beatDigestRoute((keys) => health.digest(keys), log));
  app.use(
    nacosRouter(
      {
        registry,
        health,
        members: () => {
          const s = node.raft.status();
          return s.conf.voters.map((id) => {
            const a = parseAddress(s.conf.addresses[id] ?? '');
            const contact = node.lastContact(id);
            return { id, ip: a?.host ?? '', port: a?.httpPort ?? 0, leader: id === s.lead, alive: contact !== null && contact < 10 * config.raft.electionTicks * config.raft.tickMs };
          });
        },
        metrics: () => {
          const s = node.raft.status();
          return { leader: s.lead, role: s.role, term: s.term, applied: s.applied };
        },
        logger: log,
        push,
        watchers: () => hub.waiting,
      },
      rc.maxBodyBytes,
    ),
  );
  app.use(
    nativeRouter({
      registry,
      hub,
      sse: { keepAliveMs: wc.sseKeepAliveMs, maxBufferedBytes: wc.sseMaxBufferedBytes },
      metrics: () => ({ push: { targets: push.targetCount, port: push.port, ...push.stats }, health: { beatsTracked: health.beats.size, ...health.stats } }),
    }),
  );
  return {
    start: async () => {
      health.start();
      await push.start();
      log.info({ udpPort: push.port }, 'nacos udp push listening');
    },
    stop: () => {
      health.stop();
      push.stop();
    },
  };
}
