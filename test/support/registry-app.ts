// The registry's public app built without listening, for supertest: a DatumStore on a temp LMDB
// environment, with "consensus" replaced by applying each proposal at once as the next entry
// (leader time from an injectable clock), and a HealthService whose timers never start (tests
// call tick()). Nothing here is product code; the routers and the store are.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express, { type Express } from 'express';
import { open, type RootDatabase } from 'lmdb';
import type { Committed } from '../../src/consensus/driver.ts';
import { DatumStore, encodeCommand, stampCommand } from '../../src/registry/datum-store.ts';
import type { HealthChange } from '../../src/registry/commands.ts';
import { registryHandlers } from '../../src/registry/handlers.ts';
import { HealthService } from '../../src/registry/health/health-service.ts';
import { Registry } from '../../src/registry/registry.ts';
import { nacosRouter } from '../../src/http/nacos/router.ts';
import { nativeRouter } from '../../src/http/native-api.ts';
import { WatchHub } from '../../src/registry/watch/hub.ts';

export interface TestRegistry {
  app: Express;
  store: DatumStore;
  registry: Registry;
  health: HealthService;
  /** Leader wall time stamped into the next entries, ms. */
  clock: { wall: number; mono: number };
  /** Every entry proposed so far (decoded lazily by tests). */
  entries: Uint8Array[];
  leader: { is: boolean };
  /** The watch hub (history, blocking queries, SSE subscribers). */
  hub: WatchHub;
  close(): Promise<void>;
}

export interface TestRegistryOptions {
  maxBodyBytes?: number;
  /** Watch history size (default 1000). */
  historySize?: number;
  /** SSE: unsent bytes before a consumer is cut off (default 4 MiB), keep-alive ms (default 15 s). */
  sseMaxBufferedBytes?: number;
  sseKeepAliveMs?: number;
}

export function testRegistry(opts: TestRegistryOptions = {}): TestRegistry {
  const dir = mkdtempSync(join(tmpdir(), 'muster-reg-'));
  const root: RootDatabase = open({ path: dir, maxDbs: 16 });
  const store = new DatumStore(root, registryHandlers);
  const clock = { wall: 1_700_000_000_000, mono: 1_000_000 };
  const entries: Uint8Array[] = [];
  let index = store.applied();
  // Applies one proposal at a time, in order (a chain, as the log would).
  let chain: Promise<unknown> = Promise.resolve();
  const propose = (data: Uint8Array): Promise<Committed> => {
    const p = chain.then(async () => {
      const stamped = stampCommand(data, clock.wall);
      entries.push(stamped);
      const e = { index: ++index, term: 1, type: 'normal' as const, data: stamped };
      const [result] = await store.apply([e]);
      return { index: e.index, term: 1, result };
    });
    chain = p.catch(() => {});
    return p;
  };
  const registry = new Registry({ store, propose, readIndex: (serve) => Promise.resolve(serve()) });
  store.onApplied = (keys, applied) => registry.views.applied(keys, applied);
  const hub = new WatchHub(registry.views, { historySize: opts.historySize ?? 1000, startRevision: store.applied() }, () => store.appliedTime(), () => clock.wall);
  store.onRestored = (applied) => hub.restored(applied);
  const leader = { is: true };
  const health = new HealthService(
    {
      views: registry.views,
      role: () => ({ leader: leader.is, leaderId: leader.is ? 'n1' : 'n2' }),
      commit: async (changes: HealthChange[]) => {
        await propose(encodeCommand({ type: 'health', changes, requestId: Registry.requestId() }));
      },
      sendDigest: () => Promise.resolve(),
      now: () => clock.mono,
      logger: { debug() {}, warn() {}, info() {} },
    },
    { sweepMs: 1000, digestMs: 1000, checkIntervalMs: 5000, checkTimeoutMs: 500, checkConcurrency: 8, checkFailures: 1 },
  );
  const app = express();
  app.use(
    nacosRouter(
      {
        registry,
        health,
        members: () => [{ id: 'n1', ip: '127.0.0.1', port: 8848, leader: true, alive: true }],
        metrics: () => ({ leader: 'n1', role: 'leader', term: 1, applied: store.applied() }),
        logger: { warn() {}, error() {} },
      },
      opts.maxBodyBytes ?? 1024 * 1024,
    ),
  );
  app.use(nativeRouter({ registry, hub, sse: { keepAliveMs: opts.sseKeepAliveMs ?? 15_000, maxBufferedBytes: opts.sseMaxBufferedBytes ?? 4 * 1024 * 1024 }, metrics: () => ({}), random: () => 0 }));
  app.use((_req, res) => res.status(404).json({ code: 'NOT_FOUND', message: 'no such endpoint' }));
  return {
    app,
    store,
    registry,
    health,
    clock,
    entries,
    leader,
    hub,
    async close() {
      health.stop();
      await chain.catch(() => {});
      await root.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
