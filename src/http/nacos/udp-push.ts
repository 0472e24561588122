// Nacos UDP push (DESIGN §7): an /instance/list request with udpPort > 0 and a clientIP registers
// a push target for that service and cluster string; on each change this node pushes
// {type:"dom", data:"<the JSON /instance/list answers>", lastRefTime} (gzipped at ≥ 1 KiB),
// matches the client's push-ack by lastRefTime, retries once after ackTimeoutMs, coalesces a
// burst of changes to one target within coalesceMs, and drops targets that stopped polling for
// targetTtlMs. A malformed or unexpected datagram is ignored and logged at a bounded rate.

import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { gzipSync } from 'node:zlib';
import type { RegistryViews, ServiceView } from '../../registry/views.ts';
import type { WatchEvent } from '../../registry/watch/history.ts';
import type { Subscriber, WatchHub } from '../../registry/watch/hub.ts';
import { serviceInfo } from './service-info.ts';

export interface UdpPushOptions {
  /** Address the socket binds (the public port's host). */
  host: string;
  /** UDP port; 0 = any free port. */
  port: number;
  coalesceMs: number;
  ackTimeoutMs: number;
  targetTtlMs: number;
}

interface Target {
  key: string;
  ns: string;
  grouped: string;
  clusters: string;
  ip: string;
  port: number;
  /** ms (wall) of the last poll. */
  lastSeen: number;
  /** The coalescing wait of this target's next push (coalesceMs > 0). */
  timer: { cancel(): void } | undefined;
  /** Leader time of the oldest change not yet pushed (latency metric). */
  changeTime: number | undefined;
}

interface Pending {
  target: Target;
  packet: Buffer;
  retried: boolean;
  timer: NodeJS.Timeout;
  changeTime: number;
}

const GZIP_AT = 1024;
const LOG_EVERY_MS = 10_000;

export class UdpPush implements Subscriber {
  private socket: Socket | undefined;
  private readonly targets = new Map<string, Target>();
  private readonly byService = new Map<string, Set<Target>>();
  /** Pushes awaiting their ack, by `ip:port:lastRefTime` (a lastRefTime is shared by every
   * target of one service view and cluster string: one packet, built once, for all of them). */
  private readonly pending = new Map<string, Pending>();
  /** The packet of a view for a cluster string (views are immutable: a change makes a new one). */
  private readonly packets = new WeakMap<ServiceView, Map<string, { packet: Buffer; lastRefTime: number }>>();
  private seq = 0;
  private sweeper: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private lastLog = 0;
  private suppressed = 0;
  readonly stats = { pushes: 0, acks: 0, ackTimeouts: 0, retries: 0, ignored: 0, dropped: 0 };

  constructor(
    private readonly views: RegistryViews,
    private readonly hub: WatchHub,
    private readonly o: UdpPushOptions,
    private readonly log: { warn(o: object, m?: string): void; debug(o: object, m?: string): void },
  ) {}

  async start(): Promise<void> {
    const s = createSocket('udp4');
    s.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    s.on('error', (err) => this.log.warn({ err: err.message }, 'udp push socket error'));
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(this.o.port, this.o.host, () => {
        s.off('error', reject);
        resolve();
      });
    });
    this.socket = s;
    this.unsubscribe = this.hub.subscribe(this);
    this.sweeper = setInterval(() => this.expireTargets(), Math.max(100, this.o.targetTtlMs / 2));
    this.sweeper.unref();
  }

  /** The bound port (after start). */
  get port(): number {
    return this.socket?.address().port ?? 0;
  }

  get targetCount(): number {
    return this.targets.size;
  }

  stop(): void {
    this.unsubscribe?.();
    clearInterval(this.sweeper);
    for (const t of this.targets.values()) t.timer?.cancel();
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    this.socket?.close();
    this.socket = undefined;
  }

  /** A list request asked for pushes (udpPort > 0): registers or refreshes the target. */
  subscribe(ns: string, grouped: string, clusters: string, clientIP: string, udpPort: number): void {
    if (!this.socket || udpPort <= 0 || udpPort > 65535 || isIP(clientIP) === 0) return;
    const key = `${clientIP}:${udpPort}\u001f${ns}\u001f${grouped}\u001f${clusters}`;
    const t = this.targets.get(key);
    if (t) {
      t.lastSeen = Date.now();
      return;
    }
    const target: Target = { key, ns, grouped, clusters, ip: clientIP, port: udpPort, lastSeen: Date.now(), timer: undefined, changeTime: undefined };
    this.targets.set(key, target);
    const sk = `${ns}\u001f${grouped}`;
    let set = this.byService.get(sk);
    if (!set) this.byService.set(sk, (set = new Set()));
    set.add(target);
  }

  wants(e: WatchEvent): boolean {
    return this.byService.has(`${e.ns}\u001f${e.grouped}`);
  }

  /** Called once per applied batch with its events. With coalesceMs 0 each target is pushed once
   * now (every change of the batch in one push); otherwise once per window, carrying the state
   * at send time. */
  deliver(events: WatchEvent[]): void {
    const now: Target[] = [];
    for (const e of events) {
      for (const t of this.byService.get(`${e.ns}\u001f${e.grouped}`) ?? []) {
        const first = t.changeTime === undefined;
        t.changeTime = Math.min(t.changeTime ?? e.time, e.time);
        if (this.o.coalesceMs === 0) {
          if (first) now.push(t);
        } else if (!t.timer) t.timer = this.later(() => this.push(t));
      }
    }
    for (const t of now) this.push(t);
  }

  /** Runs `fn` after the coalescing window. */
  private later(fn: () => void): { cancel(): void } {
    const h = setTimeout(fn, this.o.coalesceMs);
    return { cancel: () => clearTimeout(h) };
  }

  private push(t: Target): void {
    t.timer = undefined;
    if (!this.socket || !this.targets.has(t.key)) return;
    const changeTime = t.changeTime ?? Date.now();
    t.changeTime = undefined;
    const { packet, lastRefTime } = this.packetFor(this.views.service(t.ns, t.grouped), t.clusters);
    this.send(t, packet);
    this.stats.pushes++;
    this.hub.latency.udp.add(Date.now() - changeTime);
    const key = `${t.ip}:${t.port}:${lastRefTime}`;
    const p: Pending = { target: t, packet, retried: false, changeTime, timer: setTimeout(() => this.ackTimeout(key), this.o.ackTimeoutMs) };
    const old = this.pending.get(key); // the same view pushed to the same target again: one wait
    if (old) clearTimeout(old.timer);
    this.pending.set(key, p);
  }

  /** The push of `view` for `clusters`, built once for every target (JSON, gzip from 1 KiB). */
  private packetFor(view: ServiceView, clusters: string): { packet: Buffer; lastRefTime: number } {
    let m = this.packets.get(view);
    if (!m) this.packets.set(view, (m = new Map()));
    let p = m.get(clusters);
    if (!p) {
      const data = JSON.stringify(serviceInfo(view, { clusters, healthyOnly: false }, Date.now()));
      // Unique per view and cluster string (ack matching with the target's address); below 2^53.
      const lastRefTime = Date.now() * 1000 + (this.seq++ % 1000);
      const json = Buffer.from(JSON.stringify({ type: 'dom', data, lastRefTime }));
      p = { packet: json.length >= GZIP_AT ? gzipSync(json) : json, lastRefTime };
      m.set(clusters, p);
    }
    return p;
  }

  private ackTimeout(key: string): void {
    const p = this.pending.get(key);
    if (!p) return;
    if (!p.retried && this.targets.has(p.target.key)) {
      p.retried = true;
      this.stats.retries++;
      this.send(p.target, p.packet);
      p.timer = setTimeout(() => this.ackTimeout(key), this.o.ackTimeoutMs);
      return;
    }
    this.pending.delete(key);
    this.stats.ackTimeouts++;
  }

  private send(t: Target, packet: Buffer): void {
    this.socket?.send(packet, t.port, t.ip, (err) => {
      if (err) this.log.debug({ err: err.message, target: `${t.ip}:${t.port}` }, 'udp push not sent');
    });
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    let ack: { type?: unknown; lastRefTime?: unknown } | undefined;
    try {
      const v: unknown = JSON.parse(msg.toString('utf8'));
      if (v && typeof v === 'object' && !Array.isArray(v)) ack = v as typeof ack;
    } catch {
      ack = undefined;
    }
    const key = ack && (ack.type === 'push-ack' || ack.type === 'unknown-ack') && typeof ack.lastRefTime === 'number' ? `${rinfo.address}:${rinfo.port}:${ack.lastRefTime}` : undefined;
    const p = key === undefined ? undefined : this.pending.get(key);
    if (!p) {
      this.ignored(rinfo, ack === undefined ? 'not JSON' : 'no push pending for it from this address');
      return;
    }
    clearTimeout(p.timer);
    this.pending.delete(key!);
    this.stats.acks++;
  }

  private ignored(rinfo: RemoteInfo, why: string): void {
    this.stats.ignored++;
    const now = Date.now();
    if (now - this.lastLog < LOG_EVERY_MS) {
      this.suppressed++;
      return;
    }
    this.log.warn({ from: `${rinfo.address}:${rinfo.port}`, why, suppressedSinceLast: this.suppressed }, 'udp datagram ignored');
    this.lastLog = now;
    this.suppressed = 0;
  }

  private expireTargets(): void {
    const cutoff = Date.now() - this.o.targetTtlMs;
    for (const t of this.targets.values()) {
      if (t.lastSeen >= cutoff) continue;
      t.timer?.cancel();
      this.targets.delete(t.key);
      const sk = `${t.ns}\u001f${t.grouped}`;
      const set = this.byService.get(sk);
      set?.delete(t);
      if (set && set.size === 0) this.byService.delete(sk);
      this.stats.dropped++;
    }
  }
}
