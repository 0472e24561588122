// Health of instances (DESIGN §6), on every node:
// - beats are recorded in memory where they arrive (BeatTable); never in the log;
// - a follower sends the leader a digest of the keys beaten since its last digest, every
//   digestMs, over the peer port;
// - the leader alone sweeps ephemeral instances every sweepMs on its monotonic clock and commits
//   the flips and removals in one batch entry (at most one batch in flight);
// - the leader checks persistent instances (TCP connect, or HTTP GET, or none, by the cluster's
//   health checker) every checkIntervalMs with at most checkConcurrency checks in flight, and
//   commits a flip once checkFailures consecutive results disagree with the stored status.
// A node that is not the leader decides nothing; a deposed leader's batch fails at propose
// (NOT_LEADER), and each change names the instance's rev, so a stale decision changes nothing.

import type { HealthChange } from '../commands.ts';
import { clusterOf, HealthCheckType } from '../model.ts';
import type { RegistryViews, ServiceView } from '../views.ts';
import { beatKey, BeatTable } from './beat-table.ts';
import { sweep } from './sweeper.ts';
import { httpCheck, tcpCheck } from './tcp-http-check.ts';

export interface HealthOptions {
  /** ms between the leader's sweeps of ephemeral instances. */
  sweepMs: number;
  /** ms between a follower's beat digests to the leader. */
  digestMs: number;
  /** ms between rounds of persistent-instance checks. */
  checkIntervalMs: number;
  /** ms before one check counts as failed. */
  checkTimeoutMs: number;
  /** checks in flight at most. */
  checkConcurrency: number;
  /** consecutive disagreeing results before a flip is committed. */
  checkFailures: number;
}

export interface HealthDeps {
  views: RegistryViews;
  /** Whether this node leads, and who does. */
  role(): { leader: boolean; leaderId: string | null };
  /** Commits a batch of changes AT THIS NODE (never forwarded); rejects when not the leader. */
  commit(changes: HealthChange[]): Promise<void>;
  /** Sends a digest of beaten keys to the leader's peer port. */
  sendDigest(leaderId: string, keys: string[]): Promise<void>;
  /** Monotonic ms. */
  now(): number;
  logger: { debug(o: object, m?: string): void; warn(o: object, m?: string): void; info(o: object, m?: string): void };
  /** Replaces the real checks (tests). */
  check?(host: string, port: number, type: HealthCheckType, view: ServiceView, cluster: string): Promise<boolean>;
}

/** Sweeps between prunings of the beat table. */
const PRUNE_EVERY = 30;

/** Changes per log entry at most (a larger sweep is committed over several sweeps). */
const MAX_BATCH = 5000;

export class HealthService {
  readonly beats = new BeatTable();
  private timers: NodeJS.Timeout[] = [];
  private leaderSince: number | null = null;
  /** Views swept before (see sweep()); forgotten when leadership starts again. */
  private seen = new WeakSet<ServiceView>();
  private committing = false;
  private checking = false;
  /** Consecutive results that disagree with the stored status, per instance key. */
  private readonly disagreements = new Map<string, number>();
  /** Counters for metrics. */
  readonly stats = { sweeps: 0, batches: 0, changes: 0, checks: 0, digestsSent: 0, digestsReceived: 0 };

  constructor(
    private readonly deps: HealthDeps,
    private readonly o: HealthOptions,
  ) {}

  start(): void {
    const every = (ms: number, f: () => void) => {
      const t = setInterval(f, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.o.sweepMs, () => this.tick());
    every(this.o.digestMs, () => this.maybeSendDigest());
    every(this.o.checkIntervalMs, () => void this.maybeCheck());
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  /** A beat for an existing instance arrived at this node. */
  beat(ns: string, grouped: string, id: string): void {
    this.beats.record(beatKey(ns, grouped, id), this.deps.now());
  }

  /** A beat came for an unhealthy instance: sweep soon (the leader flips it back). */
  nudge(): void {
    setImmediate(() => this.tick());
  }

  /** A follower's digest arrived (this node should be the leader). */
  digest(keys: readonly string[]): void {
    this.stats.digestsReceived++;
    this.beats.recordDigest(keys, this.deps.now());
  }

  /** One sweep round: called every sweepMs (and directly by tests). */
  tick(): void {
    const { leader } = this.deps.role();
    if (!leader) {
      this.leaderSince = null;
      return;
    }
    const now = this.deps.now();
    if (this.leaderSince === null) {
      this.leaderSince = now;
      this.seen = new WeakSet();
      this.deps.logger.info({}, 'leading: every ephemeral instance gets a full grace period before expiry');
    }
    if (this.committing) return;
    this.stats.sweeps++;
    // The beat table is pruned of instances that are gone every PRUNE_EVERY sweeps.
    const prune = this.stats.sweeps % PRUNE_EVERY === 0;
    const { changes, live } = sweep(this.deps.views.all(), this.beats, now, this.leaderSince, this.seen, prune);
    if (live) this.beats.retain(live);
    if (changes.length > 0) void this.commit(changes.slice(0, MAX_BATCH));
  }

  private async commit(changes: HealthChange[]): Promise<void> {
    this.committing = true;
    try {
      await this.deps.commit(changes);
      this.stats.batches++;
      this.stats.changes += changes.length;
      this.deps.logger.debug({ changes: changes.length }, 'health batch committed');
    } catch (e) {
      this.deps.logger.warn({ err: (e as Error).message, changes: changes.length }, 'health batch not committed; the next round decides again');
    } finally {
      this.committing = false;
    }
  }

  private maybeSendDigest(): void {
    const { leader, leaderId } = this.deps.role();
    const keys = this.beats.drainDigest();
    if (leader || leaderId === null || keys.length === 0) return;
    this.stats.digestsSent++;
    this.deps.sendDigest(leaderId, keys).catch((e: Error) => {
      this.deps.logger.debug({ err: e.message, keys: keys.length }, 'beat digest not delivered');
      // Put them back: the next digest carries them.
      for (const k of keys) this.beats.record(k, this.beats.get(k) ?? this.deps.now());
    });
  }

  /** One round of persistent-instance checks (leader only). */
  async maybeCheck(): Promise<void> {
    if (this.checking || !this.deps.role().leader) return;
    this.checking = true;
    try {
      const targets: { key: string; change: HealthChange; host: string; port: number; type: HealthCheckType; view: ServiceView; cluster: string; healthy: boolean }[] = [];
      for (const v of this.deps.views.all()) {
        for (const i of v.instances) {
          if (i.ephemeral) continue;
          const c = clusterOf(v.service, i.clusterName);
          if (c.healthChecker.type === HealthCheckType.NONE) continue;
          const port = c.useInstancePort4Check ? i.port : c.checkPort;
          targets.push({ key: beatKey(v.ns, v.grouped, i.instanceId), change: { ns: v.ns, service: v.grouped, id: i.instanceId, rev: i.rev }, host: i.ip, port, type: c.healthChecker.type, view: v, cluster: i.clusterName, healthy: i.healthy });
        }
      }
      const live = new Set(targets.map((t) => t.key));
      for (const k of this.disagreements.keys()) if (!live.has(k)) this.disagreements.delete(k);
      const changes: HealthChange[] = [];
      let next = 0;
      const worker = async () => {
        while (next < targets.length) {
          const t = targets[next++]!;
          const ok = await this.checkOne(t.host, t.port, t.type, t.view, t.cluster);
          this.stats.checks++;
          if (ok === t.healthy) {
            this.disagreements.delete(t.key);
            continue;
          }
          const n = (this.disagreements.get(t.key) ?? 0) + 1;
          this.disagreements.set(t.key, n);
          if (n >= this.o.checkFailures) changes.push({ ...t.change, healthy: ok });
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.o.checkConcurrency, targets.length) }, worker));
      if (changes.length > 0 && this.deps.role().leader) {
        await this.deps.commit(changes);
        for (const c of changes) this.disagreements.delete(beatKey(c.ns, c.service, c.id));
        this.stats.batches++;
        this.stats.changes += changes.length;
      }
    } catch (e) {
      this.deps.logger.warn({ err: (e as Error).message }, 'persistent health checks not committed; the next round decides again');
    } finally {
      this.checking = false;
    }
  }

  private checkOne(host: string, port: number, type: HealthCheckType, view: ServiceView, cluster: string): Promise<boolean> {
    if (this.deps.check) return this.deps.check(host, port, type, view, cluster);
    if (type === HealthCheckType.HTTP) {
      const hc = clusterOf(view.service, cluster).healthChecker;
      return httpCheck(host, port, hc, this.o.checkTimeoutMs);
    }
    return tcpCheck(host, port, this.o.checkTimeoutMs);
  }
}
