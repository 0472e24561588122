// One SSE watch stream (`GET /muster/v1/watch`): one event per applied change of what it watches,
// id = revision, event = instances | service | deleted, data = the service's state as JSON when
// the event is sent. A resume (Last-Event-ID or ?since=) gets exactly the events after it from
// the history, or — when it is older than the history — one `reset` event carrying the full
// current state, then live events. Events of one revision go out in one write. A consumer whose
// unsent bytes pass the limit is closed with a final `closed` event saying why.

import type { Response } from 'express';
import type { WatchEvent } from '../registry/watch/history.ts';
import type { Subscriber, WatchHub } from '../registry/watch/hub.ts';
import type { RegistryViews } from '../registry/views.ts';
import { nativeServiceState } from './native-json.ts';

export interface WatchScope {
  ns: string;
  /** Only this group (or every group). */
  group?: string;
  /** Only this group@@service. */
  grouped?: string;
}

export interface SseOptions {
  /** ms between keep-alive comments. */
  keepAliveMs: number;
  /** Unsent bytes beyond which the consumer is cut off. */
  maxBufferedBytes: number;
}

export function inScope(scope: WatchScope, e: { ns: string; grouped: string }): boolean {
  if (e.ns !== scope.ns) return false;
  if (scope.grouped !== undefined) return e.grouped === scope.grouped;
  if (scope.group !== undefined) return e.grouped.startsWith(`${scope.group}@@`);
  return true;
}

export class SseStream implements Subscriber {
  private closed = false;
  private unsubscribe: (() => void) | undefined;
  private keepAlive: NodeJS.Timeout | undefined;
  /** Events written to this stream. */
  sent = 0;

  constructor(
    private readonly res: Response,
    private readonly scope: WatchScope,
    private readonly hub: WatchHub,
    private readonly views: RegistryViews,
    private readonly o: SseOptions,
    private readonly onEnd: (s: SseStream) => void,
  ) {}

  /** Sends the backlog (or a reset) after `since`, then follows live events. Synchronous up to
   * the subscription, so no event can fall between the backlog and the live stream. */
  start(since: number | undefined): void {
    const { res } = this;
    res.status(200);
    res.setHeader('content-type', 'text/event-stream; charset=utf-8');
    res.setHeader('cache-control', 'no-cache, no-transform');
    res.setHeader('connection', 'keep-alive');
    res.setHeader('x-accel-buffering', 'no');
    const current = this.currentRevision();
    res.setHeader('x-muster-index', String(current));
    res.flushHeaders();
    if (since === undefined) {
      this.write(`: watching ${this.describe()} from revision ${current}\n\n`);
    } else {
      const backlog = this.hub.history.since(since, (e) => inScope(this.scope, e));
      if (backlog === undefined) this.sendReset(current, since);
      else this.deliver(backlog, false);
    }
    this.unsubscribe = this.hub.subscribe(this);
    this.keepAlive = setInterval(() => this.write(': keep-alive\n\n'), this.o.keepAliveMs);
    this.keepAlive.unref();
    res.on('close', () => this.close());
  }

  wants(e: WatchEvent): boolean {
    return !this.closed && inScope(this.scope, e);
  }

  /** Writes events; `live` ones (just applied) count toward commit-to-notification latency. */
  deliver(events: WatchEvent[], live = true): void {
    let chunk = '';
    let rev = -1;
    const now = Date.now();
    for (const e of events) {
      if (rev !== -1 && e.revision !== rev) {
        this.write(chunk);
        chunk = '';
      }
      rev = e.revision;
      chunk += this.format(e);
      this.sent++;
      if (live) this.hub.latency.sse.add(now - e.time);
    }
    if (chunk) this.write(chunk);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    clearInterval(this.keepAlive);
    this.onEnd(this);
  }

  private format(e: WatchEvent): string {
    const v = this.views.service(e.ns, e.grouped);
    let data: Record<string, unknown>;
    if (e.kind === 'deleted') data = { namespace: e.ns, group: v.group, name: v.name, revision: e.revision };
    else if (e.kind === 'service') data = { namespace: e.ns, group: v.group, name: v.name, revision: e.revision, service: nativeServiceState(v, e.revision).service };
    else data = nativeServiceState(v, e.revision);
    return `id: ${e.revision}\nevent: ${e.kind}\ndata: ${JSON.stringify(data)}\n\n`;
  }

  private sendReset(current: number, since: number): void {
    const names = this.scope.grouped !== undefined ? [this.scope.grouped] : this.views.serviceNames(this.scope.ns).filter((g) => inScope(this.scope, { ns: this.scope.ns, grouped: g }));
    const services = names.map((g) => this.views.service(this.scope.ns, g)).filter((v) => v.service !== undefined).map((v) => nativeServiceState(v, v.revision));
    const data = { namespace: this.scope.ns, revision: current, reason: `resume point ${since} is older than this node's history (complete from ${this.hub.history.floor})`, services };
    this.write(`id: ${current}\nevent: reset\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private currentRevision(): number {
    return this.scope.grouped !== undefined ? this.hub.serviceRevision(this.scope.ns, this.scope.grouped) : this.hub.namespaceRevision(this.scope.ns);
  }

  private describe(): string {
    return this.scope.grouped ?? (this.scope.group !== undefined ? `${this.scope.ns}/${this.scope.group}` : this.scope.ns);
  }

  private write(s: string): void {
    if (this.closed) return;
    this.res.write(s);
    if (this.res.writableLength > this.o.maxBufferedBytes) {
      // Too far behind: say why, stop following, and drop the connection if it never drains.
      this.res.write(`event: closed\ndata: ${JSON.stringify({ reason: `consumer too slow: more than ${this.o.maxBufferedBytes} bytes unsent; resume with Last-Event-ID` })}\n\n`);
      this.close();
      this.res.end();
      setTimeout(() => this.res.destroy(), 5000).unref();
    }
  }
}
